"""Logs Insights: the query life cycle, the histogram and the schema."""

import asyncio
import datetime
import typing

import pytest
from imbi_plugin_cloudwatch import _host
from imbi_plugin_cloudwatch._host import (
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_testing import make_context

Env = typing.Any
#: Throttling after the retries: v3 hosts have PluginRateLimited.
RATE_LIMITED = _host.optional('PluginRateLimited') or PluginUnavailableError


async def test_polls_until_complete(cw: Env) -> None:
    cw.fake.polls_scheduled = 2
    cw.fake.polls_running = 2
    cw.put(5, 'ERROR late')
    response = await cw.host().search(cw.query(levels=['error']))
    assert response.status == 200
    assert [e['message'] for e in response.body['entries']] == ['ERROR late']
    assert cw.fake.operations() == ['StartQuery'] + ['GetQueryResults'] * 5


@pytest.mark.parametrize('outcome', ['Failed', 'Cancelled', 'Timeout'])
async def test_failed_queries_are_unavailable(cw: Env, outcome: str) -> None:
    cw.fake.query_outcome = outcome
    response = await cw.host().search(cw.query(levels=['error']))
    assert response.status == 500
    assert isinstance(response.error, PluginUnavailableError)
    assert outcome in response.detail
    assert 'StopQuery' not in cw.fake.operations()


async def test_limit_exceeded_is_retried_once(cw: Env) -> None:
    cw.fake.fail_next('StartQuery', 'LimitExceededException', 'too many')
    ok = await cw.host().search(cw.query(levels=['error']))
    assert ok.status == 200
    assert cw.fake.operations().count('StartQuery') == 2
    cw.fake.requests.clear()
    cw.fake.fail_next(
        'StartQuery', 'LimitExceededException', 'too many', times=2
    )
    failed = await cw.host().search(cw.query(levels=['error']))
    assert isinstance(failed.error, RATE_LIMITED)
    assert 'limit exceeded' in failed.detail
    assert cw.fake.operations() == ['StartQuery', 'StartQuery']


async def test_concurrency_limit_of_the_stand_in(cw: Env) -> None:
    cw.fake.max_concurrent_queries = 0
    failed = await cw.host().search(cw.query(levels=['error']))
    assert isinstance(failed.error, RATE_LIMITED)
    assert cw.fake.operations() == ['StartQuery', 'StartQuery']


async def test_malformed_query_is_value_error(cw: Env) -> None:
    cw.fake.fail_next(
        'StartQuery',
        'MalformedQueryException',
        'unexpected symbol found at line 1',
    )
    response = await cw.host().search(cw.query(levels=['error']))
    assert isinstance(response.error, ValueError)
    assert 'unexpected symbol found at line 1' in response.detail


async def test_stop_query_when_the_host_cancels(cw: Env) -> None:
    cw.fake.polls_running = 10**6
    host = cw.host()
    host.timeout = 0.5
    response = await host.search(cw.query(levels=['error']))
    assert response.status == 503
    assert response.headers == {'Retry-After': '5'}
    # StopQuery is awaited (shielded) before the cancellation completes;
    # on a loaded machine it may still be on its way.
    (query,) = cw.fake.queries.values()
    for _ in range(100):
        if query.status == 'Cancelled':
            break
        await asyncio.sleep(0.02)
    assert query.status == 'Cancelled'
    assert cw.fake.operations()[-1] == 'StopQuery'


async def test_stop_query_when_the_budget_runs_out(cw: Env) -> None:
    cw.fake.polls_running = 10**6
    response = await cw.host(timeout_seconds=1).search(
        cw.query(levels=['error'])
    )
    assert isinstance(response.error, PluginTimeoutError)
    assert response.elapsed < 2.0
    (query,) = cw.fake.queries.values()
    assert query.status == 'Cancelled'


async def test_stop_query_when_polling_fails(cw: Env) -> None:
    cw.fake.polls_running = 5
    cw.fake.fail_next(
        'GetQueryResults', 'ServiceUnavailableException', status=500, times=3
    )
    response = await cw.host().search(cw.query(levels=['error']))
    assert isinstance(response.error, PluginUnavailableError)
    assert cw.fake.operations()[-1] == 'StopQuery'


async def test_stop_query_failure_is_quiet(cw: Env) -> None:
    cw.fake.polls_running = 10**6
    cw.fake.fail_next('StopQuery', 'ServiceUnavailableException', status=500)
    response = await cw.host(timeout_seconds=1).search(
        cw.query(levels=['error'])
    )
    assert isinstance(response.error, PluginTimeoutError)
    assert cw.fake.operations()[-1] == 'StopQuery'


@pytest.mark.parametrize('shift_ms', [0, 7_500, 59_999])
async def test_histogram_buckets(cw: Env, shift_ms: int) -> None:
    """Exactly bucket_count buckets on start + k*step covering
    [start, end), whatever the start's alignment (Insights' bin() is
    epoch-aligned, so it is not used)."""
    end = cw.end - datetime.timedelta(milliseconds=shift_ms)
    start = end - datetime.timedelta(minutes=10)
    start_ms = int(start.timestamp() * 1000)
    end_ms = int(end.timestamp() * 1000)
    minute = 60_000

    def put(ms: int, message: str) -> None:
        cw.fake.put(cw.group, 'web-1', ms, message)

    put(start_ms - 1, 'ERROR before the range')
    put(start_ms, 'ERROR first instant')
    put(start_ms + minute - 1, '[warn] last instant of bucket 0')
    put(start_ms + minute, 'INFO first instant of bucket 1')
    put(end_ms - 1, 'no level here, last instant')
    put(end_ms, 'ERROR at end, excluded')
    host = cw.host()
    response = await host.histogram(
        cw.query(start=start, end=end), bucket_count=10
    )
    assert response.status == 200, response.body
    buckets = response.result
    assert [b.timestamp for b in buckets] == [
        start + datetime.timedelta(minutes=k) for k in range(10)
    ]
    assert [b.count for b in buckets] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert buckets[0].levels == {'error': 1, 'warn': 1}
    assert buckets[1].levels == {'info': 1}
    assert buckets[9].levels == {}


async def test_histogram_step_rounds_up_to_whole_seconds(cw: Env) -> None:
    start = cw.end - datetime.timedelta(seconds=100)
    start_ms = int(start.timestamp() * 1000)
    cw.fake.put(cw.group, 'web-1', start_ms + 2_999, 'ERROR bucket 0')
    cw.fake.put(cw.group, 'web-1', start_ms + 3_000, 'ERROR bucket 1')
    response = await cw.host().histogram(
        cw.query(start=start, end=cw.end), bucket_count=40
    )
    buckets = response.result
    assert len(buckets) == 40
    assert buckets[1].timestamp - buckets[0].timestamp == (
        datetime.timedelta(seconds=3)
    )
    assert [b.count for b in buckets[:2]] == [1, 1]


async def test_histogram_filters_levels_and_json(cw: Env) -> None:
    cw.put(50, {'level': 'ERROR', 'path': '/v1/a'})
    cw.put(40, {'level': 'error', 'path': '/v2/a'})
    cw.put(30, {'level': 'Warning', 'path': '/v1/b'})
    host = cw.host(message_format='json')
    response = await host.histogram(
        cw.query(filters=['path:starts_with:/v1'], levels=['error', 'warn']),
        bucket_count=3,
    )
    totals: dict[str, int] = {}
    for bucket in response.result:
        for level, count in bucket.levels.items():
            totals[level] = totals.get(level, 0) + count
    assert totals == {'error': 1, 'warn': 1}
    assert len(response.result) == 3


async def test_histogram_rejects_bad_input_without_a_call(cw: Env) -> None:
    instance = cw.host().handler()
    ctx = make_context('logs', options=cw.options())
    with pytest.raises(ValueError, match='bucket_count'):
        await instance.histogram(
            ctx, cw.credentials(), cw.query(), bucket_count=0
        )
    with pytest.raises(ValueError, match='regular expression'):
        await instance.histogram(
            ctx, cw.credentials(), cw.query(filters=['message:regex:[']), 5
        )
    assert cw.fake.requests == []


async def test_schema(cw: Env) -> None:
    now = datetime.datetime.now(datetime.UTC)
    cw.fake.put(cw.group, 'web-1', now, {'level': 'info', 'user': {'id': 1}})
    text = await cw.host().schema()
    assert text.status == 200
    names = [f['name'] for f in text.body]
    assert names[:3] == ['@timestamp', '@message', '@logStream']
    for field in text.body:
        assert {'name', 'label', 'kind', 'ops'} <= set(field)
    by_name = {f['name']: f for f in text.body}
    assert by_name['@message']['kind'] == 'message'
    assert by_name['@logStream']['label'] == 'Log stream'
    assert by_name['user.id']['ops'] == []  # text mode: not filterable
    json_mode = await cw.host(message_format='json').schema()
    fields = {f['name']: f for f in json_mode.body}
    assert fields['user.id']['ops'] == [
        'eq',
        'ne',
        'contains',
        'starts_with',
        'regex',
    ]
    assert fields['user.id']['label'] == 'User id'
    assert fields['user.id']['kind'] == 'field'
    assert fields['@ingestionTime']['ops'] == []
    assert cw.fake.operations() == ['GetLogGroupFields'] * 2


async def test_schema_of_a_missing_group(cw: Env) -> None:
    response = await cw.host(log_group_template='/nope').schema()
    assert isinstance(response.error, ValueError)
    assert "'/nope' does not exist" in response.detail
