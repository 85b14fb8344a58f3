"""The error policy: every fault of the issue's matrix, KV v1 and v2."""

import asyncio
import dataclasses
import socket
import time
import typing

import pytest
from imbi_plugin_testing import Fault, Host, HostResponse
from imbi_plugin_vault import client
from imbi_plugin_vault._host import (
    PluginAuthenticationFailed,
    PluginTimeoutError,
    PluginUnavailableError,
)

from .conftest import FOLDER, KV_PATHS, Vault, assert_rate_limited

RATE_LIMITED = {
    'errors': ['request path "x": rate limit quota exceeded'],
}


async def _every_method(host: Host) -> list[HostResponse]:
    return [
        await host.list_keys(),
        await host.get_values(),
        await host.get_values(['k']),
        await host.set_value('k', 'v', 'string'),
        await host.delete_key('k'),
    ]


async def test_bad_token_is_authentication_failed(
    vault: Vault, secret_scan: typing.Any
) -> None:
    token = 'hvs.not-a-valid-token-at-all'
    secret_scan.add(token)
    for response in await _every_method(vault.host(token=token)):
        assert response.status == 500
        assert isinstance(response.error, PluginAuthenticationFailed)
        text = str(response.error)
        assert 'permission denied' in text
        assert f'{vault.mount}/{FOLDER}' in text
        assert token not in text


async def test_403_names_the_operation_and_path(vault: Vault) -> None:
    reader = 'hvs.read-only-token-for-tests'
    rules = (
        {'kv/*': ['read', 'list']}
        if vault.kv_version == 1
        else {'secret/data/*': ['read'], 'secret/metadata/*': ['read', 'list']}
    )
    vault.fake.add_token(reader, rules)
    vault.put_imbi('k', 'old', 'string')
    host = vault.host(token=reader)
    assert (await host.get_values()).ok
    response = await host.set_value('k', 'new', 'string')
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert str(response.error) == (
        f'Vault denied write on {vault.mount}/{FOLDER}/k: permission denied'
    )
    deleted = await host.delete_key('k')
    assert isinstance(deleted.error, PluginAuthenticationFailed)
    assert f'delete on {vault.mount}/{FOLDER}/k' in str(deleted.error)


async def test_older_403_message_is_cleaned(vault: Vault) -> None:
    vault.fake.inject(
        Fault(
            path=KV_PATHS,
            status=403,
            body={'errors': ['1 error occurred:\n\t* permission denied\n\n']},
        )
    )
    response = await vault.host().list_keys()
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert str(response.error).endswith(': permission denied')


async def test_readme_policy_is_enough(vault: Vault) -> None:
    """The README's minimal policy allows every operation."""
    token = 'hvs.policy-token-of-the-readme'
    if vault.kv_version == 1:
        rules = {'kv/+/+/*': ['list', 'read', 'create', 'update', 'delete']}
    else:
        rules = {
            'secret/data/+/+/*': ['read', 'create', 'update', 'delete'],
            'secret/metadata/+/+/*': [
                'list',
                'read',
                'create',
                'update',
                'delete',
            ],
        }
    vault.fake.add_token(token, rules)
    for mode in ('soft', 'destroy'):
        host = vault.host(token=token, delete_mode=mode)
        await host.set_value('a/b', 'v', 'string')
        await host.set_value('a/b', 'w', 'secret')
        for response in await _every_method(host):
            assert response.ok, response.body


@pytest.mark.parametrize(
    ('fault', 'expected'),
    [
        (Fault(status=503, body={'errors': ['Vault is sealed']}), 'sealed'),
        (
            Fault(status=503, body={'errors': ['node is in standby mode']}),
            'standby',
        ),
        (Fault(status=500, body={'errors': ['internal error']}), 'internal'),
        (Fault(status=502, body='bad gateway'), 'HTTP 502'),
        (Fault(status=412, body={'errors': []}), 'HTTP 412'),
        (Fault(malformed=True), 'malformed'),
        (Fault(status=200, body={'data': []}), 'malformed'),
        (Fault(status=200, body={'data': {'keys': 'a'}}), 'malformed'),
        (Fault(drop=True), 'cannot reach Vault'),
    ],
    ids=[
        'sealed',
        'standby',
        '500',
        '502-text',
        '412',
        'malformed-json',
        'wrong-shape',
        'wrong-keys',
        'dropped',
    ],
)
async def test_unavailable_on_list(
    vault: Vault, fault: Fault, expected: str
) -> None:
    vault.fake.inject(dataclasses.replace(fault, path=KV_PATHS))
    response = await vault.host().list_keys()
    assert isinstance(response.error, PluginUnavailableError), response.error
    assert expected in str(response.error)


async def test_malformed_answers_to_reads_and_writes(vault: Vault) -> None:
    vault.put_imbi('k', 'v', 'string')
    host = vault.host()
    for fault in (
        Fault(path=KV_PATHS, malformed=True),
        Fault(path=KV_PATHS, status=200, body={'x': 1}),
    ):
        vault.fake.inject(fault)
        response = await host.get_values(['k'])
        assert isinstance(response.error, PluginUnavailableError)
    if vault.kv_version == 2:
        vault.fake.inject(
            Fault(
                path=KV_PATHS,
                status=200,
                body={'data': {'data': 'x', 'metadata': {}}},
            )
        )
        response = await host.get_values(['k'])
        assert isinstance(response.error, PluginUnavailableError)
        vault.fake.inject(Fault(method='POST', malformed=True))
        response = await host.set_value('k', 'w', 'string')
        assert isinstance(response.error, PluginUnavailableError)


async def test_sealed_vault(vault: Vault) -> None:
    vault.fake.sealed = True
    for response in await _every_method(vault.host()):
        assert isinstance(response.error, PluginUnavailableError)
        assert 'Vault is sealed' in str(response.error)


async def test_connection_refused(vault: Vault) -> None:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    host = vault.host(url=f'http://127.0.0.1:{port}')
    for response in await _every_method(host):
        assert isinstance(response.error, PluginUnavailableError)
        assert 'cannot reach Vault' in str(response.error)


async def test_missing_mount_names_it(vault: Vault) -> None:
    host = vault.host(mount_path='does-not-exist')
    for response in await _every_method(host):
        assert isinstance(response.error, ValueError)
        assert "'does-not-exist'" in str(response.error)
        assert 'mount_path' in str(response.error)


async def test_write_answered_not_found_is_a_configuration_error(
    vault: Vault,
) -> None:
    # Only the write is refused (a proxy or a route Vault does not have):
    # the plugin must not leak its internal not-found signal.
    vault.fake.inject(
        Fault(path=r'/k$', method='POST', status=404, body={'errors': []})
    )
    response = await vault.host().set_value('k', 'v', 'string')
    assert isinstance(response.error, ValueError)
    assert 'mount_path' in str(response.error)


async def test_missing_namespace_names_it(vault: Vault) -> None:
    response = await vault.host(namespace='nowhere').list_keys()
    assert isinstance(response.error, ValueError)
    assert "namespace 'nowhere'" in str(response.error)


async def test_429_is_retried(vault: Vault) -> None:
    vault.put_imbi('k', 'v', 'string')
    vault.fake.inject(
        Fault(
            path=r'/k$',
            status=429,
            body=RATE_LIMITED,
            headers={'Retry-After': '0'},
            times=2,
        )
    )
    response = await vault.host().get_values(['k'])
    assert response.ok
    assert [v['value'] for v in response.body] == ['v']
    assert len(vault.fake.requests_to(r'/k$')) == 3


async def test_429_without_retry_after_backs_off(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client, 'BACKOFF_SECONDS', 0.01)
    vault.fake.inject(Fault(status=429, body=RATE_LIMITED, times=None))
    response = await vault.host().list_keys()
    # No Retry-After: at least a second, Vault quotas' interval.
    assert_rate_limited(response.error, 1)
    assert len(vault.fake.requests) == 1 + client.MAX_RETRIES


@pytest.mark.parametrize(
    ('header', 'retry_in'),
    [('30', 30), ('inf', client.MAX_RETRY_AT_SECONDS)],
    ids=['30s', 'endless'],
)
async def test_429_retry_after_beyond_the_budget(
    vault: Vault, header: str, retry_in: float
) -> None:
    vault.fake.inject(
        Fault(status=429, body=RATE_LIMITED, headers={'Retry-After': header})
    )
    started = time.monotonic()
    response = await vault.host(timeout_seconds=2).list_keys()
    assert time.monotonic() - started < 1
    # An endless wait is reported as an hour: a time a host can schedule.
    assert_rate_limited(response.error, retry_in)
    assert len(vault.fake.requests) == 1


async def test_stalled_request_times_out_within_budget(vault: Vault) -> None:
    vault.fake.inject(Fault(stall=True, times=None))
    started = time.monotonic()
    response = await vault.host(timeout_seconds=1).get_values(['a', 'b'])
    elapsed = time.monotonic() - started
    assert isinstance(response.error, PluginTimeoutError)
    assert elapsed < 1.5


async def test_slow_walk_hits_the_whole_budget(vault: Vault) -> None:
    for index in range(20):
        vault.put_imbi(f'k{index}', 'v', 'string')
    vault.fake.inject(Fault(latency=0.2, times=None))
    started = time.monotonic()
    response = await vault.host(
        timeout_seconds=1, max_concurrency=1
    ).get_values()
    elapsed = time.monotonic() - started
    assert isinstance(response.error, PluginTimeoutError)
    assert elapsed < 1.5
    served = len(vault.fake.requests)
    await asyncio.sleep(0.3)
    # Nothing more reaches Vault once the call has ended.
    assert len(vault.fake.requests) == served
