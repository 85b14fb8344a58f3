"""The plugin class as the hosts see it: manifest, registry, catalog."""

import collections.abc
import json
import pathlib
import subprocess
import sys
import types
import typing

import pydantic
import pytest
from imbi_common.plugins import LoadResult, PluginContext, WebhookActionPlugin
from imbi_plugin_sonarqube_sync import actions
from imbi_plugin_sonarqube_sync.config import UpdateProjectConfig
from imbi_plugin_sonarqube_sync.plugin import ACTION, MANIFEST, SonarQubePlugin
from imbi_plugin_testing import ContractSpec, check_plugin_contract_async
from imbi_plugin_testing.scenarios import Steps
from imbi_plugin_testing.scenarios import sonarqube as scenario
from sonarqube_helpers import CONFIG, HAS_CATALOG, KEY, World

README = pathlib.Path(__file__).parents[1] / 'README.md'


def test_manifest() -> None:
    assert MANIFEST.slug == 'sonarqube'
    assert MANIFEST.name == 'SonarQube'
    assert MANIFEST.plugin_type == 'webhook'
    assert MANIFEST.api_version == 1
    assert {o.name: o.default for o in MANIFEST.options} == {
        'imbi_url': None,
        'sonarqube_url': None,
        'sonarqube_auth': 'bearer',
        'timeout_seconds': 8,
        'allow_plain_http': False,
    }
    assert {c.name: c.required for c in MANIFEST.credentials} == {
        'api_token': True,
        'imbi_api_key': True,
        'imbi_url': False,
    }
    assert issubclass(SonarQubePlugin, WebhookActionPlugin)


def test_real_registry_loads_it(
    installed_plugins: collections.abc.Callable[..., LoadResult],
) -> None:
    # imbi-common 2.5.1+ calls actions() here and rejects a bad catalog.
    result = installed_plugins(SonarQubePlugin)
    assert result.errors == {}
    assert result.skipped == []
    assert result.loaded == ['sonarqube']


def test_action_catalog() -> None:
    if not HAS_CATALOG:
        # imbi-common before 2.5.1 has no ActionDescriptor: only
        # run_action exists there, and actions() says so.
        with pytest.raises(NotImplementedError, match=r'2\.5\.1'):
            SonarQubePlugin.actions()
        return
    (descriptor,) = SonarQubePlugin.actions()
    assert descriptor.name == ACTION
    assert descriptor.callable is actions.update_project_from_webhook
    assert descriptor.config_model is UpdateProjectConfig
    assert UpdateProjectConfig.model_config['extra'] == 'forbid'
    # A fresh list every call, as the base class asks.
    assert SonarQubePlugin.actions() is not SonarQubePlugin.actions()


def test_loading_imports_no_upstream_client() -> None:
    code = (
        'import sys, json\n'
        'from imbi_plugin_sonarqube_sync.plugin import SonarQubePlugin\n'
        'try:\n'
        '    SonarQubePlugin.actions()\n'
        'except NotImplementedError:\n'
        '    pass\n'
        "print(json.dumps([m for m in ('httpx', 'jsonpointer') "
        'if m in sys.modules]))\n'
    )
    output = subprocess.run(
        [sys.executable, '-c', code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(output) == []


async def test_unknown_action_makes_no_request(world: World) -> None:
    response = await world.host().dispatch(
        'sonarqube:update_everything',
        external_identifier=KEY,
        action_config=CONFIG,
        payload=world.sonarqube.webhook_payload(KEY),
    )
    assert response.status == 500
    assert isinstance(response.error, ValueError)
    assert 'update_everything' in str(response.error)
    assert ACTION in str(response.error)
    assert world.network_requests() == 0


async def test_catalog_rejects_bad_config_before_the_call(
    world: World,
) -> None:
    bad = {'metrics': {}, 'extra': 1}
    if HAS_CATALOG:
        response = await world.call('payload', None, bad)
        # The gateway validates with the config model and never calls.
        assert response.status == 422
        assert world.network_requests() == 0
    with pytest.raises(pydantic.ValidationError):
        UpdateProjectConfig.model_validate(bad)


async def test_callable_ignores_keywords_a_later_gateway_adds(
    world: World,
) -> None:
    host = world.host()
    await actions.update_project_from_webhook(
        ctx=host.context('webhook'),
        credentials=host.credentials,
        external_identifier=KEY,
        action_config=UpdateProjectConfig.model_validate(CONFIG),
        event={'payload': world.sonarqube.webhook_payload(KEY)},
        attributed_to='usr-1',
    )
    assert world.project()['sonarqube_bugs'] == 3


async def test_event_given_as_an_object(world: World) -> None:
    host = world.host()
    payload = world.sonarqube.webhook_payload(KEY, branch='release')
    await actions.update_project_from_webhook(
        ctx=host.context('webhook'),
        credentials=host.credentials,
        external_identifier=KEY,
        action_config=UpdateProjectConfig.model_validate(
            {**CONFIG, 'branches': ['release']}
        ),
        event=types.SimpleNamespace(type='analysis', payload=payload),
    )
    assert world.project()['sonarqube_bugs'] == 5


def _run_action(config: str) -> typing.Any:
    async def call(
        instance: typing.Any, ctx: PluginContext, creds: dict[str, str]
    ) -> None:
        await instance.run_action(
            ctx,
            creds,
            KEY,
            ACTION,
            config,
            {'taskId': 'x', 'status': 'SUCCESS'},
        )

    return call


def _catalog(config: str) -> typing.Any:
    async def call(
        instance: typing.Any, ctx: PluginContext, creds: dict[str, str]
    ) -> None:
        await actions.update_project_from_webhook(
            ctx=ctx,
            credentials=creds,
            external_identifier=KEY,
            action_config=UpdateProjectConfig.model_validate_json(config),
            event={'payload': None},
        )

    return call


@pytest.mark.parametrize('make_call', [_run_action, _catalog])
async def test_contract(
    make_call: collections.abc.Callable[[str], typing.Any],
) -> None:
    await check_plugin_contract_async(
        ContractSpec(
            plugin=SonarQubePlugin,
            readme=README,
            credentials={
                'api_token': 'squ_contract0000000000000000000000000000',
                'imbi_api_key': 'ik_contract_secret000000000000',
            },
            options=lambda url: {'sonarqube_url': url, 'imbi_url': url},
            call=make_call(json.dumps(CONFIG)),
            context_kind='webhook',
        )
    )


async def test_demo_scenario() -> None:
    steps = Steps('sonarqube')
    await scenario.run(steps)
    assert [r.ok for r in steps.results] == [True] * 5, steps.results
