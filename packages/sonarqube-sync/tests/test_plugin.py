"""The plugin class as the hosts see it: manifest, registry, catalog."""

import json
import pathlib
import types
import typing

import pydantic
import pytest
from imbi_plugin_sonarqube_sync import actions
from imbi_plugin_sonarqube_sync._host import PluginContext
from imbi_plugin_sonarqube_sync.config import UpdateProjectConfig
from imbi_plugin_testing import ContractSpec, check_plugin_contract_async
from imbi_plugin_testing.scenarios import Steps
from imbi_plugin_testing.scenarios import sonarqube as scenario
from sonarqube_helpers import (
    ACTION,
    CONFIG,
    HAS_CATALOG,
    KEY,
    World,
    handler_class,
    plugin_class,
)

README = pathlib.Path(__file__).parents[1] / 'README.md'


def test_action_catalog() -> None:
    if not HAS_CATALOG:
        # imbi-common before 2.5.1 has no ActionDescriptor: only
        # run_action exists there, and actions() says so.
        with pytest.raises(NotImplementedError, match=r'2\.5\.1'):
            handler_class().actions()
        return
    (descriptor,) = handler_class().actions()
    assert descriptor.name == ACTION
    assert descriptor.callable is actions.update_project_from_webhook
    assert descriptor.config_model is UpdateProjectConfig
    assert UpdateProjectConfig.model_config['extra'] == 'forbid'
    # A fresh list every call, as the base class asks.
    assert handler_class().actions() is not handler_class().actions()


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


async def test_contract() -> None:
    await check_plugin_contract_async(
        ContractSpec(
            plugin=plugin_class(),
            readme=README,
            credentials={
                'api_token': 'squ_contract0000000000000000000000000000',
                'imbi_api_key': 'ik_contract_secret000000000000',
            },
            options=lambda url: {'sonarqube_url': url, 'imbi_url': url},
            call=_catalog(json.dumps(CONFIG)),
            context_kind='webhook',
        )
    )


async def test_demo_scenario() -> None:
    steps = Steps('sonarqube')
    await scenario.run(steps)
    assert [r.ok for r in steps.results] == [True] * 5, steps.results
