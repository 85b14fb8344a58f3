"""The imbi-plugins command on v3 hosts (imbi-common 2.12+)."""

import json
import sys
import types
import typing
import unittest.mock

import pytest
import tiny_v3
from imbi_plugin_testing import _host, cli
from imbi_plugin_testing.registry import convention_listing
from imbi_plugin_testing.scenarios import Steps

if typing.TYPE_CHECKING:
    from collections.abc import Sized as NoSuchName

    from imbi_common.plugins import ConfigValue, PluginContext

p = _host.api()
SCENARIO = 'imbi_plugin_testing.scenarios.tiny_config'


class HintedHandler(p.ConfigurationCapability):  # type: ignore[misc,name-defined]
    """Annotations naming what this module never imports at run time.

    Our plugins import the host's models for type checking only (one
    module serves both generations): ``show`` and ``call`` still need
    the types.
    """

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
        return p.ConfigKey(key=key, data_type=value.data_type)

    async def delete_key(
        self, ctx: typing.Any, credentials: dict[str, str], key: NoSuchName
    ) -> None:
        return None


class Hinted(p.Plugin):  # type: ignore[misc,name-defined]
    manifest = p.PluginManifest(
        slug='hinted',
        name='Hinted',
        credentials=[tiny_v3.TOKEN],
        capabilities=[
            p.Capability(
                kind='configuration', label='Config', handler=HintedHandler
            )
        ],
    )


@pytest.fixture
def with_harness() -> typing.Iterator[None]:
    """The scan finds tiny-config and the harness itself, as in a venv
    holding both (the harness is an ``imbi_plugin_*`` module)."""
    with convention_listing(tiny_v3.TinyConfig) as names:
        found = {name: name for name in names}
        found['imbi_plugin_testing'] = 'imbi_plugin_testing'
        # Inside the listing's own patch, so both are undone in order.
        with unittest.mock.patch.object(
            p.registry, '_discover_convention', return_value=found
        ):
            yield


def test_list_shows_kinds_and_the_harness_apart(
    with_harness: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(['list']) == 0
    table = capsys.readouterr().out
    assert cli.main(['list', '--json']) == 0
    report = json.loads(capsys.readouterr().out)
    assert 'tiny-config' in table
    assert 'configuration' in table
    assert 'harness imbi_plugin_testing is not a plugin' in table
    assert 'error' not in table
    (plugin,) = report['plugins']
    assert plugin['slug'] == 'tiny-config'
    assert plugin['kinds'] == ['configuration']
    assert 'plugin_type' not in plugin
    assert report['errors'] == {}
    assert "no module-level 'PLUGIN'" in report['harness']


def test_list_counts_a_real_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Broken:
        pass

    with convention_listing(tiny_v3.TinyConfig, Broken):
        assert cli.main(['list']) == 1
        table = capsys.readouterr().out
        assert cli.main(['list', '--json']) == 1
        report = json.loads(capsys.readouterr().out)
    assert 'error' in table
    assert len(report['errors']) == 1
    assert report['harness'] is None


def test_list_with_nothing_installed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with convention_listing():
        assert cli.main(['list']) == 0
    assert 'No Imbi plugins are installed.' in capsys.readouterr().out


def test_show_gives_kind_hints_and_option_levels(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with convention_listing(tiny_v3.TinyConfig, tiny_v3.TinyLifecycle):
        assert cli.main(['show', 'tiny-config', '--json']) == 0
        shown = json.loads(capsys.readouterr().out)
        assert cli.main(['show', 'tiny-config']) == 0
        table = capsys.readouterr().out
        assert cli.main(['show', 'tiny-lifecycle', '--json']) == 0
        lifecycle = json.loads(capsys.readouterr().out)
        assert cli.main(['show', 'tiny-lifecycle']) == 0
        lifecycle_table = capsys.readouterr().out
    assert shown['kind'] == 'configuration'
    assert 'plugin_type' not in shown
    assert shown['hints'] == {}
    assert [(o['name'], o['level']) for o in shown['options']] == [
        ('url', 'integration'),
        ('timeout_seconds', 'integration'),
        ('folder', 'capability'),
    ]
    assert 'tiny-config (configuration)' in table
    assert 'Integration option' in table
    assert 'capability option' in table
    assert 'hints: none' in table
    assert lifecycle['hints'] == {'lifecycle_events': ['archived']}
    assert 'hints: lifecycle_events=["archived"]' in lifecycle_table
    # Hooks left to the base are the host's (skipped), not the plugin's.
    assert [m['name'] for m in lifecycle['methods']] == ['on_project_archived']


def test_show_resolves_typing_time_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with convention_listing(Hinted):
        assert cli.main(['show', 'hinted', '--json']) == 0
    shown = json.loads(capsys.readouterr().out)
    arguments = {
        m['name']: {a['name']: a['type'] for a in m['arguments']}
        for m in shown['methods']
    }
    assert arguments['set_value'] == {'key': 'str', 'value': 'ConfigValue'}
    assert arguments['get_values'] == {'keys': 'list[str] | None'}
    # A name nothing defines is shown as Any, and show still works.
    assert arguments['delete_key'] == {'key': 'Any'}


def test_call_coerces_a_typing_time_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv('IMBI_PLUGIN_CREDENTIAL_TOKEN', 'env-token-3')
    with convention_listing(Hinted):
        code = cli.main(
            [
                'call',
                'hinted',
                'set_value',
                '--arg',
                'key=a',
                '--arg',
                'value={"value": "x", "data_type": "string"}',
            ]
        )
        assert code == 0
        assert json.loads(capsys.readouterr().out)['body']['key'] == 'a'
        assert (
            cli.main(
                [
                    'call',
                    'hinted',
                    'set_value',
                    '--arg',
                    'key=a',
                    '--arg',
                    'value=2',
                ]
            )
            == 2
        )
    assert 'expected ConfigValue' in capsys.readouterr().err


def test_call_splits_options_into_the_two_layers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with convention_listing(tiny_v3.TinyConfig):
        code = cli.main(
            [
                'call',
                'tiny-config',
                'list_keys',
                '--option',
                'url=http://127.0.0.1:9',
                '--option',
                'folder=team/app',
                '--show-context',
            ]
        )
    assert code == 0
    ctx = json.loads(capsys.readouterr().out)
    assert ctx['integration_options'] == {'url': 'http://127.0.0.1:9'}
    assert ctx['capability_options'] == {'folder': 'team/app'}
    assert ctx['assignment_options'] == {'folder': 'team/app'}


@pytest.mark.parametrize(
    'field', ['integration_options', 'capability_options', 'credential_note']
)
def test_call_refuses_host_fields_as_context(
    field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with convention_listing(tiny_v3.TinyConfig):
        code = cli.main(
            ['call', 'tiny-config', 'list_keys', '--context', f'{field}={{}}']
        )
    assert code == 2
    assert f'--context {field} is not accepted' in capsys.readouterr().err


def test_call_with_no_credential_names_every_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv('IMBI_PLUGIN_CREDENTIAL_TOKEN', raising=False)
    with convention_listing(tiny_v3.TinyConfig):
        code = cli.main(
            [
                'call',
                'tiny-config',
                'list_keys',
                '--option',
                'url=http://127.0.0.1:9',
            ]
        )
    assert code == 1
    out = capsys.readouterr()
    assert json.loads(out.out)['status'] == 503
    assert 'set IMBI_PLUGIN_CREDENTIAL_TOKEN' in out.err
    assert 'context: {"project_id": "prj-0001"' in out.err
    assert 'integration_options' not in out.err


def test_call_a_webhook_gets_the_gateway_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with convention_listing(tiny_v3.TinyWebhook):
        code = cli.main(['call', 'tiny-webhook', 'nosuch', '--option', 'x=1'])
    assert code == 2
    assert "tiny-webhook has no method 'nosuch'" in (capsys.readouterr().err)


@pytest.fixture
def scenario() -> typing.Iterator[types.ModuleType]:
    module = types.ModuleType(SCENARIO)

    async def run(steps: Steps) -> None:
        async with steps.step('only'):
            steps.check(True, 'fine')

    module.run = run  # type: ignore[attr-defined]
    sys.modules[SCENARIO] = module
    yield module
    sys.modules.pop(SCENARIO, None)


def test_demo_runs_first_party_plugins_and_ignores_the_harness(
    with_harness: None,
    scenario: types.ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The shim module belongs to no distribution: say it is ours.
    monkeypatch.setattr(cli, '_distribution', lambda e: 'imbi-plugin-tiny')
    assert cli.main(['demo', '--json']) == 0
    report = json.loads(capsys.readouterr().out)
    assert [p['slug'] for p in report['plugins']] == ['tiny-config']
    assert report['ok'] is True
