"""histogram(): deterministic buckets, exact edges, levels, summing."""

import datetime
import json
import typing

import pytest
from imbi_plugin_testing import make_context
from imbi_plugin_testing.generation import handler_under_test

if typing.TYPE_CHECKING:
    from conftest import Loki

SECOND = 1_000_000_000
START = datetime.datetime(2026, 11, 25, 11, 0, tzinfo=datetime.UTC)
START_NS = int(START.timestamp()) * SECOND


def _query(loki: Loki, minutes: int = 10, **fields: typing.Any) -> typing.Any:
    return loki.query(
        start=START, end=START + datetime.timedelta(minutes=minutes), **fields
    )


async def test_request_and_zero_filled_buckets(loki: Loki) -> None:
    response = await loki.host().histogram(_query(loki), bucket_count=10)
    assert response.status == 200, response.body
    buckets = response.result
    assert [b.timestamp for b in buckets] == [
        START + datetime.timedelta(minutes=k) for k in range(10)
    ]
    assert all(b.count == 0 and b.levels == {} for b in buckets)
    (params,) = loki.queries()
    # Points on multiples of the step; the offset moves each window
    # (t - 1ns - 60s, t - 1ns] onto [start + k*step, start + (k+1)*step).
    assert params == {
        'query': (
            'sum by (level) (count_over_time({service_name="billing-api"} '
            '[60s] offset 1ns))'
        ),
        'start': str(START_NS + 60 * SECOND),
        'end': str(START_NS + 660 * SECOND - 1),
        'step': '60',
    }


@pytest.mark.parametrize('frontend', [False, True])
@pytest.mark.parametrize('shift_us', [0, 7_123_456, 59_999_999])
async def test_an_entry_on_a_bucket_edge_lands_in_one_bucket(
    loki: Loki, frontend: bool, shift_us: int
) -> None:
    """Exact edges on a lone Loki and behind the query frontend, which
    rounds the range to multiples of the step, whatever the start."""
    loki.fake.align_to_step = frontend
    start = START + datetime.timedelta(microseconds=shift_us)
    first = START_NS + shift_us * 1000
    step = 60 * SECOND
    loki.push(
        [
            (first - 1, 'before the range'),
            (first, 'first instant of bucket 0'),
            (first + step - 1, 'last instant of bucket 0'),
            (first + step, 'first instant of bucket 1'),
            (first + 5 * step, 'first instant of bucket 5'),
            (first + 10 * step - 1, 'last instant of bucket 9'),
            (first + 10 * step, 'the end, excluded'),
        ]
    )
    query = loki.query(start=start, end=start + datetime.timedelta(minutes=10))
    response = await loki.host().histogram(query, bucket_count=10)
    assert response.status == 200, response.body
    assert [b.timestamp for b in response.result][:2] == [
        start,
        start + datetime.timedelta(minutes=1),
    ]
    counts = [b.count for b in response.result]
    assert counts == [2, 1, 0, 0, 0, 1, 0, 0, 0, 1]


@pytest.mark.parametrize(
    ('minutes', 'bucket_count', 'step_seconds'),
    [
        (5, 7, 43),  # ceil(300 / 7)
        (1, 120, 1),  # at least one second
        (60, 60, 60),
        (60 * 24, 1440, 60),
        (10, 1, 600),
    ],
)
async def test_step_is_whole_seconds_rounded_up(
    loki: Loki, minutes: int, bucket_count: int, step_seconds: int
) -> None:
    response = await loki.host().histogram(
        _query(loki, minutes), bucket_count=bucket_count
    )
    assert response.status == 200, response.body
    buckets = response.result
    assert len(buckets) == bucket_count
    step = datetime.timedelta(seconds=step_seconds)
    assert [b.timestamp for b in buckets] == [
        START + k * step for k in range(bucket_count)
    ]
    assert loki.queries()[0]['step'] == str(step_seconds)


async def test_levels_per_bucket(loki: Loki) -> None:
    minute = 60 * SECOND
    loki.push([(START_NS + 1, 'a'), (START_NS + 2, 'b')], level='ERROR')
    loki.push([(START_NS + 3, 'c')], level='error')
    loki.push([(START_NS + minute, 'd')], level='info')
    loki.push([(START_NS + minute + 1, 'e')])
    response = await loki.host().histogram(_query(loki, 2), bucket_count=2)
    first, second = response.result
    assert (first.count, first.levels) == (3, {'error': 3})
    assert (second.count, second.levels) == (2, {'info': 1})


async def test_filters_and_levels_as_in_search(loki: Loki) -> None:
    loki.push([(START_NS + 1, 'boom'), (START_NS + 2, 'fine')], level='warn')
    loki.push([(START_NS + 3, 'boom')], level='WARNING')
    loki.push([(START_NS + 4, 'boom')], level='error')
    query = _query(
        loki, 1, filters=['message:contains:boom'], levels=['warning']
    )
    # The v1 host builds histogram queries without levels; the plugin
    # honours them for hosts that pass them, so call it directly.
    host = loki.host()
    (bucket,) = await host.invoke(
        'histogram',
        ctx=host.context('logs'),
        credentials=host.credentials,
        query=query,
        bucket_count=1,
    )
    assert (bucket.count, bucket.levels) == (2, {'warn': 2})
    assert loki.queries()[0]['query'] == (
        'sum by (level) (count_over_time({service_name="billing-api"} '
        '|= "boom" | level=~"(?i)(?:warn|warning)" [60s] offset 1ns))'
    )


async def test_environments_are_summed_by_the_host(loki: Loki) -> None:
    loki.push([(START_NS + 1, 'p')], env='production', level='info')
    loki.push(
        [(START_NS + 2, 's'), (START_NS + 61 * SECOND, 't')],
        env='staging',
        level='info',
    )
    template = '{service_name="${project_slug}", env="${environment}"}'
    host = loki.host(selector_template=template)
    response = await host.histogram(
        _query(loki, 2), environments=['production', 'staging'], bucket_count=2
    )
    assert response.status == 200, response.body
    assert [(b.count, b.levels) for b in response.result] == [
        (2, {'info': 2}),
        (1, {'info': 1}),
    ]


@pytest.mark.parametrize('bucket_count', [0, 1441])
async def test_bucket_count_is_checked_before_any_request(
    loki: Loki, bucket_count: int
) -> None:
    ctx = make_context('logs', options=loki.options())
    handler = handler_under_test('imbi_plugin_loki')()
    with pytest.raises(ValueError, match='bucket_count'):
        await handler.histogram(ctx, {}, _query(loki), bucket_count)
    assert loki.fake.requests == []


async def test_json_lines_count_by_parsed_level(loki: Loki) -> None:
    loki.push(
        [
            (START_NS + 1, '{"level": "Error", "message": "x"}'),
            (START_NS + 2, 'not json'),
        ]
    )
    response = await loki.host(line_format='json').histogram(
        _query(loki, 1), bucket_count=1
    )
    assert response.status == 200, response.body
    (bucket,) = response.result
    # The line that is not JSON is left out: Loki refuses to count it.
    assert (bucket.count, bucket.levels) == (1, {'error': 1})
    (params,) = loki.queries()
    assert '| json | __error__="" [60s]' in params['query']


async def test_the_stand_in_refuses_metric_queries_with_parse_errors(
    loki: Loki,
) -> None:
    """As Loki: one unparsable line makes a metric query without an
    __error__ filter fail; with one, the line is skipped."""
    loki.push([(START_NS + 1, 'not json'), (START_NS + 2, '{"a": 1}')])
    query = '{service_name="billing-api"} | json'
    params = {
        'start': str(START_NS),
        'end': str(START_NS + 60 * SECOND),
        'step': '60',
    }

    async def ask(logql: str) -> typing.Any:
        import httpx

        async with httpx.AsyncClient(base_url=loki.url) as client:
            return await client.get(
                '/loki/api/v1/query_range',
                params={'query': logql, **params},
                headers={'X-Scope-OrgID': 'team-a'},
            )

    refused = await ask(f'sum by (level) (count_over_time({query} [60s]))')
    assert refused.status_code == 400
    assert "pipeline error: 'JSONParserErr'" in refused.text
    answered = await ask(
        f'sum by (level) (count_over_time({query} | __error__="" [60s]))'
    )
    assert answered.status_code == 200
    (series,) = answered.json()['data']['result']
    assert series['values'][-1][1] == '1'


@pytest.mark.parametrize('line_format', ['json', 'logfmt'])
async def test_levels_are_canonical_in_histogram_keys(
    loki: Loki, line_format: str
) -> None:
    spellings = ['WARNING', 'warn', 'Information', 'notice', 'dbg', 'panic']
    lines = [
        json.dumps({'level': s, 'message': 'x'})
        if line_format == 'json'
        else f'level={s} message=x'
        for s in spellings
    ]
    loki.push([(START_NS + i + 1, line) for i, line in enumerate(lines)])
    response = await loki.host(line_format=line_format).histogram(
        _query(loki, 1), bucket_count=1
    )
    (bucket,) = response.result
    assert bucket.levels == {'warn': 2, 'info': 2, 'debug': 1, 'critical': 1}
