"""The harness's contract suite, once per method that talks to GitHub."""

import typing

import pytest
from github_identity_helpers import MODULE, README, REDIRECT_URI
from imbi_plugin_github_identity._host import PluginContext
from imbi_plugin_testing import ContractSpec, check_plugin_contract_async
from imbi_plugin_testing.generation import plugin_under_test

CREDENTIALS = {'client_id': 'Ov23liContract', 'client_secret': 'c' * 40}


async def _exchange(
    plugin: typing.Any, ctx: PluginContext, creds: dict[str, str]
) -> object:
    return await plugin.exchange_code(
        ctx, creds, 'a1b2c3d4e5f6a7b8c9d0', REDIRECT_URI, None
    )


async def _refresh(
    plugin: typing.Any, ctx: PluginContext, creds: dict[str, str]
) -> object:
    return await plugin.refresh(ctx, creds, 'ghr_' + 'r' * 40)


async def _revoke(
    plugin: typing.Any, ctx: PluginContext, creds: dict[str, str]
) -> object:
    return await plugin.revoke(ctx, creds, 'gho_' + 't' * 36)


@pytest.mark.parametrize('call', [_exchange, _refresh, _revoke])
async def test_contract(call: typing.Any) -> None:
    await check_plugin_contract_async(
        ContractSpec(
            plugin=plugin_under_test(MODULE),
            readme=README,
            credentials=CREDENTIALS,
            options=lambda url: {'github_url': url},
            call=call,
            context_kind='identity',
        )
    )
