"""The cursor: opaque, URL-safe, versioned and bound to its query."""

import base64
import datetime
import re
import time
import typing

import pytest
from imbi_plugin_loki import cursor
from imbi_plugin_loki._host import CursorExpiredError
from imbi_plugin_testing import Host

if typing.TYPE_CHECKING:
    from conftest import Loki

SECOND = 1_000_000_000
KEY = cursor.fingerprint('{a="b"}', 'tenant', 'http://loki')


def test_round_trip_and_url_safety() -> None:
    seen = {cursor.entry_id('s', f'line {i}') for i in range(3)}
    token = cursor.encode(KEY, 100_000_000, 123_456_789, seen)
    assert re.fullmatch(r'[A-Za-z0-9_-]+', token)
    assert cursor.decode(KEY, token) == cursor.Position(
        100_000_000, 123_456_789, frozenset(seen)
    )


def test_fingerprint_covers_every_part_of_the_query() -> None:
    parts: list[tuple[str, str | None, str]] = [
        ('{a="b"}', 'tenant', 'http://loki'),
        ('{a="c"}', 'tenant', 'http://loki'),
        ('{a="b"}', None, 'http://loki'),
        ('{a="b"}', 'tenant', 'http://other'),
    ]
    assert len({cursor.fingerprint(*p) for p in parts}) == len(parts)


def _reencoded(token: str, change: typing.Callable[[bytearray], None]) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + '=' * (-len(token) % 4)))
    change(raw)
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()


@pytest.mark.parametrize(
    ('mangle', 'reason'),
    [
        (lambda t: t[:-2], 'not valid'),
        (lambda t: '!!' + t, 'not valid'),
        (lambda t: 'é', 'not valid'),
        (lambda t: 'Ag', 'not valid'),
        (lambda t: '', 'another version'),
        (
            lambda t: _reencoded(t, lambda raw: raw.__setitem__(0, 1)),
            'another version',
        ),
        (
            lambda t: _reencoded(
                t, lambda raw: raw.__setitem__(20, raw[20] ^ 1)
            ),
            'altered',
        ),
        (
            lambda t: _reencoded(t, lambda raw: raw.extend(b'12345678')),
            'altered',
        ),
    ],
)
def test_bad_tokens(mangle: typing.Callable[[str], str], reason: str) -> None:
    token = cursor.encode(KEY, 1, 42, {cursor.entry_id('s', 'x')})
    with pytest.raises(CursorExpiredError, match=reason):
        cursor.decode(KEY, mangle(token))


async def _first_cursor(loki: Loki, **query: typing.Any) -> str:
    loki.push(
        [(loki.now_ns - (i + 1) * SECOND, f'line {i}') for i in range(5)],
        level='error',
    )
    response = await loki.host().search(loki.query(limit=2, **query))
    token = response.result.next_cursor
    assert token is not None
    return typing.cast(str, token)


@pytest.mark.parametrize(
    ('options', 'change'),
    [
        ({}, {'filters': ['message:contains:line 3']}),
        ({}, {'levels': ['warn']}),
        ({'selector_template': '{service_name=~"billing.*"}'}, {}),
        ({'tenant': 'team-b'}, {}),
        ({'line_format': 'logfmt'}, {}),
    ],
)
async def test_cursor_of_another_query_is_expired(
    loki: Loki,
    options: dict[str, typing.Any],
    change: dict[str, typing.Any],
) -> None:
    token = await _first_cursor(loki)
    before = len(loki.fake.requests)
    query = loki.query(limit=2, **change).model_copy(update={'cursor': token})
    response = await loki.host(**options).search(query)
    assert response.status == 409
    assert response.body['detail']['error'] == 'cursor_expired'
    assert isinstance(response.error, CursorExpiredError)
    assert len(loki.fake.requests) == before


async def test_tampered_cursor_is_expired_without_a_request(
    loki: Loki,
) -> None:
    token = await _first_cursor(loki)
    before = len(loki.fake.requests)
    flipped = token[:-3] + ('A' if token[-3] != 'A' else 'B') + token[-2:]
    query = loki.query(limit=2).model_copy(update={'cursor': flipped})
    response = await loki.host().search(query)
    assert response.status == 409
    assert len(loki.fake.requests) == before


async def test_cursor_survives_a_new_limit(loki: Loki) -> None:
    token = await _first_cursor(loki)
    query = loki.query(limit=10).model_copy(update={'cursor': token})
    response = await loki.host().search(query)
    assert [e.message for e in response.result.entries] == [
        'line 2',
        'line 3',
        'line 4',
    ]
    assert response.result.next_cursor is None
    assert loki.queries()[-1]['end'] == str(loki.now_ns - 2 * SECOND + 1)


async def test_cursor_with_several_environments_is_a_host_400(
    loki: Loki,
) -> None:
    token = await _first_cursor(loki)
    query = loki.query(limit=2).model_copy(update={'cursor': token})
    response = await loki.host().search(
        query, environments=['production', 'staging']
    )
    assert response.status == 400


async def test_a_cursor_past_the_start_ends_without_a_request(
    loki: Loki,
) -> None:
    query = loki.query(limit=2)
    start_ns = loki.now_ns - 300 * SECOND
    key = cursor.fingerprint(
        '{service_name="billing-api"}', 'team-a', loki.url
    )
    token = cursor.encode(key, start_ns, start_ns - 1, set())
    response = await loki.host().search(
        query.model_copy(update={'cursor': token})
    )
    assert response.status == 200, response.body
    assert response.result.entries == []
    assert response.result.next_cursor is None
    assert loki.fake.requests == []


async def test_cursor_survives_a_moved_window(loki: Loki) -> None:
    """The host recomputes now-30min..now on every request: page 2 of a
    search without explicit times has a window a few seconds later. It
    continues page 1's search: nothing twice, nothing skipped (not even
    what lies between the two starts), nothing newer than page 1."""
    start = loki.now - datetime.timedelta(minutes=5)
    loki.push(
        [(loki.now_ns - (i + 1) * SECOND, f'line {i}') for i in range(3)]
        + [(results_ns(start) + SECOND, 'near the first start')]
    )
    first = await loki.host().search(loki.query(start=start, limit=2))
    assert [e.message for e in first.result.entries] == ['line 0', 'line 1']
    loki.push([(loki.now_ns + 3 * SECOND, 'arrived after page 1')])
    moved = datetime.timedelta(seconds=5)
    second = await loki.host().search(
        loki.query(
            start=start + moved,
            end=loki.now + moved,
            limit=10,
            cursor=first.result.next_cursor,
        )
    )
    assert second.status == 200, second.body
    assert [e.message for e in second.result.entries] == [
        'line 2',
        'near the first start',
    ]
    assert second.result.next_cursor is None


async def test_second_page_under_the_hosts_default_window(
    loki: Loki,
) -> None:
    """No explicit times, as the Imbi UI asks: the window moves between
    the two requests."""
    now_ns = time.time_ns()
    loki.fake.now_ns = now_ns
    loki.push(
        [(now_ns - (i + 1) * SECOND, f'line {i}') for i in range(5)],
    )
    first = await loki.host().search(Host.log_query(limit=2))
    second = await loki.host().search(
        Host.log_query(limit=2, cursor=first.result.next_cursor)
    )
    assert second.status == 200, second.body
    third = await loki.host().search(
        Host.log_query(limit=2, cursor=second.result.next_cursor)
    )
    messages = [
        e.message
        for response in (first, second, third)
        for e in response.result.entries
    ]
    assert messages == [f'line {i}' for i in range(5)]
    assert third.result.next_cursor is None


def results_ns(moment: datetime.datetime) -> int:
    return int(moment.timestamp()) * SECOND
