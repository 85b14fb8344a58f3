"""search through the Host: both query paths, paging and cursors."""

import datetime
import time
import typing

import pytest
from imbi_plugin_cloudwatch._host import CursorExpiredError
from imbi_plugin_testing import Host

Env = typing.Any


def _start_from_head_in_model() -> bool:
    """False on the boto3-floor compat run: searches go to Insights."""
    from imbi_plugin_cloudwatch import client

    return client.filter_sorts_newest_first()


@pytest.mark.filter_log_events
async def test_filter_path_newest_first_with_raw(cw: Env) -> None:
    for index in range(10):
        cw.put(60 - index, f'INFO request {index} done')
    response = await cw.host().search(
        cw.query(filters=['message:contains:request'], limit=3),
        environments=['production'],
    )
    assert response.status == 200
    entries = response.body['entries']
    assert [e['message'] for e in entries] == [
        'INFO request 9 done',
        'INFO request 8 done',
        'INFO request 7 done',
    ]
    assert entries[0]['level'] == 'info'
    raw = entries[0]['raw']
    assert raw['log_stream'] == 'web-1'
    assert raw['event_id'].isdigit()
    assert raw['ingestion_time'].endswith('+00:00')
    assert raw['environment'] == 'production'
    assert response.body['next_cursor']
    assert cw.fake.operations() == ['FilterLogEvents']
    body = cw.fake.requests[0].body.decode()
    assert '"filterPattern": "\\"request\\""' in body
    assert '"startFromHead": false' in body


async def test_insights_path_for_levels(cw: Env) -> None:
    cw.put(30, 'ERROR payment failed')
    cw.put(20, '[warn] slow')
    cw.put(10, 'level=info ok')
    cw.put(5, 'Errors are fine')
    response = await cw.host().search(cw.query(levels=['error', 'WARNING']))
    assert response.status == 200
    assert [(e['message'], e['level']) for e in response.body['entries']] == [
        ('[warn] slow', 'warn'),
        ('ERROR payment failed', 'error'),
    ]
    raw = response.body['entries'][0]['raw']
    assert raw['ptr']
    assert raw['log_stream'] == 'web-1'
    assert raw['ingestion_time'].endswith('+00:00')
    assert response.body['next_cursor'] is None
    assert cw.fake.operations()[0] == 'StartQuery'
    assert cw.fake.operations()[-1] == 'GetQueryResults'


@pytest.mark.filter_log_events
async def test_json_mode_fields_and_message(cw: Env) -> None:
    cw.put(3, {'level': 'ERROR', 'msg': 'boom', 'user': {'id': 42}})
    cw.put(2, {'level': 'info', 'msg': 'ok', 'user': {'id': 7}})
    cw.put(1, 'not json at all')
    host = cw.host(message_format='json', message_field='msg')
    response = await host.search(cw.query(filters=['user.id:eq:42']))
    assert response.status == 200
    (entry,) = response.body['entries']
    assert entry['message'] == 'boom'
    assert entry['level'] == 'error'
    assert entry['raw']['fields']['user'] == {'id': 42}
    assert cw.fake.operations() == ['FilterLogEvents']
    insights = await host.search(cw.query(levels=['info']))
    assert [e['message'] for e in insights.body['entries']] == ['ok']
    everything = await host.search(cw.query())
    assert [e['message'] for e in everything.body['entries']] == [
        'not json at all',
        'ok',
        'boom',
    ]
    assert everything.body['entries'][0]['level'] is None


@pytest.mark.parametrize(
    'mode',
    [pytest.param('auto', marks=pytest.mark.filter_log_events), 'insights'],
)
async def test_both_paths_agree(cw: Env, mode: str) -> None:
    messages = [
        'GET /v1/users 200',
        'GET /v2/users 500',
        'POST /v1/orders 201',
        'get /v1/lower 200',
    ]
    for index, message in enumerate(messages):
        cw.put(10 - index, message)
    host = cw.host(query_mode=mode)
    found = {}
    for name, filters in {
        'contains': ['message:contains:/v1/'],
        'regex': ['message:regex:^GET\\s/v[12]/users\\s[25]00$'],
        'two': ['message:contains:GET', 'message:regex:5\\d\\d'],
    }.items():
        response = await host.search(cw.query(filters=filters))
        assert response.status == 200, response.body
        found[name] = [e['message'] for e in response.body['entries']]
    assert found == {
        'contains': [
            'get /v1/lower 200',
            'POST /v1/orders 201',
            'GET /v1/users 200',
        ],
        'regex': ['GET /v2/users 500', 'GET /v1/users 200'],
        'two': ['GET /v2/users 500'],
    }
    expected = 'StartQuery' if mode == 'insights' else 'FilterLogEvents'
    assert cw.fake.operations()[0] == expected
    assert ('StartQuery' in cw.fake.operations()) == (mode == 'insights')


async def test_filter_mode_rejects_untranslatable_without_a_call(
    cw: Env,
) -> None:
    host = cw.host(query_mode='filter')
    response = await host.search(cw.query(levels=['error']))
    assert response.status == 500
    assert isinstance(response.error, ValueError)
    assert "query_mode is 'filter'" in response.detail
    assert 'case-insensitively' in response.detail
    assert cw.fake.requests == []


@pytest.mark.parametrize(
    ('filters', 'options'),
    [
        (['message:regex:(unclosed'], {}),
        (['level:eq:x'], {}),
        (['a b:eq:x'], {'message_format': 'json'}),
    ],
)
async def test_invalid_input_makes_no_request(
    cw: Env, filters: list[str], options: dict[str, str]
) -> None:
    response = await cw.host(**options).search(cw.query(filters=filters))
    assert response.status == 500
    assert isinstance(response.error, ValueError)
    assert cw.fake.requests == []


async def test_hostile_values_stay_values(cw: Env) -> None:
    hostile = 'x" | stats count(*) by @logStream | filter @message like "'
    cw.put(5, f'prefix {hostile} suffix')
    cw.put(4, 'x other')
    for filters in (
        [f'message:contains:{hostile}'],
        [f'message:eq:prefix {hostile} suffix'],
        ['message:regex:x/ | limit 1 | filter @message like /x'],
    ):
        response = await cw.host(query_mode='insights').search(
            cw.query(filters=filters)
        )
        assert response.status == 200, response.body
        expected = (
            [] if 'regex' in filters[0] else [f'prefix {hostile} suffix']
        )
        assert [e['message'] for e in response.body['entries']] == expected


@pytest.mark.filter_log_events
async def test_partial_and_empty_pages_are_followed(cw: Env) -> None:
    for index in range(200):
        message = 'needle' if index % 50 == 0 else 'hay'
        cw.put(200 - index, f'{message} {index}')
    cw.fake.scan_chunk = 10
    response = await cw.host().search(
        cw.query(filters=['message:contains:needle'], limit=3)
    )
    assert [e['message'] for e in response.body['entries']] == [
        'needle 150',
        'needle 100',
        'needle 50',
    ]
    assert response.body['next_cursor']
    pages = cw.fake.operations()
    assert len(pages) > 3  # empty pages in between were paged past
    rest = await cw.host().search(
        cw.query(
            filters=['message:contains:needle'],
            limit=3,
            cursor=response.body['next_cursor'],
        )
    )
    assert [e['message'] for e in rest.body['entries']] == ['needle 0']
    assert rest.body['next_cursor'] is None


@pytest.mark.filter_log_events
async def test_budget_runs_low_returns_partial_with_cursor(cw: Env) -> None:
    for index in range(100):
        cw.put(100 - index, f'hay {index}')
    cw.fake.scan_chunk = 5
    cw.fake.latency = 0.15
    response = await cw.host(timeout_seconds=1).search(
        cw.query(filters=['message:contains:needle'])
    )
    assert response.status == 200
    assert response.body['entries'] == []
    assert response.body['next_cursor']
    assert 'time budget' in response.body['warnings'][0]
    assert response.elapsed < 1.5


@pytest.mark.parametrize(
    ('mode', 'filters'),
    [
        pytest.param(
            'filter',
            ['message:contains:event'],
            marks=pytest.mark.filter_log_events,
        ),
        ('insights', []),
    ],
)
async def test_cursor_walks_5000_events_in_few_milliseconds_once(
    cw: Env, mode: str, filters: list[str]
) -> None:
    # 5000 events over 4 milliseconds, two streams: every page boundary
    # falls inside a millisecond shared by many events.
    for index in range(5000):
        cw.fake.put(
            cw.group,
            f'web-{index % 2}',
            cw.at(5) + index % 4,
            f'event {index}',
        )
    cw.fake.scan_chunk = 700
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        response = await cw.host(query_mode=mode).search(
            cw.query(filters=filters, limit=1000, cursor=cursor)
        )
        assert response.status == 200, response.body
        seen.extend(e['message'] for e in response.body['entries'])
        stamps = [e.timestamp for e in response.result.entries]
        assert stamps == sorted(stamps, reverse=True)
        pages += 1
        cursor = response.body['next_cursor']
        if cursor is None:
            break
        assert pages < 20
    assert len(seen) == 5000
    assert sorted(seen) == sorted(f'event {i}' for i in range(5000))


@pytest.mark.filter_log_events
async def test_expired_token_is_cursor_expired(cw: Env) -> None:
    for index in range(5):
        cw.put(10 - index, f'event {index}')
    host = cw.host()
    first = await host.search(
        cw.query(filters=['message:contains:event'], limit=2)
    )
    cw.fake.expire_tokens()
    second = await host.search(
        cw.query(
            filters=['message:contains:event'],
            limit=2,
            cursor=first.body['next_cursor'],
        )
    )
    assert second.status == 409
    assert second.body['detail']['error'] == 'cursor_expired'
    assert isinstance(second.error, CursorExpiredError)


@pytest.mark.parametrize('mode', ['auto', 'insights'])
async def test_foreign_and_tampered_cursors(cw: Env, mode: str) -> None:
    for index in range(5):
        cw.put(10 - index, f'event {index}')
    host = cw.host(query_mode=mode)
    first = await host.search(
        cw.query(filters=['message:contains:event'], limit=2)
    )
    cursor = first.body['next_cursor']
    before = len(cw.fake.requests)
    payload, _, check = cursor.partition('.')
    for bad in (
        cursor[:-2] + ('AA' if not cursor.endswith('AA') else 'BB'),
        payload[:-4] + 'AAAA.' + check,
        'garbage',
        'e30.' + check,
    ):
        response = await host.search(
            cw.query(filters=['message:contains:event'], limit=2, cursor=bad)
        )
        assert response.status == 409, bad
    other = await host.search(
        cw.query(filters=['message:contains:other'], limit=2, cursor=cursor)
    )
    assert other.status == 409
    other_mode = 'insights' if mode == 'auto' else 'auto'
    switched = await cw.host(query_mode=other_mode).search(
        cw.query(filters=['message:contains:event'], limit=2, cursor=cursor)
    )
    assert switched.status == 409
    assert len(cw.fake.requests) == before


@pytest.mark.parametrize(
    'mode',
    [pytest.param('filter', marks=pytest.mark.filter_log_events), 'insights'],
)
async def test_cursor_survives_a_moved_window(cw: Env, mode: str) -> None:
    """The host recomputes now-30min..now on every request: page 2 of a
    search without explicit times has a window a few seconds later. It
    continues page 1's search: nothing twice, nothing skipped (not even
    what lies between the two starts), nothing newer than page 1."""
    for index in range(3):
        cw.put(10 - index, f'event {index}')
    cw.put(30 * 60 - 1, 'event near the first start')
    host = cw.host(query_mode=mode)
    filters = ['message:contains:event']
    first = await host.search(cw.query(filters=filters, limit=2))
    assert [e['message'] for e in first.body['entries']] == [
        'event 2',
        'event 1',
    ]
    cw.put(-3, 'event after page 1')
    moved = datetime.timedelta(seconds=5)
    second = await host.search(
        cw.query(
            filters=filters,
            limit=10,
            start=cw.start + moved,
            end=cw.end + moved,
            cursor=first.body['next_cursor'],
        )
    )
    assert second.status == 200, second.body
    assert [e['message'] for e in second.body['entries']] == [
        'event 0',
        'event near the first start',
    ]
    assert second.body['next_cursor'] is None


@pytest.mark.parametrize(
    'mode',
    [pytest.param('filter', marks=pytest.mark.filter_log_events), 'insights'],
)
async def test_pages_under_the_hosts_default_window(
    cw: Env, mode: str
) -> None:
    """No explicit times, as the Imbi UI asks: every page's window is
    computed afresh."""
    now_ms = int(time.time() * 1000)
    for index in range(5):
        cw.fake.put(cw.group, 'web-1', now_ms - 5000 + index, f'event {index}')
    host = cw.host(query_mode=mode)
    messages: list[str] = []
    cursor = None
    for _ in range(3):
        page = await host.search(
            Host.log_query(
                filters=['message:contains:event'], limit=2, cursor=cursor
            )
        )
        assert page.status == 200, page.body
        messages += [e['message'] for e in page.body['entries']]
        cursor = page.body['next_cursor']
    assert messages == [f'event {i}' for i in reversed(range(5))]
    assert cursor is None


@pytest.mark.parametrize('hours', [1, -25])
async def test_forged_insights_position_outside_the_range(
    cw: Env, hours: int
) -> None:
    # The cursor's check is an unkeyed digest: anyone can recompute it,
    # so the position itself must stay inside the query's time range.
    from imbi_plugin_cloudwatch import cursor, options, query

    cw.put(5, 'ERROR late')
    host = cw.host()
    opts = options.read_options(host.context('logs'))
    translation = query.translate(cw.query(levels=['error']), opts)
    forged = cursor.encode(
        cursor.InsightsPosition(
            translation.end_ms + hours * 3_600_000,
            frozenset(),
            translation.start_ms,
            translation.end_ms,
        ),
        query.fingerprint(translation, opts),
    )
    response = await host.search(cw.query(levels=['error'], cursor=forged))
    assert response.status == 409
    assert 'outside the query' in str(response.error)
    assert cw.fake.requests == []


@pytest.mark.filter_log_events
async def test_stream_prefix_and_group_templates(cw: Env) -> None:
    group = '/aweber/production/billing-api'
    cw.fake.add_group(group)
    cw.fake.put(group, 'production-web', cw.at(3), 'wanted')
    cw.fake.put(group, 'staging-web', cw.at(2), 'other stream')
    host = cw.host(
        log_group_template='/${org_slug}/${environment}/${project_slug}',
        log_stream_prefix_template='${environment}-',
    )
    for mode in ('auto', 'insights'):
        host.plugin_options['query_mode'] = mode
        response = await host.search(
            cw.query(filters=['message:contains:e']),
            environments=['production'],
        )
        assert [e['message'] for e in response.body['entries']] == ['wanted']
    assert cw.fake.operations() == [
        'FilterLogEvents',
        'StartQuery',
        'GetQueryResults',
    ]


async def test_levels_in_common_text_layouts_are_found(cw: Env) -> None:
    """Level filters (Insights) and entries' levels find the level where
    Python logging, Node.js on Lambda and logrus put it."""
    cw.put(40, '2026-11-25 11:59:20,123 ERROR python boom')
    cw.put(
        30,
        '2026-11-25T11:59:30.123Z\t6bc28136-aaaa-4365-b021-0ce6b2e64ab0'
        '\tERROR\tnode boom',
    )
    cw.put(20, 'time="2026-11-25T11:59:40Z" level=error msg=logrus')
    cw.put(10, '2026-11-25 11:59:50,000 INFO fine')
    cw.put(5, 'an error in the middle of a sentence')
    response = await cw.host().search(cw.query(levels=['error']))
    assert response.status == 200, response.body
    entries = response.body['entries']
    assert [e['level'] for e in entries] == ['error'] * 3
    assert [e['message'][-11:] for e in entries] == [
        ' msg=logrus',
        'R\tnode boom',
        'python boom',
    ]
    histogram = await cw.host().histogram(cw.query(), bucket_count=1)
    (bucket,) = histogram.result
    assert (bucket.count, bucket.levels) == (5, {'error': 3, 'info': 1})


async def test_total_from_insights_records_matched(cw: Env) -> None:
    for index in range(5):
        cw.put(50 - index, f'ERROR number {index}')
    cw.put(1, 'INFO other')
    host = cw.host()
    first = await host.search(cw.query(levels=['error'], limit=2))
    assert first.status == 200, first.body
    assert first.result.total == 5
    # later pages search what is left of the range: no total there
    second = await host.search(
        cw.query(levels=['error'], limit=2, cursor=first.result.next_cursor)
    )
    assert second.result.total is None
    # FilterLogEvents counts nothing (a botocore without startFromHead
    # searches through Insights, which does)
    filtered = await host.search(cw.query(filters=['message:contains:ERROR']))
    if _start_from_head_in_model():
        assert filtered.result.total is None
    else:
        assert filtered.result.total == 5


async def test_lookaround_is_refused_before_any_call(cw: Env) -> None:
    """Python's re would run it; AWS does not."""
    cw.put(1, 'x')
    response = await cw.host(query_mode='insights').search(
        cw.query(filters=['message:regex:(?=x)'])
    )
    assert isinstance(response.error, ValueError)
    assert 'does not support lookaround' in str(response.error)
    assert cw.fake.requests == []


async def test_base_filter_literals_may_hold_hash_and_pipe(
    cw: Env,
) -> None:
    cw.put(30, 'ERROR order #12 | paid')
    cw.put(20, 'ERROR order 13 paid')
    host = cw.host(base_filter='@message like /#1\\d/ or @message = "x#|"')
    response = await host.search(cw.query())
    assert response.status == 200, response.body
    assert [e.message for e in response.result.entries] == [
        'ERROR order #12 | paid'
    ]


async def test_base_filter_narrows_every_query(cw: Env) -> None:
    cw.put(30, 'ERROR GET /healthcheck')
    cw.put(20, 'ERROR GET /pay')
    cw.fake.put(cw.group, 'worker-1', cw.at(10), 'ERROR in a worker')
    host = cw.host(
        base_filter='@logStream like /^web-/ and not @message like /health/'
    )
    response = await host.search(cw.query(filters=['message:contains:GET']))
    assert response.status == 200, response.body
    assert [e.message for e in response.result.entries] == ['ERROR GET /pay']
    # a filter pattern cannot hold it: the search ran in Insights
    assert cw.fake.operations()[0] == 'StartQuery'
    histogram = await host.histogram(cw.query(), bucket_count=1)
    (bucket,) = histogram.result
    assert (bucket.count, bucket.levels) == (1, {'error': 1})
    refused = await cw.host(
        base_filter='@logStream like /^web-/', query_mode='filter'
    ).search(cw.query())
    assert isinstance(refused.error, ValueError)
    assert 'base_filter is a Logs Insights expression' in str(refused.error)


@pytest.mark.parametrize(
    ('base_filter', 'reason'),
    [
        ('@message like "a" | stats count(*)', 'cannot hold |'),
        ('a = "x") or (b = "y"', 'unbalanced parentheses'),
        ('(a = "x"', 'unbalanced parentheses'),
        ('a = "x', 'unterminated "'),
        ('a = "' + 'x' * 2000 + '"', 'longer than 2000'),
        # Insights ignores the rest of a line after #: with a newline the
        # parentheses it hides would reopen the query's time range.
        ('true # (\n) or true', 'cannot hold #'),
        ('@message like "a" # note', 'cannot hold #'),
        # a field whose name ends in "like" followed by a division is no
        # regex literal: the parentheses it seemed to hide count
        ('mylike /x > 0) or (1/1 > 0', 'unbalanced parentheses'),
        ('a.like /x > 0) or (1/1 > 0', 'unbalanced parentheses'),
        ('`like` /x > 0) or (1/1 > 0', 'unbalanced parentheses'),
    ],
)
async def test_bad_base_filter_makes_no_request(
    cw: Env, base_filter: str, reason: str
) -> None:
    response = await cw.host(base_filter=base_filter).search(cw.query())
    assert isinstance(response.error, ValueError)
    assert "option 'base_filter'" in str(response.error)
    assert reason in str(response.error)
    assert cw.fake.requests == []


@pytest.mark.parametrize('prefix', ['web-', 'a.b[1]'])
async def test_insights_stream_prefix_matches_only_at_the_start(
    cw: Env, prefix: str
) -> None:
    """A stream that merely contains the prefix, or matches it only as
    a regex, is not searched."""
    for stream in (f'{prefix}1', f'old-{prefix}1', 'aXb[1]1', 'web'):
        cw.fake.put(cw.group, stream, cw.at(10), f'ERROR in {stream}')
    response = await cw.host(log_stream_prefix_template=prefix).search(
        cw.query(levels=['error'])
    )
    assert response.status == 200, response.body
    assert [e.raw['log_stream'] for e in response.result.entries] == [
        f'{prefix}1'
    ]


WORKER = '/aweber/billing-api-worker'


@pytest.mark.parametrize(
    'template',
    [
        '/aweber/${project_slug}, /aweber/${project_slug}-worker',
        '/aweber/${project_slug}*',
    ],
)
async def test_several_log_groups_are_searched_together(
    cw: Env, template: str
) -> None:
    cw.fake.add_group(WORKER)
    cw.fake.add_group('/aweber/other')
    cw.put(30, 'ERROR api boom')
    cw.fake.put(WORKER, 'w-1', cw.at(20), 'ERROR worker boom')
    cw.fake.put('/aweber/other', 'o-1', cw.at(10), 'ERROR not ours')
    host = cw.host(log_group_template=template)
    response = await host.search(cw.query(filters=['message:contains:boom']))
    assert response.status == 200, response.body
    entries = response.result.entries
    assert [(e.message, e.raw['log_group']) for e in entries] == [
        ('ERROR worker boom', WORKER),
        ('ERROR api boom', cw.group),
    ]
    assert any(b'"logGroupNames"' in r.body for r in cw.fake.requests)
    histogram = await host.histogram(cw.query(), bucket_count=1)
    (bucket,) = histogram.result
    assert (bucket.count, bucket.levels) == (2, {'error': 2})
    schema = await host.schema()
    assert schema.status == 200, schema.body


@pytest.mark.filter_log_events
async def test_a_prefix_naming_one_group_uses_filter_log_events(
    cw: Env,
) -> None:
    cw.put(30, 'ERROR api boom')
    host = cw.host(log_group_template='/aweber/billing*')
    response = await host.search(cw.query(filters=['message:contains:boom']))
    assert [e.message for e in response.result.entries] == ['ERROR api boom']
    assert response.result.entries[0].raw['log_group'] == cw.group
    assert cw.fake.operations() == ['DescribeLogGroups', 'FilterLogEvents']


async def test_log_group_prefix_bounds(cw: Env) -> None:
    for index in range(51):
        cw.fake.add_group(f'/many/g{index:02d}')
    too_many = await cw.host(log_group_template='/many/*').search(cw.query())
    assert isinstance(too_many.error, ValueError)
    assert 'more than 50 log groups' in str(too_many.error)
    none = await cw.host(log_group_template='/none/*').search(cw.query())
    assert isinstance(none.error, ValueError)
    assert "no log group starts with '/none/'" in str(none.error)
    several = await cw.host(
        log_group_template=f'{cw.group}, /many/g00', query_mode='filter'
    ).search(cw.query(filters=['message:contains:x']))
    assert isinstance(several.error, ValueError)
    assert 'one log group at a time' in str(several.error)


def test_a_project_field_cannot_add_a_log_group() -> None:
    """The template is split before expansion: a comma or a * in a
    project field is not a separator or a wildcard."""
    from imbi_plugin_cloudwatch import options as options_module
    from imbi_plugin_testing import make_context

    # AWS names are ASCII letters, digits and _-./#: a non-ASCII letter
    # or a trailing newline from a project field is refused before AWS.
    for slug in ('a,/other', 'a*', 'caf\u00e9', 'a\n'):
        ctx = make_context(
            'logs',
            options={
                'region': 'us-east-1',
                'log_group_template': '/x/${project_slug}',
            },
            project_slug=slug,
        )
        with pytest.raises(ValueError, match='not a valid log group name'):
            options_module.read_options(ctx)


async def test_json_fields_with_hyphens(cw: Env) -> None:
    cw.put(20, {'user-agent': 'curl/8', 'message': 'a'})
    cw.put(10, {'user-agent': 'wget', 'message': 'b'})
    response = await cw.host(message_format='json').search(
        cw.query(filters=['user-agent:eq:curl/8'])
    )
    assert response.status == 200, response.body
    assert [e.message for e in response.result.entries] == ['a']
    assert cw.fake.operations()[0] == 'StartQuery'


async def test_level_and_message_fields_may_hold_hyphens(cw: Env) -> None:
    """As filter fields may: Insights names a JSON key ``log-level``."""
    cw.put(20, {'log-level': 'WARNING', 'log-message': 'slow'})
    cw.put(10, {'log-level': 'info', 'log-message': 'fine'})
    host = cw.host(
        message_format='json',
        level_field='log-level',
        message_field='log-message',
    )
    response = await host.search(cw.query(levels=['warn']))
    assert response.status == 200, response.body
    assert [(e.message, e.level) for e in response.result.entries] == [
        ('slow', 'warn')
    ]
    # FilterLogEvents reads them from the JSON message itself
    every = await host.search(cw.query())
    assert [(e.message, e.level) for e in every.result.entries] == [
        ('fine', 'info'),
        ('slow', 'warn'),
    ]
    if _start_from_head_in_model():
        assert cw.fake.operations()[-1] == 'FilterLogEvents'
    histogram = await host.histogram(cw.query(), bucket_count=1)
    assert histogram.status == 200, histogram.body
    (bucket,) = histogram.result
    assert bucket.levels == {'warn': 1, 'info': 1}
