"""Reads run in threads owned by the call, at most max_concurrency at once."""

import asyncio
import collections.abc
import concurrent.futures
import threading
import typing

import pytest
import starlette.requests
import starlette.responses
from imbi_plugin_testing import Fault, Host
from imbi_plugin_testing.fakes.vault import VaultFake
from imbi_plugin_vault import transport
from imbi_plugin_vault._host import PluginAuthenticationFailed

from .conftest import FOLDER, PLUGIN

POOL_PREFIX = 'imbi-plugin-vault'
DENIED = {'errors': ['permission denied']}


class CountingVault(VaultFake):
    """Counts requests in flight; each takes ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.in_flight = 0
        self.peak = 0
        self._count = threading.Lock()

    async def _handle(
        self, request: starlette.requests.Request
    ) -> starlette.responses.Response:
        with self._count:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            return await super()._handle(request)
        finally:
            with self._count:
                self.in_flight -= 1


@pytest.fixture
def counting(
    secret_scan: typing.Any,
) -> collections.abc.Iterator[tuple[CountingVault, str]]:
    fake = CountingVault(delay=0.02)
    fake.mount('secret', 2)
    secret_scan.add(fake.root_token)
    for index in range(24):
        fake.put('secret', f'{FOLDER}/k{index:02d}', {'value': str(index)})
    with fake.plugged() as url:
        yield fake, url


def _host(fake: VaultFake, url: str, **options: typing.Any) -> Host:
    return Host(
        PLUGIN,
        plugin_options={'url': url, 'mount_path': 'secret', **options},
        credentials={'token': fake.root_token},
    )


class _NoDefaultExecutor(concurrent.futures.ThreadPoolExecutor):
    def submit(self, *args: typing.Any, **kwargs: typing.Any) -> typing.Any:
        raise AssertionError('the loop default executor was used')


def _pool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(POOL_PREFIX)]


@pytest.mark.parametrize('limit', [1, 3, 8])
async def test_concurrency_is_bounded(
    counting: tuple[CountingVault, str], limit: int
) -> None:
    fake, url = counting
    response = await _host(fake, url, max_concurrency=limit).get_values()
    assert len(response.body) == 24
    assert fake.peak == limit


async def test_requests_run_in_the_calls_threads(
    counting: tuple[CountingVault, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = counting
    asyncio.get_running_loop().set_default_executor(_NoDefaultExecutor())
    names: set[str] = set()
    real = transport.Adapter.request

    def recording(
        self: transport.Adapter, *args: typing.Any, **kwargs: typing.Any
    ) -> typing.Any:
        names.add(threading.current_thread().name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(transport.Adapter, 'request', recording)
    host = _host(fake, url, max_concurrency=4)
    assert (await host.list_keys()).ok
    assert (await host.get_values()).ok
    assert (await host.set_value('new', 'v', 'string')).ok
    assert (await host.delete_key('new')).ok
    assert names
    assert all(name.startswith(POOL_PREFIX) for name in names)
    # The pool was shut down when each call ended: its idle threads exit.
    for thread in _pool_threads():
        thread.join(timeout=2)
    assert _pool_threads() == []


async def test_cancelled_call_stops_sending(
    counting: tuple[CountingVault, str],
) -> None:
    """The host's own timeout cancels the call: queued reads never go."""
    fake, url = counting
    fake.delay = 0.1
    host = _host(fake, url, max_concurrency=2)
    host.timeout = 0.25
    response = await host.get_values()
    assert response.status == 503
    assert isinstance(response.error, TimeoutError)
    sent = len(fake.requests)
    await asyncio.sleep(0.3)
    assert len(fake.requests) == sent < 25
    assert fake.in_flight == 0


async def test_failed_call_returns_after_requests_in_flight(
    counting: tuple[CountingVault, str],
) -> None:
    """One read is refused while others are in flight: when the call
    returns, none of its threads still talks to Vault."""
    fake, url = counting
    fake.delay = 0.1
    fake.inject(Fault(path=r'/k00$', status=403, body=DENIED))
    host = _host(fake, url, max_concurrency=4)
    keys = [f'k{index:02d}' for index in range(12)]
    response = await host.get_values(keys)
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert fake.in_flight == 0
    # Reads still queued when the refusal arrived were never sent.
    assert len(fake.requests) < len(keys)
