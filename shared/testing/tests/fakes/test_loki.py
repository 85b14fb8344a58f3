"""The Loki stand-in: API shapes, errors, and its LogQL evaluator."""

import json
import typing

import httpx
import pytest
from imbi_plugin_testing.fakes.loki import (
    LokiFake,
    parse_duration,
    parse_query,
    parse_time,
)

S = 1_000_000_000
T0 = 1_795_600_000 * S
HEADERS = {'X-Scope-OrgID': 'acme'}


@pytest.fixture
def fake() -> LokiFake:
    loki = LokiFake()
    loki.now_ns = T0 + 3600 * S
    loki.push(
        {'app': 'billing', 'level': 'info'},
        [(T0 + i * S, f'info {i}') for i in range(5)],
        tenant='acme',
    )
    loki.push(
        {'app': 'billing', 'level': 'error'},
        [(T0 + 2 * S, 'error 2'), (T0 + 2 * S, 'error 2'), (T0 + 7 * S, 'x')],
        tenant='acme',
    )
    loki.push({'app': 'other'}, [(T0, 'other')], tenant='acme')
    return loki


async def _get(
    loki: LokiFake,
    path: str,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=loki.transport(), base_url='http://loki'
    ) as client:
        return await client.get(
            path,
            params=params or {},
            headers=HEADERS if headers is None else headers,
        )


async def _range(loki: LokiFake, **params: str) -> httpx.Response:
    params.setdefault('start', str(T0))
    params.setdefault('end', str(T0 + 60 * S))
    return await _get(loki, '/loki/api/v1/query_range', params)


def _lines(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body['status'] == 'success'
    assert body['data']['resultType'] == 'streams'
    values = [v for s in body['data']['result'] for v in s['values']]
    values.sort(key=lambda v: (-int(v[0]), v[1]))
    return [v[1] for v in values]


async def test_streams_answer_shape(fake: LokiFake) -> None:
    response = await _range(fake, query='{app="billing"}', limit='3')
    body = response.json()
    assert response.headers['content-type'] == 'application/json'
    streams = body['data']['result']
    assert {json.dumps(s['stream'], sort_keys=True) for s in streams} == {
        '{"app": "billing", "level": "error"}',
        '{"app": "billing", "level": "info"}',
    }
    assert _lines(response) == ['x', 'info 4', 'info 3']
    for stream in streams:
        stamps = [int(ts) for ts, _ in stream['values']]
        assert stamps == sorted(stamps, reverse=True)
    assert body['data']['stats']['summary']['totalEntriesReturned'] == 3


async def test_forward_start_inclusive_end_exclusive(fake: LokiFake) -> None:
    response = await _range(
        fake,
        query='{app="billing"}',
        start=str(T0 + 2 * S),
        end=str(T0 + 4 * S),
        direction='FORWARD',
    )
    body = response.json()
    values = [v for s in body['data']['result'] for v in s['values']]
    assert sorted(v[1] for v in values) == ['error 2', 'info 2', 'info 3']
    for stream in body['data']['result']:
        stamps = [int(ts) for ts, _ in stream['values']]
        assert stamps == sorted(stamps)


async def test_identical_entries_are_stored_once(fake: LokiFake) -> None:
    response = await _range(fake, query='{level="error"}')
    assert _lines(response) == ['x', 'error 2']


@pytest.mark.parametrize(
    ('params', 'message'),
    [
        (
            {'limit': '5001'},
            'max entries limit per query exceeded, limit > '
            'max_entries_limit_per_query (5001 > 5000)',
        ),
        ({'limit': '0'}, 'limit must be a positive value'),
        ({'limit': 'ten'}, 'invalid syntax'),
        ({'direction': 'sideways'}, "invalid direction 'sideways'"),
        (
            {'start': str(T0 + S), 'end': str(T0)},
            'end timestamp must not be before or equal to start time',
        ),
        (
            {'start': str(T0 - 31 * 24 * 3600 * S)},
            'the query time range exceeds the limit (query length: '
            '744h1m0s, limit: 30d1h)',
        ),
        ({'start': 'yesterday'}, 'cannot parse "yesterday"'),
        ({'query': '{app=~".*"}'}, 'queries require at least one regexp'),
        ({'query': '{app=~"(?=x)"}'}, 'error parsing regexp'),
        ({'query': ''}, 'syntax error: unexpected $end'),
        ({'query': '{app="x"} | regexp "(?P<a>.)"'}, 'syntax error'),
        ({'query': '{app="x"} | json a="b"'}, 'expecting PIPE'),
        ({'query': '{app="x"} | a="b" and c="d"'}, 'expecting PIPE'),
        ({'query': '{app="x"} | a > 5'}, "unexpected character '>'"),
        ({'query': '{app="x"} | a'}, 'a label filter operator'),
        ({'query': 'rate({app="x"}[1m])'}, 'parse error at line 1, col 1'),
        ({'query': 'sum(count_over_time({app="x"}[1m]))'}, 'expecting BY'),
        ({'query': '{app="x"} # comment'}, "unexpected character '#'"),
        ({'query': '{app="\\q"}'}, 'invalid syntax'),
        ({'query': '{app="x"'}, 'unexpected $end'),
        ({'query': '{app="x"} {b="c"}'}, 'expecting end of query'),
        ({'query': '{app}'}, 'expecting EQ or NEQ'),
        (
            {'query': 'sum by (level) (count_over_time({app="x"} [5q]))'},
            'not a valid duration string',
        ),
    ],
)
async def test_bad_requests_are_text_400s(
    fake: LokiFake, params: dict[str, str], message: str
) -> None:
    params.setdefault('query', '{app="billing"}')
    response = await _range(fake, **params)
    assert response.status_code == 400
    assert response.headers['content-type'].startswith('text/plain')
    assert message in response.text


async def test_tenant_is_required(fake: LokiFake) -> None:
    response = await _get(
        fake, '/loki/api/v1/query_range', {'query': '{app="x"}'}, headers={}
    )
    assert (response.status_code, response.text) == (401, 'no org id\n')
    fake.auth_enabled = False
    fake.push({'app': 'open'}, [(T0, 'no tenant')])
    response = await _get(
        fake,
        '/loki/api/v1/query_range',
        {'query': '{app="open"}', 'start': str(T0), 'end': str(T0 + S)},
        headers={},
    )
    assert _lines(response) == ['no tenant']


async def test_several_tenants_add_the_tenant_label(fake: LokiFake) -> None:
    fake.push({'app': 'billing'}, [(T0 + 3 * S, 'from b')], tenant='b')
    response = await _get(
        fake,
        '/loki/api/v1/query_range',
        {'query': '{app="billing", level!="info"}', 'start': str(T0)},
        headers={'X-Scope-OrgID': 'acme|b'},
    )
    tenants = {
        s['stream']['__tenant_id__'] for s in response.json()['data']['result']
    }
    assert tenants == {'acme', 'b'}


@pytest.mark.parametrize(
    ('authorization', 'status'),
    [
        ('Basic ' + 'dTE6cHc=', 200),  # u1:pw
        ('Basic ' + 'dTE6bm9wZQ==', 401),  # u1:nope
        ('Basic !!!', 401),
        ('Bearer tok-1', 200),
        ('Bearer tok-2', 401),
        ('', 401),
    ],
)
async def test_gateway_auth(
    fake: LokiFake, authorization: str, status: int
) -> None:
    fake.users = {'u1': 'pw'}
    fake.tokens = {'tok-1'}
    fake.push({'app': 'cloud'}, [(T0, 'cloud')], tenant='u1')
    headers = {'X-Scope-OrgID': 'acme'}
    if authorization:
        headers['Authorization'] = authorization
    response = await _get(
        fake,
        '/loki/api/v1/query_range',
        {'query': '{app=~"cloud|billing"}', 'start': str(T0), 'limit': '1'},
        headers=headers,
    )
    assert response.status_code == status, response.text
    if status == 200:
        # A basic-auth user is its own tenant, as on Grafana Cloud.
        expected = 'cloud' if authorization.startswith('Basic') else 'x'
        assert _lines(response) == [expected]


@pytest.mark.parametrize(
    ('query', 'expected'),
    [
        ('{app=~"bill"}', []),
        ('{app=~"bill.*", level="error"}', ['x', 'error 2']),
        ('{app="billing", level!~"info|debug"}', ['x', 'error 2']),
        ('{app!="billing", app=~".+"}', ['other']),
        (
            '{app="billing"} |= "info" != "3" |~ "[0-2]" !~ "^info 0$"',
            ['info 2', 'info 1'],
        ),
        (
            '{app="billing"} |~ `o \\d`',
            ['info 4', 'info 3', 'info 2', 'info 1', 'info 0'],
        ),
        ('{app="billing"} | level="error" | level=~"err.*"', ['x', 'error 2']),
        ('{app="billing"} | level=~"rr"', []),
        ('{app="billing"} | level=="info" |= "4"', ['info 4']),
    ],
)
async def test_selectors_and_filters(
    fake: LokiFake, query: str, expected: list[str]
) -> None:
    response = await _range(fake, query=query)
    assert _lines(response) == expected


async def test_json_parser(fake: LokiFake) -> None:
    lines = [
        json.dumps(
            {
                'level': 'warn',
                'app': 'shadowed',
                'http': {'method': 'GET', 'status': 404},
                'user.name': 'ann',
                'ok': True,
                'tags': ['a'],
                'none': None,
                'ratio': 0.5,
            }
        ),
        '[1, 2]',
        'plain text',
    ]
    fake.push(
        {'app': 'j'}, [(T0 + i * S, line) for i, line in enumerate(lines)]
    )
    fake.now_ns = None
    response = await _get(
        fake,
        '/loki/api/v1/query_range',
        {
            'query': '{app="j"} | json',
            'start': str(T0),
            'end': str(T0 + 9 * S),
        },
        headers={'X-Scope-OrgID': 'fake'},
    )
    streams = [s['stream'] for s in response.json()['data']['result']]
    parsed = next(s for s in streams if 'level' in s)
    assert parsed == {
        'app': 'j',
        'app_extracted': 'shadowed',
        'level': 'warn',
        'http_method': 'GET',
        'http_status': '404',
        'user_name': 'ann',
        'ok': 'true',
        'ratio': '0.5',
    }
    (failed,) = [
        s
        for s in response.json()['data']['result']
        if s['stream'].get('__error__') == 'JSONParserErr'
    ]
    assert [v[1] for v in failed['values']] == ['plain text', '[1, 2]']


async def test_logfmt_parser(fake: LokiFake) -> None:
    lines = [
        'level=info msg="hello \\"world\\"" http.status=200 flag',
        'msg="unterminated',
        'a=1 =oops',
    ]
    fake.push(
        {'app': 'l'},
        [(T0 + i * S, line) for i, line in enumerate(lines)],
        tenant='acme',
    )
    response = await _range(fake, query='{app="l"} | logfmt | __error__=""')
    (stream,) = response.json()['data']['result']
    assert stream['stream'] == {
        'app': 'l',
        'level': 'info',
        'msg': 'hello "world"',
        'http_status': '200',
        'flag': '',
    }
    response = await _range(
        fake, query='{app="l"} | logfmt | __error__="LogfmtParserErr"'
    )
    assert len(_lines(response)) == 2


async def test_metric_query_at_loki_evaluation_points(fake: LokiFake) -> None:
    query = 'sum by (level) (count_over_time({app="billing"} [2s]))'
    response = await _range(
        fake, query=query, start=str(T0 + S), end=str(T0 + 7 * S), step='2'
    )
    assert response.status_code == 200, response.text
    data = response.json()['data']
    assert data['resultType'] == 'matrix'
    series = {s['metric']['level']: s['values'] for s in data['result']}
    seconds = T0 // S
    # points 1, 3, 5, 7 s; each counts (t - 2s, t]
    assert series == {
        'info': [
            [seconds + 1.0, '2'],
            [seconds + 3.0, '2'],
            [seconds + 5.0, '1'],
        ],
        'error': [[seconds + 3.0, '1'], [seconds + 7.0, '1']],
    }


async def test_metric_points_keep_milliseconds(fake: LokiFake) -> None:
    query = 'sum by (pod) (count_over_time({app="billing"} [1s]))'
    response = await _range(
        fake,
        query=query,
        start=str(T0 + S - 1),
        end=str(T0 + 3 * S),
        step='1s',
    )
    (series,) = response.json()['data']['result']
    assert series['metric'] == {}
    assert [v[0] for v in series['values']] == [
        (T0 // 1_000_000 + 999) / 1000,
        (T0 // 1_000_000 + 1999) / 1000,
        (T0 // 1_000_000 + 2999) / 1000,
    ]
    assert [v[1] for v in series['values']] == ['1', '1', '2']


@pytest.mark.parametrize(
    ('step', 'message'),
    [
        ('0', 'zero or negative query resolution step'),
        ('0.001', 'exceeded maximum resolution of 11,000 points'),
        ('soon', 'not a valid duration string'),
    ],
)
async def test_metric_step_errors(
    fake: LokiFake, step: str, message: str
) -> None:
    query = 'sum by (level) (count_over_time({app="billing"} [1m]))'
    response = await _range(fake, query=query, step=step)
    assert response.status_code == 400
    assert message in response.text


async def test_metric_default_step(fake: LokiFake) -> None:
    query = 'sum by (level, app) (count_over_time({app="billing"} [1h]))'
    response = await _range(fake, query=query, end=str(T0 + 1000 * S))
    values = response.json()['data']['result'][0]['values']
    assert values[1][0] - values[0][0] == 4.0


async def test_labels_and_values(fake: LokiFake) -> None:
    labels = await _get(
        fake, '/loki/api/v1/labels', {'query': '{app="billing"}'}
    )
    assert labels.json() == {'status': 'success', 'data': ['app', 'level']}
    values = await _get(fake, '/loki/api/v1/label/app/values')
    assert values.json()['data'] == ['billing', 'other']
    empty = await _get(
        fake,
        '/loki/api/v1/label/app/values',
        {'start': str(T0 + 100 * S), 'end': str(T0 + 200 * S)},
    )
    assert empty.json()['data'] == []
    bad = await _get(
        fake, '/loki/api/v1/labels', {'query': '{app="x"} |= "y"'}
    )
    assert bad.status_code == 400
    for path in ('/loki/api/v1/labels', '/loki/api/v1/label/app/values'):
        assert (await _get(fake, path, headers={})).status_code == 401
    bad_values = await _get(
        fake, '/loki/api/v1/label/app/values', {'query': '{'}
    )
    assert bad_values.status_code == 400


async def test_reset(fake: LokiFake) -> None:
    await _range(fake, query='{app="billing"}')
    fake.reset()
    assert fake.tenants == {}
    assert fake.requests == []


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('1795600000', T0),
        ('1795600000000000001', T0 + 1),
        ('1795600000.5', T0 + S // 2),
        ('2026-11-25T12:00:00Z', 1_795_608_000 * S),
        ('2026-11-25T13:00:00.000000001+01:00', 1_795_608_000 * S + 1),
        ('2026-11-25T11:00:00-01:00', 1_795_608_000 * S),
    ],
)
def test_parse_time(text: str, expected: int) -> None:
    assert parse_time(text) == expected


def test_parse_duration() -> None:
    assert parse_duration('1h30m') == 5400 * S
    assert parse_duration('250ms') == S // 4
    assert parse_duration('1.5s') == 3 * S // 2
    with pytest.raises(ValueError, match='empty'):
        parse_duration('')


def test_parse_query_shapes() -> None:
    metric = parse_query(
        'sum by (level) (count_over_time({a="b"} |= "x" | json [60s]))'
    )
    assert getattr(metric, 'range_ns') == 60 * S  # noqa: B009
    log = parse_query('{a="b\\x41\\101\\u00e9"}')
    matchers: list[typing.Any] = getattr(log, 'matchers')  # noqa: B009
    assert matchers[0].value == 'bAAé'


async def test_metric_offset_shifts_the_windows(fake: LokiFake) -> None:
    query = 'sum by (level) (count_over_time({app="billing"} [1s] offset 2s))'
    response = await _range(
        fake, query=query, start=str(T0 + 3 * S), end=str(T0 + 5 * S), step='1'
    )
    series = {
        s['metric']['level']: s['values']
        for s in response.json()['data']['result']
    }
    seconds = T0 // S
    # point 3 s counts (0, 1], 4 s counts (1, 2], 5 s counts (2, 3]
    assert series == {
        'info': [
            [seconds + 3.0, '1'],
            [seconds + 4.0, '1'],
            [seconds + 5.0, '1'],
        ],
        'error': [[seconds + 4.0, '1']],
    }


async def test_query_frontend_alignment(fake: LokiFake) -> None:
    fake.align_to_step = True
    query = 'sum by (level) (count_over_time({app="billing"} [2s]))'
    response = await _range(
        fake,
        query=query,
        start=str(T0 + S + 500_000_000),
        end=str(T0 + 3 * S + 1),
        step='2',
    )
    stamps = {
        v[0] for s in response.json()['data']['result'] for v in s['values']
    }
    assert stamps == {T0 // S + 0.0, T0 // S + 2.0, T0 // S + 4.0}


@pytest.mark.parametrize(
    'query',
    [
        'sum by (level) (count_over_time({app="x"} [1s] offset soon))',
        'sum by (level) (count_over_time({app="x"} [1s] offset 5q))',
    ],
)
async def test_bad_offsets(fake: LokiFake, query: str) -> None:
    response = await _range(fake, query=query)
    assert response.status_code == 400
    assert 'parse error at line 1' in response.text
