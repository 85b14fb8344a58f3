"""Details of the client: timestamps, Retry-After, error text, races."""

import asyncio
import datetime
import threading
import time

import pytest
from imbi_plugin_testing import Fault, make_context
from imbi_plugin_vault import client, transport
from imbi_plugin_vault._host import PluginTimeoutError
from imbi_plugin_vault.options import read_options

from .conftest import FOLDER, Vault


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        (
            '2018-03-22T02:24:06.945319214Z',
            datetime.datetime(
                2018, 3, 22, 2, 24, 6, 945319, tzinfo=datetime.UTC
            ),
        ),
        (
            '2018-03-22T04:24:06.5+02:00',
            datetime.datetime(
                2018, 3, 22, 2, 24, 6, 500000, tzinfo=datetime.UTC
            ),
        ),
        (
            '2018-03-22T02:24:06',
            datetime.datetime(2018, 3, 22, 2, 24, 6, tzinfo=datetime.UTC),
        ),
        ('', None),
        (None, None),
        (1521685446, None),
        ('yesterday', None),
    ],
)
def test_parse_time(text: object, expected: datetime.datetime | None) -> None:
    assert client.parse_time(text) == expected


@pytest.mark.parametrize(
    ('header', 'expected'),
    [(None, None), ('', None), ('3', 3.0), ('-1', 0.0), ('soon', None)],
)
def test_retry_after(header: str | None, expected: float | None) -> None:
    assert transport.retry_after(header) == expected


@pytest.mark.parametrize(
    ('errors', 'reason'),
    [
        (['permission denied'], 'permission denied'),
        (
            ['1 error occurred:\n\t* permission denied\n\n'],
            'permission denied',
        ),
        (
            ['2 errors occurred:\n\t* a\n\t* b\n\n'],
            'a; b',
        ),
        ([], 'HTTP 418'),
    ],
)
def test_reason(errors: list[str], reason: str) -> None:
    error = transport.VaultResponseError(418, errors, None, None)
    assert error.reason == reason
    assert str(error) == 'Vault answered HTTP 418'


def test_no_request_after_the_call_ended() -> None:
    deadline = transport.Deadline(5)
    assert 4 < deadline.request_timeout() <= 5
    deadline.ended.set()
    with pytest.raises(PluginTimeoutError):
        deadline.request_timeout()
    with pytest.raises(PluginTimeoutError):
        transport.Deadline(0).request_timeout()


async def test_retry_wait_ends_with_the_call(vault: Vault) -> None:
    vault.fake.inject(
        Fault(
            status=429,
            body={'errors': ['rate limit quota exceeded']},
            headers={'Retry-After': '1'},
        )
    )
    host = vault.host()
    host.timeout = 0.2
    response = await host.list_keys()
    assert response.status == 503
    await asyncio.sleep(1.2)
    assert len(vault.fake.requests) == 1


async def test_key_gone_between_list_and_read(vault: Vault) -> None:
    vault.put_imbi('a', '1', 'string')
    vault.put_imbi('b', '2', 'string')
    vault.fake.inject(
        Fault(
            path=rf'{FOLDER}/b$', method='GET', status=404, body={'errors': []}
        )
    )
    listed = await vault.host().list_keys()
    assert [k['key'] for k in listed.body] == ['a']


async def test_drain_gives_up_after_the_deadline() -> None:
    options = read_options(
        make_context('configuration', options={'url': 'http://127.0.0.1:9'})
    )
    release = threading.Event()
    vault = client.VaultClient(options, 'token', 'folder', {'secret': True})
    vault.deadline.at = time.monotonic()
    stuck = vault._submit(release.wait, 5)
    vault.close()
    started = time.monotonic()
    await vault.drain()
    assert client.DRAIN_GRACE <= time.monotonic() - started < 1
    assert stuck.cancelled()
    release.set()
