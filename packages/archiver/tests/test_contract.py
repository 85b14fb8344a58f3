"""The contract suite, registry loading, lazy imports, the demo."""

import asyncio
import pathlib
import subprocess
import sys
import typing

import pytest
from imbi_common.plugins import PluginContext
from imbi_plugin_archiver.client import GitHub
from imbi_plugin_archiver.plugin import ArchiverPlugin
from imbi_plugin_testing.contract import (
    ContractSpec,
    check_plugin_contract_async,
)
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
            plugin=ArchiverPlugin,
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


def test_manifest() -> None:
    manifest = ArchiverPlugin.manifest

    assert (manifest.slug, manifest.name, manifest.plugin_type) == (
        'archiver',
        'GitHub Repository Archiver',
        'lifecycle',
    )
    assert {o.name: o.default for o in manifest.options} == {
        'api_url': 'https://api.github.com',
        'repository': None,
        'archive_owner': None,
        'timeout_seconds': 8,
        'allow_plain_http': False,
    }
    assert [(c.name, c.required) for c in manifest.credentials] == [
        ('token', False),
        ('app_id', False),
        ('private_key', False),
    ]


def test_entry_point_and_lazy_imports() -> None:
    code = (
        'import sys, importlib.metadata as m\n'
        "(ep,) = [e for e in m.entry_points(group='imbi.plugins') "
        "if e.name == 'archiver']\n"
        'cls = ep.load()\n'
        'assert cls.__name__ == "ArchiverPlugin", cls\n'
        "print(sorted(n for n in ('httpx', 'httpcore', 'jwt') "
        'if n in sys.modules))'
    )
    output = subprocess.run(
        [sys.executable, '-c', code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout

    assert output.strip() == '[]'


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
