"""search(): requests, merging, conversion, paging, environments."""

import datetime
import json
import random
import typing

import pytest
from imbi_plugin_loki import results
from imbi_plugin_testing import Fault

if typing.TYPE_CHECKING:
    from conftest import Loki

SECOND = 1_000_000_000


async def test_request_and_conversion(loki: Loki) -> None:
    end = loki.now_ns
    loki.push([(end - 5 * SECOND + 123, 'older')], level='INFO')
    loki.push([(end - SECOND, 'newest')], level='Warning', pod='b')
    response = await loki.host().search(
        loki.query(limit=10), environments=['production']
    )
    assert response.status == 200, response.body
    entries = response.result.entries
    assert [e.message for e in entries] == ['newest', 'older']
    assert [e.level for e in entries] == ['warn', 'info']
    assert entries[1].timestamp == datetime.datetime(
        2026, 11, 25, 11, 59, 55, tzinfo=datetime.UTC
    )
    assert entries[1].timestamp.tzinfo is datetime.UTC
    assert entries[1].raw['timestamp_ns'] == str(end - 5 * SECOND + 123)
    assert entries[1].raw['line'] == 'older'
    assert entries[1].raw['labels'] == {
        'service_name': 'billing-api',
        'env': 'production',
        'level': 'INFO',
    }
    assert entries[0].raw['environment'] == 'production'
    assert response.result.next_cursor is None
    (params,) = loki.queries()
    assert params == {
        'query': '{service_name="billing-api"}',
        'start': str(end - 300 * SECOND),
        'end': str(end),
        'limit': '10',
        'direction': 'backward',
    }
    request = loki.fake.requests_to('/query_range$')[0]
    assert request.headers['x-scope-orgid'] == 'team-a'
    assert 'authorization' not in request.headers


async def test_end_is_excluded_and_start_included(loki: Loki) -> None:
    end = loki.now_ns
    start = end - 300 * SECOND
    loki.push([(end, 'at end'), (end - 1, 'just before'), (start, 'at start')])
    loki.push([(start - 1, 'before start')])
    response = await loki.host().search(loki.query())
    assert [e.message for e in response.result.entries] == [
        'just before',
        'at start',
    ]


async def test_equal_timestamps_are_ordered_deterministically(
    loki: Loki,
) -> None:
    ts = loki.now_ns - SECOND
    loki.push([(ts, 'z-line'), (ts, 'a-line')], pod='b')
    loki.push([(ts, 'm-line')], pod='a')
    response = await loki.host().search(loki.query())
    assert [e.message for e in response.result.entries] == [
        'm-line',
        'a-line',
        'z-line',
    ]


@pytest.mark.parametrize(
    ('line_format', 'lines', 'expected'),
    [
        (
            'json',
            ['{"message": "from json", "level": "ERROR"}', 'not json'],
            [('from json', 'error'), ('not json', None)],
        ),
        (
            'logfmt',
            ['level=warn message="from logfmt"', 'level=info msg=other'],
            [('from logfmt', 'warn'), ('level=info msg=other', 'info')],
        ),
        (
            'raw',
            ['{"message": "ignored"}'],
            [('{"message": "ignored"}', None)],
        ),
    ],
)
async def test_message_and_level_fields(
    loki: Loki,
    line_format: str,
    lines: list[str],
    expected: list[tuple[str, str | None]],
) -> None:
    loki.push(
        [(loki.now_ns - (i + 1) * SECOND, x) for i, x in enumerate(lines)]
    )
    response = await loki.host(line_format=line_format).search(loki.query())
    assert response.status == 200, response.body
    assert [(e.message, e.level) for e in response.result.entries] == expected


async def test_custom_message_and_level_fields(loki: Loki) -> None:
    line = json.dumps({'msg': 'custom', 'log': {'severity': 'CRIT'}})
    loki.push([(loki.now_ns - SECOND, line)])
    host = loki.host(
        line_format='json', message_field='msg', level_field='log.severity'
    )
    response = await host.search(loki.query(levels=['fatal']))
    (entry,) = response.result.entries
    assert (entry.message, entry.level) == ('custom', 'critical')
    assert entry.raw['labels']['log_severity'] == 'CRIT'
    assert loki.queries()[0]['query'].endswith(
        '| json | log_severity=~"(?i)'
        '(?:alert|crit|critical|emerg|fatal|panic)"'
    )


LINES: list[dict[str, typing.Any]] = [
    {'message': 'GET /health', 'status': '200', 'user': 'admin'},
    {'message': 'POST /api/v1/pay', 'status': '500', 'user': 'madmax'},
    {'message': 'a.b literal', 'status': '404', 'user': 'bob'},
    {'message': '[WARN] disk', 'status': '200', 'http': {'method': 'PUT'}},
    {'message': 'say "hi"\nsecond line', 'status': '201', 'user': 'adm'},
]


def _index(message: str) -> int:
    return next(i for i, f in enumerate(LINES) if f['message'] == message)


@pytest.mark.parametrize(
    ('spec', 'expected'),
    [
        ('message:eq:GET /health', [0]),
        ('message:ne:GET /health', [1, 2, 3, 4]),
        ('message:contains:/api/', [1]),
        ('message:contains:say "hi"', [4]),
        ('message:contains:hi"\nsecond', [4]),
        ('message:starts_with:[WARN]', [3]),
        ('message:starts_with:WARN', []),
        ('message:regex:(GET|POST) /', [0, 1]),
        ('message:regex:^second', []),
        ('message:eq:a.b literal', [2]),
        ('message:eq:axb literal', []),
    ],
)
async def test_message_filters_evaluated_by_loki(
    loki: Loki, spec: str, expected: list[int]
) -> None:
    """The generated line filters select what the operator means, on a
    real evaluator (RE2, unanchored unless the filter anchors)."""
    loki.push(
        [
            (loki.now_ns - (i + 1) * SECOND, f['message'])
            for i, f in enumerate(LINES)
        ]
    )
    spec = spec.replace('\\n', '\n')
    response = await loki.host().search(loki.query(filters=[spec]))
    assert response.status == 200, response.body
    got = sorted(_index(e.message) for e in response.result.entries)
    assert got == expected


@pytest.mark.parametrize(
    ('spec', 'expected'),
    [
        ('status:eq:200', [0, 3]),
        ('status:ne:200', [1, 2, 4]),
        ('status:contains:0', [0, 1, 2, 3, 4]),
        ('status:starts_with:2', [0, 3, 4]),
        ('user:contains:adm', [0, 1, 4]),
        ('user:starts_with:adm', [0, 4]),
        ('user:regex:dm', [0, 1, 4]),
        ('user:regex:^adm', [0, 4]),
        ('user:regex:^adm$', [4]),
        ('user:eq:', [3]),
        ('http.method:eq:PUT', [3]),
    ],
)
@pytest.mark.parametrize('line_format', ['json', 'logfmt'])
async def test_field_filters_evaluated_by_loki(
    loki: Loki, line_format: str, spec: str, expected: list[int]
) -> None:
    """Label filters after the parser: Loki anchors label regexes, the
    plugin's contains/starts_with/regex still mean what they say."""
    entries = []
    for index, fields in enumerate(LINES):
        if line_format == 'json':
            line = json.dumps(fields)
        else:
            flat = dict(fields)
            if 'http' in flat:
                flat['http.method'] = flat.pop('http')['method']
            line = ' '.join(f'{k}={json.dumps(v)}' for k, v in flat.items())
        entries.append((loki.now_ns - (index + 1) * SECOND, line))
    loki.push(entries)
    response = await loki.host(line_format=line_format).search(
        loki.query(filters=[spec])
    )
    assert response.status == 200, response.body
    got = sorted(_index(e.message) for e in response.result.entries)
    assert got == expected


async def test_levels_are_case_insensitive_with_synonyms(loki: Loki) -> None:
    levels = ['WARNING', 'warn', 'Error', 'info', 'FATAL', 'err', 'Crit']
    for index, level in enumerate(levels):
        loki.push([(loki.now_ns - (index + 1) * SECOND, level)], level=level)

    async def search(*wanted: str) -> list[str]:
        response = await loki.host().search(loki.query(levels=list(wanted)))
        return sorted(e.message for e in response.result.entries)

    assert await search('warn') == ['WARNING', 'warn']
    assert await search('ERROR') == ['Error', 'err']
    assert await search('critical') == ['Crit', 'FATAL']
    assert await search('info', 'warning') == ['WARNING', 'info', 'warn']


def _page_all(loki: Loki, limit: int) -> typing.Any:
    async def run() -> tuple[list[tuple[int, str]], int]:
        host = loki.host()
        query = loki.query(limit=limit)
        seen: list[tuple[int, str]] = []
        pages = 0
        while True:
            response = await host.search(query)
            assert response.status == 200, response.body
            pages += 1
            for entry in response.result.entries:
                seen.append((int(entry.raw['timestamp_ns']), entry.message))
            if response.result.next_cursor is None:
                return seen, pages
            query = query.model_copy(
                update={'cursor': response.result.next_cursor}
            )

    return run()


async def test_paging_10000_entries_with_shared_nanoseconds(
    loki: Loki,
) -> None:
    """Every entry exactly once, newest first, through 50 streams where
    many entries share a nanosecond (groups up to 3x the page size)."""
    rng = random.Random(5)
    sizes = [1, 1, 2, 3, 7, 37, 99, 100, 101, 250, 333]
    expected: list[tuple[int, str]] = []
    ts = loki.now_ns - 1
    while len(expected) < 10_000:
        size = min(rng.choice(sizes), 10_000 - len(expected))
        expected.extend((ts, f'line-{len(expected) + i}') for i in range(size))
        ts -= rng.choice([1, 1_000, 1_000_000])
    by_stream: dict[int, list[tuple[int, str]]] = {}
    for index, entry in enumerate(expected):
        by_stream.setdefault(index % 50, []).append(entry)
    for number, entries in by_stream.items():
        loki.push(entries, pod=f'pod-{number:02d}')

    got, pages = await _page_all(loki, 100)

    assert len(got) == 10_000
    assert sorted(got) == sorted(expected)
    assert [ts for ts, _ in got] == sorted((ts for ts, _ in got), reverse=True)
    assert pages >= 100
    limits = [int(q['limit']) for q in loki.queries()]
    assert limits[0] == 100
    # After a page ending inside a crowded nanosecond, more is asked for.
    assert max(limits) > 100


async def test_paging_past_more_than_the_entry_limit_in_one_nanosecond(
    loki: Loki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results, 'MAX_ENTRIES', 30)
    loki.fake.max_entries = 30
    crowded = loki.now_ns - SECOND
    loki.push([(crowded, f'same-{i:02d}') for i in range(45)])
    loki.push([(crowded - 1, 'after')])
    host = loki.host()
    query = loki.query(limit=10)
    messages: list[str] = []
    warnings: list[str] = []
    for _ in range(10):
        response = await host.search(query)
        assert response.status == 200, response.body
        messages.extend(e.message for e in response.result.entries)
        warnings.extend(response.result.warnings)
        if response.result.next_cursor is None:
            break
        query = query.model_copy(
            update={'cursor': response.result.next_cursor}
        )
    assert messages[-1] == 'after'
    assert len(set(messages)) == len(messages)
    assert len(warnings) == 1
    assert 'More than 30 entries share the timestamp' in warnings[0]


async def test_multi_environment_search_through_host(loki: Loki) -> None:
    for offset, env in enumerate(['production', 'staging']):
        loki.push(
            [
                (loki.now_ns - (2 * i + offset + 1) * SECOND, f'{env}-{i}')
                for i in range(5)
            ],
            env=env,
        )
    host = loki.host(
        selector_template=(
            '{service_name="${project_slug}", env="${environment}"}'
        )
    )
    response = await host.search(
        loki.query(limit=6), environments=['production', 'staging']
    )
    assert response.status == 200, response.body
    result = response.result
    assert [e.message for e in result.entries] == [
        'production-0',
        'staging-0',
        'production-1',
        'staging-1',
        'production-2',
        'staging-2',
    ]
    assert [e.raw['environment'] for e in result.entries][:2] == [
        'production',
        'staging',
    ]
    assert result.next_cursor is None
    queries = sorted(q['query'] for q in loki.queries())
    assert queries == [
        '{service_name="billing-api", env="production"}',
        '{service_name="billing-api", env="staging"}',
    ]


async def test_multi_environment_failure_becomes_a_warning(
    loki: Loki,
) -> None:
    loki.push([(loki.now_ns - SECOND, 'line')])
    loki.fake.inject(Fault(path='query_range', status=403, body='denied'))
    response = await loki.host().search(
        loki.query(), environments=['production', 'staging']
    )
    assert response.status == 200
    (warning,) = response.result.warnings
    failed = warning.split("'")[1]
    assert failed in ('production', 'staging')
    assert warning.startswith(f"Search for environment '{failed}' failed: ")
    assert 'Loki refused the credentials (HTTP 403: denied)' in warning
    assert {e.raw['environment'] for e in response.result.entries} == (
        {'production', 'staging'} - {failed}
    )


async def test_multi_tenant_query(loki: Loki) -> None:
    loki.push([(loki.now_ns - SECOND, 'from a')], tenant='a')
    loki.push([(loki.now_ns - 2 * SECOND, 'from b')], tenant='b')
    response = await loki.host(tenant='a|b').search(loki.query())
    assert [
        (e.message, e.raw['labels']['__tenant_id__'])
        for e in response.result.entries
    ] == [('from a', 'a'), ('from b', 'b')]


@pytest.mark.parametrize(
    ('options', 'query', 'reason'),
    [
        ({}, {'filters': ['message:regex:(?!x)']}, 'lookaround'),
        ({}, {'filters': ['bad\nfield:eq:x']}, 'not a field name'),
        ({}, {'levels': ['']}, 'empty level'),
        (
            {},
            {'start': datetime.datetime(2026, 11, 25, 12, 0)},
            'start time must be before the end time',
        ),
        ({'selector_template': '{a=~".*"}'}, {}, 'empty value'),
        ({'line_format': 'xml'}, {}, 'line_format'),
        ({'timeout_seconds': 'soon'}, {}, 'timeout_seconds'),
        ({'url': None}, {}, "'url' is required"),
    ],
)
async def test_invalid_input_makes_no_request(
    loki: Loki,
    options: dict[str, typing.Any],
    query: dict[str, typing.Any],
    reason: str,
) -> None:
    response = await loki.host(**options).search(loki.query(**query))
    assert response.status == 500
    assert isinstance(response.error, ValueError)
    assert reason in str(response.error)
    assert loki.fake.requests == []


@pytest.mark.parametrize(
    ('template', 'reason'),
    [
        ('{app="${password}"}', 'Unknown template variable ${password}'),
        ('{a="b"} |= "x"', 'unexpected text after the selector'),
        ('{a=~".*"}', 'excludes the empty value'),
        ('{app=~"(?=${project_slug})"}', 'no lookaround'),
    ],
)
@pytest.mark.parametrize('method', ['search', 'histogram', 'schema'])
async def test_bad_selector_template_names_the_option(
    loki: Loki, template: str, reason: str, method: str
) -> None:
    # Found by the cross-package bad-input matrix: an unknown variable
    # said nothing of which option held it.
    host = loki.host(selector_template=template)
    if method == 'schema':
        response = await host.schema()
    else:
        response = await getattr(host, method)(loki.query())
    assert isinstance(response.error, ValueError)
    assert str(response.error).startswith("option 'selector_template': ")
    assert reason in str(response.error)
    assert loki.fake.requests == []


async def test_limit_outside_loki_range_is_rejected(loki: Loki) -> None:
    query = loki.query().model_copy(update={'limit': 5001})
    response = await loki.host().search(query)
    assert isinstance(response.error, ValueError)
    assert loki.fake.requests == []


@pytest.mark.parametrize('line_format', ['json', 'logfmt'])
@pytest.mark.parametrize(
    ('spec', 'expected'),
    [
        ('message:eq:payment failed', ['payment failed']),
        ('message:contains:say "hi"', ['say "hi"']),
        ('message:starts_with:pay', ['payment failed']),
        ('message:regex:^say', ['say "hi"']),
        ('message:ne:payment failed', ['say "hi"']),
    ],
)
async def test_message_filters_match_the_shown_message(
    loki: Loki, line_format: str, spec: str, expected: list[str]
) -> None:
    """With a parser, message filters look at message_field, the text
    shown as the entry's message, not at the raw line."""
    rows = [
        {'ts': '2026-11-25T11:59:58Z', 'message': 'payment failed'},
        {'ts': '2026-11-25T11:59:59Z', 'message': 'say "hi"'},
    ]
    lines = [
        json.dumps(r)
        if line_format == 'json'
        else ' '.join(f'{k}={json.dumps(v)}' for k, v in r.items())
        for r in rows
    ]
    loki.push(
        [(loki.now_ns - (i + 1) * SECOND, x) for i, x in enumerate(lines)]
    )
    response = await loki.host(line_format=line_format).search(
        loki.query(filters=[spec])
    )
    assert response.status == 200, response.body
    assert [e.message for e in response.result.entries] == expected


async def test_json_field_names_with_dashes_are_filterable(loki: Loki) -> None:
    loki.push(
        [
            (loki.now_ns - SECOND, json.dumps({'user-agent': 'curl/8'})),
            (loki.now_ns - 2 * SECOND, json.dumps({'user-agent': 'wget'})),
        ]
    )
    response = await loki.host(line_format='json').search(
        loki.query(filters=['user-agent:eq:curl/8'])
    )
    assert response.status == 200, response.body
    (entry,) = response.result.entries
    assert entry.raw['labels']['user_agent'] == 'curl/8'


async def test_pipeline_option_narrows_every_query(loki: Loki) -> None:
    loki.push(
        [
            (loki.now_ns - SECOND, 'GET /healthcheck'),
            (loki.now_ns - 2 * SECOND, 'GET /pay'),
        ]
    )
    host = loki.host(pipeline='!= "healthcheck"')
    response = await host.search(loki.query())
    assert [e.message for e in response.result.entries] == ['GET /pay']
    assert loki.queries()[0]['query'] == (
        '{service_name="billing-api"} != "healthcheck"'
    )


async def test_no_environment_searches_every_environment(
    loki: Loki,
) -> None:
    """The host passes ctx.environment None when the request names no
    environment: matchers using ${environment} are dropped, not sent as
    env="" (which matches nothing, silently)."""
    loki.push([(loki.now_ns - SECOND, 'from production')], env='production')
    loki.push([(loki.now_ns - 2 * SECOND, 'from staging')], env='staging')
    host = loki.host(
        selector_template=(
            '{service_name="${project_slug}", env="${environment}", '
            'tier=~".*${environment}.*"}'
        )
    )
    response = await host.search(loki.query())
    assert response.status == 200, response.body
    assert [e.message for e in response.result.entries] == [
        'from production',
        'from staging',
    ]
    assert 'environment' not in response.result.entries[0].raw
    assert loki.queries()[-1]['query'] == '{service_name="billing-api"}'
    histogram = await host.histogram(loki.query(), bucket_count=1)
    assert histogram.status == 200, histogram.body
    assert sum(b.count for b in histogram.result) == 2
    schema = await host.schema()
    assert schema.status == 200, schema.body


async def test_no_environment_and_only_environment_matchers(
    loki: Loki,
) -> None:
    host = loki.host(selector_template='{env="${environment}"}')
    response = await host.search(loki.query())
    assert response.status == 500
    assert isinstance(response.error, ValueError)
    assert 'choose an environment' in str(response.error)
    assert loki.fake.requests == []
