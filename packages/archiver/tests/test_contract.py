"""The contract suite, the whole-call budget, the demo (both
generations)."""

import asyncio
import pathlib
import typing

import pytest
from imbi_plugin_archiver._host import PluginContext
from imbi_plugin_archiver.client import GitHub
from imbi_plugin_testing.contract import (
    ContractSpec,
    check_plugin_contract_async,
)
from imbi_plugin_testing.generation import plugin_under_test
from imbi_plugin_testing.scenarios import Steps, scenario_for

if typing.TYPE_CHECKING:
    from conftest import World

PACKAGE = pathlib.Path(__file__).parents[1]


async def _archive(
    plugin: typing.Any, ctx: PluginContext, credentials: dict[str, str]
) -> typing.Any:
    return await plugin.on_project_archived(ctx, credentials)


async def test_contract() -> None:
    await check_plugin_contract_async(
        ContractSpec(
            plugin=plugin_under_test('imbi_plugin_archiver'),
            readme=PACKAGE / 'README.md',
            credentials={'token': 'ghp_contract0000000000000000000000000'},
            options=lambda url: {
                'api_url': url,
                'repository': 'acme/billing-api',
            },
            call=_archive,
            context_kind='lifecycle',
            missing_credentials=[
                {},
                {'token': ''},
                {'access_token': '', 'token': ' '},
            ],
        )
    )


async def test_whole_call_budget(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waits outside the requests' own timeouts end at the budget too."""

    async def hang(*_: typing.Any) -> None:
        await asyncio.sleep(30)

    monkeypatch.setattr(GitHub, 'repository', hang)

    result = await world.unarchive(options={'timeout_seconds': 1})

    assert result.status == 'failed'
    assert result.message == (
        'PluginTimeoutError: the unarchive of acme/billing-api did not '
        "finish within the 1 s budget (option 'timeout_seconds')"
    )


async def test_demo_scenario() -> None:
    module = scenario_for('archiver')
    assert module is not None
    steps = Steps('archiver')

    await module.run(steps)

    assert [s.ok for s in steps.results] == [True] * 8, steps.results
