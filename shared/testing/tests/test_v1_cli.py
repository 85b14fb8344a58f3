"""The imbi-plugins command: list, demo and call."""

import json
import sys
import types
import typing

import imbi_common.plugins as plugins
import pytest
import tiny
from imbi_plugin_testing import cli
from imbi_plugin_testing.registry import entry_points_listing
from imbi_plugin_testing.scenarios import Steps, scenario_for

if typing.TYPE_CHECKING:
    from collections.abc import Sized as NoSuchName

    from imbi_common.plugins import ConfigValue, PluginContext

SCENARIO = 'imbi_plugin_testing.scenarios.tiny_config'


@pytest.fixture
def scenario() -> typing.Iterator[types.ModuleType]:
    module = types.ModuleType(SCENARIO)

    async def run(steps: Steps) -> None:
        async with steps.step('first'):
            steps.check(True, 'fine')
        async with steps.step('second'):
            steps.check(module.outcome == 'ok', 'second step failed')

    module.run = run  # type: ignore[attr-defined]
    module.outcome = 'ok'  # type: ignore[attr-defined]
    sys.modules[SCENARIO] = module
    yield module
    sys.modules.pop(SCENARIO, None)


def test_list_with_nothing_installed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with entry_points_listing():
        assert cli.main(['list']) == 0
    assert 'No Imbi plugins are installed.' in capsys.readouterr().out


def test_list_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    class Broken:
        pass

    with entry_points_listing(
        tiny.TinyConfig, Broken, distribution='imbi-plugin-tiny'
    ):
        assert cli.main(['list']) == 1
        table = capsys.readouterr().out
        assert cli.main(['list', '--json']) == 1
        report = json.loads(capsys.readouterr().out)
    assert 'tiny-config' in table
    assert 'error' in table
    assert report['plugins'][0] == {
        'slug': 'tiny-config',
        'name': 'Tiny',
        'plugin_type': 'configuration',
        'distribution': 'imbi-plugin-tiny',
        'version': '0.0.0',
    }
    assert list(report['errors']) == ['broken']


def test_list_shows_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    class Future(tiny.TinyLogs):
        manifest = tiny.TinyLogs.manifest.model_copy(update={'api_version': 2})

    with entry_points_listing(Future):
        assert cli.main(['-v', 'list']) == 0
    assert 'skipped' in capsys.readouterr().out


def test_demo_with_no_plugins(capsys: pytest.CaptureFixture[str]) -> None:
    with entry_points_listing(tiny.TinyConfig, distribution='other-dist'):
        assert cli.main(['demo']) == 0
        assert cli.main(['demo', '--json']) == 0
    out = capsys.readouterr()
    assert 'nothing to demo' in out.out + out.err


def test_demo_runs_scenarios(
    scenario: types.ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    with entry_points_listing(
        tiny.TinyConfig, tiny.TinyLogs, distribution='imbi-plugin-tiny'
    ):
        assert cli.main(['demo', '--plugin', 'tiny-config']) == 0
        assert 'first' in capsys.readouterr().out
        assert cli.main(['demo', '--json', '--plugin', 'tiny-config']) == 0
        report = json.loads(capsys.readouterr().out)
        assert report['ok'] is True
        assert [s['name'] for s in report['plugins'][0]['steps']] == [
            'first',
            'second',
        ]
        # tiny-logs has no scenario: that is a failure.
        assert cli.main(['demo']) == 1
        assert 'no demo scenario' in capsys.readouterr().out
        scenario.outcome = 'bad'  # type: ignore[attr-defined]
        assert cli.main(['demo', '--plugin', 'tiny-config']) == 1
        assert 'second step failed' in capsys.readouterr().out
        assert cli.main(['demo', '--plugin', 'missing']) == 2


def test_demo_reports_scenario_crashes_and_load_errors(
    scenario: types.ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    async def crash(steps: Steps) -> None:
        raise RuntimeError('fake did not start')

    scenario.run = crash  # type: ignore[attr-defined]

    class Broken:
        pass

    with entry_points_listing(
        tiny.TinyConfig, Broken, distribution='imbi-plugin-tiny'
    ):
        assert cli.main(['demo']) == 1
    out = capsys.readouterr().out
    assert 'fake did not start' in out
    assert 'failed to load' in out


def test_scenario_lookup() -> None:
    assert scenario_for('no-such-plugin') is None


def test_call_takes_credentials_from_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv('IMBI_PLUGIN_CREDENTIAL_TOKEN', 'env-token-1')
    tiny.TinyConfig.store = {'a': '1', 'b': '2'}
    with entry_points_listing(tiny.TinyConfig):
        code = cli.main(
            [
                'call',
                'tiny-config',
                'get_values',
                '--arg',
                'keys=["a"]',
                '--option',
                'url=http://127.0.0.1:9',
                '--context',
                'project_slug=other',
            ]
        )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed['status'] == 200
    assert [v['key'] for v in printed['body']] == ['a']


def test_call_coerces_models_and_reports_failures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with entry_points_listing(tiny.TinyLogs):
        query = json.dumps(
            {
                'start_time': '2026-01-01T00:00:00Z',
                'end_time': '2026-01-01T01:00:00Z',
                'cursor': 'expired',
            }
        )
        assert (
            cli.main(
                ['call', 'tiny-logs', 'search', '--arg', f'query={query}']
            )
            == 1
        )
    assert '"status": 409' in capsys.readouterr().out


@pytest.mark.parametrize(
    ('argv', 'message'),
    [
        (
            ['call', 'tiny-config', '_private'],
            "no method '_private' (its methods: delete_key, get_values, "
            'list_keys, set_value)',
        ),
        (
            ['call', 'tiny-config', 'list_keys', '--arg', 'nope=1'],
            "no argument 'nope' (its arguments: none)",
        ),
        (
            ['call', 'tiny-config', 'list_keys', '--option', 'novalue'],
            'NAME=VALUE',
        ),
        (
            ['call', 'tiny-config', 'list_keys', '--option', 'other=1'],
            "no option 'other' (its options: timeout_seconds, url)",
        ),
        (['call', 'nope', 'list_keys'], "no plugin 'nope' is installed"),
        (['show', 'nope'], '(installed: tiny-config)'),
        (
            ['call', 'tiny-config', 'list_keys', '--arg', 'credentials={}'],
            'not arguments',
        ),
        (['call', 'tiny-config', 'set_value'], 'needs --arg key=... --arg'),
        (
            ['call', 'tiny-config', 'get_values', '--arg', 'keys=5'],
            'keys=5: Input should be a valid list; expected list[str] | None',
        ),
        (
            ['call', 'tiny-config', 'get_values', '--arg', 'keys=[1]'],
            'keys=[1]: 0: Input should be a valid string',
        ),
        (
            ['call', 'tiny-config', 'list_keys', '--context', 'identity=1'],
            'identity tokens are not given',
        ),
        (
            ['call', 'tiny-config', 'list_keys', '--context', 'x=1'],
            'x: no such context field (known: project_id',
        ),
    ],
)
def test_call_rejects_bad_input(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with entry_points_listing(tiny.TinyConfig):
        assert cli.main(argv) == 2
    out = capsys.readouterr()
    assert out.out == ''
    assert out.err.startswith('imbi-plugins: error: ')
    assert message in out.err
    assert len(out.err.strip().splitlines()) == 1


def test_call_takes_a_number_as_a_string_argument(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tiny.TinyConfig.store = {}
    with entry_points_listing(tiny.TinyConfig):
        value = 'value={"value": "x", "data_type": "string"}'
        argv = ['call', 'tiny-config', 'set_value', '--arg', 'key=2']
        code = cli.main([*argv, '--arg', value, '--timing'])
    assert code == 0
    out = capsys.readouterr()
    assert json.loads(out.out)['body']['key'] == '2'
    assert tiny.TinyConfig.store == {'2': 'x'}
    assert 'tiny-config set_value: HTTP 200 in ' in out.err


def test_call_show_context_parses_json_and_does_not_call(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with entry_points_listing(tiny.TinyConfig):
        code = cli.main(
            [
                'call',
                'tiny-config',
                'list_keys',
                '--option',
                'url=http://127.0.0.1:9',
                '--context',
                'project_type_slugs=["apis", "consumers"]',
                '--context',
                'team_slug=null',
                '--show-context',
            ]
        )
    assert code == 0
    ctx = json.loads(capsys.readouterr().out)
    assert ctx['project_type_slugs'] == ['apis', 'consumers']
    assert ctx['team_slug'] is None
    assert ctx['assignment_options'] == {'url': 'http://127.0.0.1:9'}


def test_call_names_the_variable_of_a_missing_credential(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with entry_points_listing(tiny.TinyDeploy):
        assert cli.main(['call', 'tiny-deploy', 'list_refs']) == 1
    out = capsys.readouterr()
    assert "credential 'token' is missing" in out.out
    assert 'set IMBI_PLUGIN_CREDENTIAL_TOKEN' in out.err


def test_show_lists_options_credentials_and_methods(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with entry_points_listing(tiny.TinyConfig, distribution='imbi-plugin-x'):
        assert cli.main(['show', 'tiny-config']) == 0
        table = capsys.readouterr().out
        assert cli.main(['show', 'tiny-config', '--json']) == 0
        shown = json.loads(capsys.readouterr().out)
    assert 'IMBI_PLUGIN_CREDENTIAL_TOKEN' in table
    assert 'keys: list[str] | None?' in table
    assert shown['distribution'] == 'imbi-plugin-x'
    assert [o['name'] for o in shown['options']] == ['url', 'timeout_seconds']
    assert shown['credentials'][0]['environment_variable'] == (
        'IMBI_PLUGIN_CREDENTIAL_TOKEN'
    )
    get_values = next(m for m in shown['methods'] if m['name'] == 'get_values')
    assert get_values['arguments'] == [
        {
            'name': 'keys',
            'type': 'list[str] | None',
            'required': False,
            'default': None,
        }
    ]


def test_call_string_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with entry_points_listing(tiny.TinyIdentity):
        assert (
            cli.main(
                [
                    'call',
                    'tiny-identity',
                    'authorization_request',
                    '--arg',
                    'redirect_uri=https://imbi.example/cb',
                ]
            )
            == 0
        )
    assert 'authorization_url' in capsys.readouterr().out


def test_call_deployment_builds_host_credentials(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with entry_points_listing(tiny.TinyDeploy):
        assert cli.main(['call', 'tiny-deploy', 'list_refs']) == 1
    assert '"status": 503' in capsys.readouterr().out


class _HintedV1(plugins.ConfigurationPlugin):
    """A handler mixin's annotations name typing-time imports only (one
    module serving both generations), as our converted plugins do."""

    manifest = plugins.PluginManifest(
        slug='hinted-v1',
        name='Hinted',
        plugin_type='configuration',
        credentials=[tiny.TOKEN],
    )

    async def list_keys(
        self, ctx: PluginContext, credentials: dict[str, str]
    ) -> list[typing.Any]:
        return []

    async def get_values(
        self,
        ctx: typing.Any,
        credentials: dict[str, str],
        keys: list[str] | None = None,
    ) -> list[typing.Any]:
        return []

    async def set_value(
        self,
        ctx: typing.Any,
        credentials: dict[str, str],
        key: str,
        value: ConfigValue,
    ) -> typing.Any:
        return plugins.ConfigKey(key=key, data_type=value.data_type)

    async def delete_key(
        self, ctx: typing.Any, credentials: dict[str, str], key: NoSuchName
    ) -> None:
        return None


def test_show_and_call_resolve_typing_time_annotations(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv('IMBI_PLUGIN_CREDENTIAL_TOKEN', 'env-token-9')
    with entry_points_listing(_HintedV1):
        assert cli.main(['show', 'hinted-v1', '--json']) == 0
        shown = json.loads(capsys.readouterr().out)
        value = 'value={"value": "x", "data_type": "string"}'
        code = cli.main(
            [
                'call',
                'hinted-v1',
                'set_value',
                '--arg',
                'key=a',
                '--arg',
                value,
            ]
        )
    assert code == 0
    assert json.loads(capsys.readouterr().out)['body']['key'] == 'a'
    arguments = {
        m['name']: {a['name']: a['type'] for a in m['arguments']}
        for m in shown['methods']
    }
    assert arguments['set_value'] == {'key': 'str', 'value': 'ConfigValue'}
    assert arguments['delete_key'] == {'key': 'Any'}
