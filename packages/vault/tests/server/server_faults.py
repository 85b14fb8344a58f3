"""A real OpenBao server sealed, frozen, stopped, rate limited, on TLS."""

import logging
import os
import signal
import time

import pytest
from imbi_plugin_vault._host import PluginTimeoutError, PluginUnavailableError

from .conftest import RATE_LIMIT_ERROR, Bao
from .server_kv import _every_method


async def test_sealed_then_unsealed(fresh: Bao) -> None:
    host = fresh.host(mount_path='secret')
    assert (await host.set_value('k', 'v', 'string')).ok
    fresh.cli('operator', 'seal')
    for response in await _every_method(host):
        assert isinstance(response.error, PluginUnavailableError)
        assert 'Vault is sealed' in str(response.error)
    fresh.cli('operator', 'unseal', fresh.unseal_key)
    values = await host.get_values(['k'])
    assert [v['value'] for v in values.body] == ['v']


async def test_frozen_then_stopped_within_the_budget(fresh: Bao) -> None:
    # A new Host per phase: the host caches list_keys answers.
    assert (await fresh.host(mount_path='secret').list_keys()).ok
    os.kill(fresh.pid, signal.SIGSTOP)
    try:
        frozen = fresh.host(mount_path='secret', timeout_seconds=2)
        for response in await _every_method(frozen):
            assert isinstance(response.error, PluginTimeoutError)
            # The 2 s budget, plus room for a machine under load; the
            # host would cancel at 10 s.
            assert response.elapsed < 3.5
    finally:
        os.kill(fresh.pid, signal.SIGCONT)
    assert (await fresh.host(mount_path='secret').list_keys()).ok
    fresh.process.terminate()
    fresh.process.wait(timeout=10)
    stopped = fresh.host(mount_path='secret', timeout_seconds=2)
    for response in await _every_method(stopped):
        assert isinstance(response.error, PluginUnavailableError)
        assert 'cannot reach Vault' in str(response.error)
        assert response.elapsed < 2


@pytest.mark.parametrize('headers', [False, True], ids=['plain', 'headers'])
async def test_rate_limit_quotas(
    bao: Bao, headers: bool, caplog: pytest.LogCaptureFixture
) -> None:
    mount = bao.mount(2)
    host = bao.host(mount_path=mount, max_concurrency=1)
    for index in range(4):
        await host.set_value(f'k{index}', 'v', 'string')
    quota = bao.unique('quota-')
    bao.cli(
        'write',
        'sys/quotas/config',
        f'enable_rate_limit_response_headers={str(headers).lower()}',
    )
    bao.cli(
        'write',
        f'sys/quotas/rate-limit/{quota}',
        'rate=2',
        'interval=1s',
        f'path={mount}/',
    )
    try:
        started = time.monotonic()
        with caplog.at_level(logging.DEBUG, 'imbi_plugin_vault'):
            response = await host.get_values()
        elapsed = time.monotonic() - started
    finally:
        bao.cli('delete', f'sys/quotas/rate-limit/{quota}')
    waits = [
        float(r.getMessage().rsplit(' ', 2)[-2])
        for r in caplog.records
        if 'retrying in' in r.getMessage()
    ]
    # Never an immediate retry: each wait is the plugin's back-off.
    assert waits
    assert min(waits) >= 0.25
    assert elapsed < 5.5
    if response.ok:
        assert len(response.body) == 4
    else:
        assert isinstance(response.error, RATE_LIMIT_ERROR)
        # OpenBao sends Retry-After: 0 (or none): a second, its interval.
        assert 'retry in 1 s' in str(response.error)
        retry_at = getattr(response.error, 'retry_at', None)
        assert retry_at is None or retry_at - time.time() <= 1


@pytest.mark.parametrize('variable', ['REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'])
async def test_tls_with_the_ca_bundle_of_the_environment(
    bao_tls: Bao, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)
    monkeypatch.setenv(variable, str(bao_tls.ca_file))
    host = bao_tls.host(mount_path='secret')
    assert (await host.set_value('k', 'v', 'string')).ok
    assert [v['value'] for v in (await host.get_values()).body] == ['v']


async def test_tls_untrusted_or_unverified(
    bao_tls: Bao, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)
    untrusted = await bao_tls.host(mount_path='secret').list_keys()
    assert isinstance(untrusted.error, PluginUnavailableError)
    assert 'SSLError' in str(untrusted.error)
    unverified = bao_tls.host(mount_path='secret', verify_tls='false')
    assert (await unverified.list_keys()).ok
