"""Invalid caller input is a ValueError and no request reaches Vault."""

import typing

import pytest
from imbi_plugin_testing import Host
from imbi_plugin_vault._host import PluginAuthenticationFailed

from .conftest import Vault

INVALID_KEYS = [
    '',
    '/leading',
    'trailing/',
    'a//b',
    '.',
    'a/./b',
    '..',
    'a/../b',
    'tab\there',
    'new\nline',
    'nul\x00',
    'bidi\u202eoverride',
    'x' * 513,
]


async def _call(host: Host, method: str, key: str) -> typing.Any:
    if method == 'get_values':
        return await host.get_values(['fine', key])
    if method == 'set_value':
        return await host.set_value(key, 'v', 'string')
    return await host.delete_key(key)


@pytest.mark.parametrize('method', ['get_values', 'set_value', 'delete_key'])
@pytest.mark.parametrize('key', INVALID_KEYS)
async def test_invalid_key(vault: Vault, method: str, key: str) -> None:
    response = await _call(vault.host(), method, key)
    assert response.status == 500
    assert isinstance(response.error, ValueError)
    assert 'key' in str(response.error)
    assert vault.fake.requests == []


async def test_longest_valid_key(vault: Vault) -> None:
    key = 'k' * 512
    assert (await vault.host().set_value(key, 'v', 'string')).ok


async def test_non_string_key(vault: Vault) -> None:
    response = await vault.host().get_values([42])  # type: ignore[list-item]
    assert isinstance(response.error, ValueError)
    assert vault.fake.requests == []


async def test_unknown_data_type(vault: Vault) -> None:
    response = await vault.host().set_value('k', 'v', 'integer')
    assert isinstance(response.error, ValueError)
    assert 'integer' in str(response.error)
    assert vault.fake.requests == []


@pytest.mark.parametrize(
    'overrides',
    [
        {'kv_version': '3'},
        {'path_template': '${org_slug}/${nope}'},
        {'path_template': '${environment}'},
        {'mount_path': 'a/../b'},
    ],
)
async def test_invalid_options(
    vault: Vault, overrides: dict[str, typing.Any]
) -> None:
    host = vault.host(**overrides)
    for response in (
        await host.list_keys(environment=None),
        await host.get_values(environment=None),
        await host.set_value('k', 'v', 'string', environment=None),
        await host.delete_key('k', environment=None),
    ):
        assert isinstance(response.error, ValueError)
    assert vault.fake.requests == []


async def test_entries_that_are_not_valid_keys_are_skipped(
    vault: Vault,
) -> None:
    vault.put_imbi('good', 'v', 'string')
    vault.put_imbi('bad\tkey', 'v', 'string')
    host = vault.host()
    assert [k['key'] for k in (await host.list_keys()).body] == ['good']
    assert [v['key'] for v in (await host.get_values()).body] == ['good']


@pytest.mark.parametrize(
    'token', ['hvs.abc\r\nX-Injected: 1', 'hvs.\u00e9t\u00e9']
)
async def test_a_token_no_header_can_carry_is_refused(
    vault: Vault, token: str, secret_scan: typing.Any
) -> None:
    secret_scan.add(token)
    response = await vault.host(token=token).list_keys()
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert "'token'" in str(response.error)
    assert vault.fake.requests == []
