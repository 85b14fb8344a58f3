"""The stall meter, the watchdog and hostile rewrites of stand-in answers."""

import asyncio
import collections.abc
import json
import time

import httpx
import pytest
import starlette.responses
import starlette.routing
from imbi_plugin_testing import StandIn, hostile
from imbi_plugin_testing.stall import LoopStalled, StallMeter, watchdog


async def test_the_meter_sees_blocking_work_and_not_awaiting() -> None:
    async with StallMeter() as idle:
        await asyncio.sleep(0.2)
    async with StallMeter() as blocked:
        time.sleep(0.2)  # noqa: ASYNC251 - the blocking being measured
    assert idle.longest < 0.1
    assert blocked.longest >= 0.15


def test_the_watchdog_interrupts_work_that_holds_the_loop() -> None:
    def spin() -> None:
        with watchdog(0.2):
            while True:
                pass

    started = time.monotonic()
    with pytest.raises(LoopStalled):
        spin()
    assert time.monotonic() - started < 2
    with watchdog(5):
        pass  # cleared when the block ends: nothing fires later
    time.sleep(0.05)


class _Fake(StandIn):
    def routes(self) -> list[starlette.routing.BaseRoute]:
        async def answer(request: object) -> starlette.responses.Response:
            return starlette.responses.JSONResponse(
                {'line': 'INFO payment ok', 'id': 'abc', 'count': 3}
            )

        return [starlette.routing.Route('/x', answer)]


async def _get(fake: StandIn) -> bytes:
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://fake'
    ) as client:
        response = await client.get('/x')
    # A streamed (oversized) answer has no length; any other the right one.
    length = response.headers.get('content-length', str(len(response.content)))
    assert length == str(len(response.content))
    return response.content


@pytest.mark.parametrize(
    ('case', 'check'),
    [
        ('whitespace', lambda b: json.loads(b)['line'].startswith(' ' * 64)),
        ('control', lambda b: '\x1b' in json.loads(b)['line']),
        ('invalid_utf8', lambda b: b'\xff' in b and b'"abc"' in b),
        ('deep_json', lambda b: b'[[[[' in b and b'"abc"' in b),
        ('huge_number', lambda b: b'99999999' in b),
        (
            'oversized',
            lambda b: (
                len(json.loads(b)['imbi_hostile_padding']) == hostile.OVERSIZED
            ),
        ),
    ],
)
async def test_hostile_cases_rewrite_the_answer(
    case: str, check: object
) -> None:
    fake = _Fake()
    fake.inject(hostile.fault(case, 64))
    body = await _get(fake)
    assert check(body)  # type: ignore[operator]
    assert (
        b'"id": "abc"' in body
        or b'"id":"abc"' in body
        or case
        in (
            'invalid_utf8',
            'deep_json',
        )
    )


def _joined(body: bytes | collections.abc.Iterable[bytes]) -> bytes:
    assert not isinstance(body, bytes), 'an oversized answer is streamed'
    return b''.join(body)


async def test_answers_that_are_not_json_are_left_alone() -> None:
    prefixed = hostile.fault('whitespace').rewrite
    assert prefixed is not None
    assert prefixed(b'<html>') == b'<html>'
    padded = hostile.fault('oversized').rewrite
    assert padded is not None
    assert len(_joined(padded(b'[1]'))) == 3 + hostile.OVERSIZED
    assert len(_joined(padded(b'not json'))) == 8 + hostile.OVERSIZED
    grown = hostile.oversized(70_000).rewrite
    assert grown is not None
    assert json.loads(_joined(grown(b'{}'))) == {
        'imbi_hostile_padding': 'x' * 70_000
    }
