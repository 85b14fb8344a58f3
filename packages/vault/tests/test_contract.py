"""The harness's contract suite and the registry, for every method."""

import collections.abc
import pathlib
import typing

import pytest
from imbi_plugin_testing import ContractSpec, check_plugin_contract_async
from imbi_plugin_vault._host import ConfigValue, LoadResult, PluginContext

from .conftest import PLUGIN

README = pathlib.Path(__file__).resolve().parent.parent / 'README.md'
Call = collections.abc.Callable[
    [typing.Any, PluginContext, dict[str, str]],
    collections.abc.Awaitable[typing.Any],
]
CALLS: dict[str, Call] = {
    'list_keys': lambda plugin, ctx, creds: plugin.list_keys(ctx, creds),
    'get_values': lambda plugin, ctx, creds: plugin.get_values(ctx, creds),
    'get_values_keys': lambda plugin, ctx, creds: plugin.get_values(
        ctx, creds, ['a', 'b/c']
    ),
    'set_value': lambda plugin, ctx, creds: plugin.set_value(
        ctx, creds, 'a', ConfigValue(data_type='string', value='v')
    ),
    'delete_key': lambda plugin, ctx, creds: plugin.delete_key(
        ctx, creds, 'a'
    ),
}


# Every method once, each KV version's write path; each case waits out
# a one-second budget against a stalled server.
@pytest.mark.parametrize(
    ('method', 'kv_version'),
    [
        ('list_keys', '1'),
        ('get_values', '2'),
        ('get_values_keys', '1'),
        ('set_value', '1'),
        ('set_value', '2'),
        ('delete_key', '2'),
    ],
)
async def test_contract(method: str, kv_version: str) -> None:
    await check_plugin_contract_async(
        ContractSpec(
            plugin=PLUGIN,
            readme=README,
            credentials={'token': 'hvs.contract-token'},
            options=lambda url: {
                'url': url,
                'mount_path': 'secret',
                'kv_version': kv_version,
            },
            call=CALLS[method],
            context_kind='configuration',
            missing_credentials=[{'token': '   '}, {'other': 'x'}],
        )
    )


def test_registry_loads_it(
    installed_plugins: collections.abc.Callable[..., LoadResult],
) -> None:
    result = installed_plugins(PLUGIN)
    assert result.errors == {}
    assert result.skipped == []
    assert 'vault' in result.loaded
