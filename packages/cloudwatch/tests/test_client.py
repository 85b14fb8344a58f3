"""Unit tests of the AWS plumbing, cursors and result conversion."""

import logging
import time
import typing

import botocore.exceptions
import pytest
from botocore.parsers import ResponseParserError
from imbi_plugin_cloudwatch import (
    _host,
    client,
    cursor,
    options,
    query,
    service,
)
from imbi_plugin_cloudwatch._host import (
    CursorExpiredError,
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_testing import SecretScan, make_context

Env = typing.Any


def _options(**raw: typing.Any) -> options.Options:
    raw.setdefault('region', 'us-east-1')
    return options.read_options(make_context('logs', options=raw))


@pytest.mark.parametrize(
    ('exc', 'expected', 'retries'),
    [
        (
            botocore.exceptions.ReadTimeoutError(endpoint_url='http://x'),
            PluginTimeoutError,
            0,
        ),
        (
            botocore.exceptions.EndpointConnectionError(
                endpoint_url='http://x'
            ),
            PluginUnavailableError,
            2,
        ),
        (
            botocore.exceptions.ConnectionClosedError(endpoint_url='http://x'),
            PluginUnavailableError,
            0,
        ),
        (ResponseParserError('bad xml'), PluginUnavailableError, 0),
        (
            botocore.exceptions.ParamValidationError(report='bad limit'),
            ValueError,
            0,
        ),
        (
            botocore.exceptions.NoRegionError(),
            PluginUnavailableError,
            0,
        ),
    ],
)
async def test_classify_botocore_errors(
    exc: Exception, expected: type[Exception], retries: int
) -> None:
    calls = client.Calls(_options(), client.AwsKeys('AKIAX', 'secret-x'))
    error, allowed = calls._classify('StartQuery', exc)
    assert isinstance(error, expected)
    assert allowed == retries


def _client_error(code: str, status: int) -> Exception:
    response: typing.Any = {
        'Error': {'Code': code, 'Message': 'busy'},
        'ResponseMetadata': {'HTTPStatusCode': status},
    }
    return botocore.exceptions.ClientError(response, 'Operation')


@pytest.mark.parametrize(
    ('operation', 'code', 'status', 'retries', 'limited'),
    [
        ('StartQuery', 'InternalFailure', 500, 0, False),
        ('StartQuery', 'ServiceUnavailableException', 503, 0, False),
        ('StartQuery', 'ServiceUnavailable', 400, 0, False),
        ('StartQuery', 'WeirdServerError', 502, 0, False),
        ('StartQuery', 'ThrottlingException', 400, 2, True),
        ('StartQuery', 'TooManyRequestsException', 400, 2, True),
        ('StartQuery', '429', 429, 2, True),
        ('StartQuery', 'LimitExceededException', 400, 1, True),
        ('FilterLogEvents', 'InternalFailure', 500, 2, False),
        ('GetQueryResults', 'ServiceUnavailableException', 503, 2, False),
        ('GetLogGroupFields', 'WeirdServerError', 502, 2, False),
        ('AssumeRole', 'ServiceUnavailable', 503, 2, False),
        ('AssumeRole', 'Throttling', 400, 2, True),
    ],
)
async def test_only_throttling_resends_non_idempotent_operations(
    operation: str, code: str, status: int, retries: int, limited: bool
) -> None:
    calls = client.Calls(_options(), client.AwsKeys('AKIAX', 'secret-x'))
    before = time.time()
    error, allowed = calls._classify(operation, _client_error(code, status))
    assert allowed == retries
    # v3 hosts' queues back off until retry_at on PluginRateLimited; v1
    # hosts have only PluginUnavailableError for the same refusal.
    rate_limited = _host.optional('PluginRateLimited')
    if limited and rate_limited is not None:
        assert isinstance(error, rate_limited)
        pause = client.RATE_LIMIT_PAUSE_SECONDS
        assert before + pause <= error.retry_at <= time.time() + pause
    else:
        assert type(error) is PluginUnavailableError


async def test_throttling_retry_at_follows_retry_after() -> None:
    calls = client.Calls(_options(), client.AwsKeys('AKIAX', 'secret-x'))
    response: typing.Any = {
        'Error': {'Code': 'ThrottlingException', 'Message': 'Rate exceeded'},
        'ResponseMetadata': {
            'HTTPStatusCode': 400,
            'HTTPHeaders': {'retry-after': '40'},
        },
    }
    exc = botocore.exceptions.ClientError(response, 'StartQuery')
    before = time.time()
    error, _ = calls._classify('StartQuery', exc)
    assert 'retry in 40 s' in str(error)
    rate_limited = _host.optional('PluginRateLimited')
    if rate_limited is not None:
        assert isinstance(error, rate_limited)
        assert before + 40 <= error.retry_at <= time.time() + 40


async def test_parameter_validation_keeps_its_reasons(
    secret_scan: SecretScan,
) -> None:
    secret_scan.add('AKIAPARAMVALID000001', 'param-secret-value')
    keys = client.AwsKeys('AKIAPARAMVALID000001', 'param-secret-value')
    calls = client.Calls(_options(), keys)
    exc = botocore.exceptions.ParamValidationError(
        report='Invalid type for parameter limit, value: many, type: '
        "<class 'str'>, valid types: <class 'int'>\n"
        'Unknown parameter in input: "param-secret-value"'
    )
    error, allowed = calls._classify('FilterLogEvents', exc)
    assert isinstance(error, ValueError)
    assert allowed == 0
    assert str(error) == (
        'Parameter validation failed: Invalid type for parameter limit, '
        "value: many, type: <class 'str'>, valid types: <class 'int'> "
        'Unknown parameter in input: "***"'
    )


async def test_parameter_validation_from_botocore(cw: Env) -> None:
    opts = _options(endpoint_url=cw.url)
    async with client.Calls(opts, client.AwsKeys('AKIAX', 'x')) as calls:
        with pytest.raises(ValueError, match='parameter limit') as raised:
            await calls.call(
                'FilterLogEvents', logGroupName=cw.group, limit='many'
            )
    assert 'Parameter validation failed: Invalid' in str(raised.value)
    assert cw.fake.requests == []


def test_client_timeouts_are_the_time_left() -> None:
    keys = client.AwsKeys('AKIAX', 'secret-x')
    opts = _options(timeout_seconds=8)
    whole = client.build_client(opts, 'logs', keys).meta.config
    assert (whole.read_timeout, whole.connect_timeout) == (8.0, 2.0)
    left = client.build_client(opts, 'logs', keys, timeout=1.5).meta.config
    assert (left.read_timeout, left.connect_timeout) == (1.5, 1.5)
    gone = client.build_client(opts, 'logs', keys, timeout=-1).meta.config
    assert gone.read_timeout == client.MIN_TIMEOUT_SECONDS
    assert gone.connect_timeout == client.MIN_TIMEOUT_SECONDS


async def test_the_logs_client_gets_what_assume_role_left(
    cw: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: dict[str, float] = {}
    build = client.build_client

    def record(**kw: typing.Any) -> typing.Any:
        made = build(**kw)
        built[kw['service']] = made.meta.config.read_timeout
        return made

    monkeypatch.setattr(client, 'build_client', record)
    role = cw.fake.add_role('imbi-logs', [cw.key])
    cw.fake.inject(latency=1.0, when=lambda r: b'Action=AssumeRole' in r.body)
    opts = _options(
        endpoint_url=cw.url,
        sts_endpoint_url=cw.url,
        role_arn=role.arn,
        timeout_seconds=4,
    )
    async with client.Calls(
        opts, client.AwsKeys(cw.key.access_key_id, cw.key.secret_access_key)
    ) as calls:
        await calls.logs()
    assert 3.5 < built['sts'] <= 4.0
    assert 2.0 < built['logs'] <= 3.05


async def test_classify_reraises_foreign_errors() -> None:
    calls = client.Calls(_options(), None)
    with pytest.raises(KeyError):
        calls._classify('FilterLogEvents', KeyError('x'))


async def test_scrub_removes_credentials(secret_scan: SecretScan) -> None:
    secret_scan.add('AKIASCRUBME000000001', 'scrub-secret', 'scrub-tok')
    keys = client.AwsKeys('AKIASCRUBME000000001', 'scrub-secret', 'scrub-tok')
    calls = client.Calls(_options(), keys)
    text = 'key AKIASCRUBME000000001 secret scrub-secret tok scrub-tok\nmore'
    assert calls.scrub(text) == 'key *** secret *** tok ***'
    assert calls.scrub('   ') == ''
    assert 'scrub' not in repr(keys)


def test_wire_dump_redaction() -> None:
    record = logging.LogRecord(
        'botocore.endpoint',
        logging.DEBUG,
        __file__,
        1,
        'headers=%s',
        (
            "{'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIAWIRE/2026', "
            "'X-Amz-Security-Token': b'wire-token'} "
            '<SecretAccessKey>wire-secret</SecretAccessKey>',
        ),
        None,
    )
    assert client.RedactWireDumps().filter(record)
    text = record.getMessage()
    for secret in ('AKIAWIRE', 'wire-token', 'wire-secret'):
        assert secret not in text
    info = logging.LogRecord(
        'botocore.endpoint', logging.INFO, __file__, 1, 'x %s', ('y',), None
    )
    assert client.RedactWireDumps().filter(info)
    assert info.args == ('y',)


def test_cursor_round_trip_and_rejections() -> None:
    position = cursor.InsightsPosition(
        5, frozenset({cursor.ptr_digest('p')}), 1, 9
    )
    text = cursor.encode(position, 'fp')
    assert cursor.decode(text, 'fp', cursor.InsightsPosition) == position
    with pytest.raises(CursorExpiredError, match='another search path'):
        cursor.decode(text, 'fp', cursor.FilterPosition)
    with pytest.raises(CursorExpiredError, match='another query'):
        cursor.decode(text, 'other', cursor.InsightsPosition)
    for payload in ('eyJ2IjozfQ', 'bm90IGpzb24', '!!!'):
        # Well signed, but a future version / not JSON / not base64.
        forged = f'{payload}.{cursor._check("fp", payload)}'
        with pytest.raises(CursorExpiredError, match='cannot be read'):
            cursor.decode(forged, 'fp', cursor.InsightsPosition)


async def test_too_many_events_in_one_millisecond(cw: Env) -> None:
    opts = _options(endpoint_url=cw.url)
    log_query = cw.query(levels=['error'], limit=100)
    translation = query.translate(log_query, opts)
    seen = frozenset(cursor.ptr_digest(str(i)) for i in range(9950))
    log_query.cursor = cursor.encode(
        cursor.InsightsPosition(
            cw.end_ms, seen, translation.start_ms, translation.end_ms
        ),
        query.fingerprint(translation, opts),
    )
    with pytest.raises(PluginUnavailableError, match='one millisecond'):
        await service.search(opts, client.AwsKeys('AKIAX', 'x'), log_query)
    assert cw.fake.requests == []


async def test_a_page_inside_one_millisecond(cw: Env) -> None:
    for index in range(250):
        cw.fake.put(cw.group, 'web-1', cw.at(1), f'same {index}')
    host = cw.host(query_mode='insights')
    seen: list[str] = []
    next_cursor = None
    for _ in range(3):
        response = await host.search(cw.query(limit=100, cursor=next_cursor))
        seen.extend(e['message'] for e in response.body['entries'])
        next_cursor = response.body['next_cursor']
    assert next_cursor is None
    assert sorted(seen) == sorted(f'same {i}' for i in range(250))


async def test_unexpected_answers(
    cw: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def rows(*args: typing.Any) -> list[list[dict[str, str]]]:
        return [[{'field': 't', 'value': 'not a time'}]]

    async def rows_matched(*args: typing.Any) -> typing.Any:
        return await rows(), None

    monkeypatch.setattr(client.Calls, 'insights', rows)
    monkeypatch.setattr(client.Calls, 'insights_matched', rows_matched)
    host = cw.host()
    histogram = await host.histogram(cw.query(), bucket_count=5)
    assert isinstance(histogram.error, PluginUnavailableError)
    search = await host.search(cw.query(levels=['error']))
    assert isinstance(search.error, PluginUnavailableError)

    async def outside(*args: typing.Any) -> list[list[dict[str, str]]]:
        return [
            [
                {'field': 'imbi_bucket', 'value': value},
                {'field': 'n', 'value': '3'},
            ]
            for value in ('-1', '5', '5.0')
        ]

    monkeypatch.setattr(client.Calls, 'insights', outside)
    ignored = await host.histogram(cw.query(), bucket_count=5)
    assert sum(b.count for b in ignored.result) == 0

    async def event(
        self: client.Calls, operation: str, **params: typing.Any
    ) -> dict[str, typing.Any]:
        return {'events': [{'message': 'no time'}]}

    monkeypatch.setattr(client.Calls, 'call', event)
    broken = await host.search(cw.query(filters=['message:contains:x']))
    assert isinstance(broken.error, PluginUnavailableError)

    async def no_results(
        self: client.Calls, operation: str, **params: typing.Any
    ) -> dict[str, typing.Any]:
        return {'queryId': 'q-1', 'status': 'Complete'}

    monkeypatch.undo()
    monkeypatch.setattr(client.Calls, 'call', no_results)
    empty = await host.search(cw.query(levels=['error']))
    assert isinstance(empty.error, PluginUnavailableError)
    assert 'without results' in empty.detail


async def test_slow_stop_query_does_not_hold_the_call(
    cw: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped: list[str] = []

    def slow_stop(client_: typing.Any, query_id: str) -> None:
        time.sleep(client.STOP_QUERY_SECONDS + 0.5)
        stopped.append(query_id)

    monkeypatch.setattr(client.Calls, '_stop_sync', staticmethod(slow_stop))
    cw.fake.polls_running = 10**6
    response = await cw.host(timeout_seconds=1).search(
        cw.query(levels=['error'])
    )
    assert isinstance(response.error, PluginTimeoutError)
    assert response.elapsed < 1 + client.STOP_QUERY_SECONDS + 0.3
    assert stopped == []


async def test_start_query_without_query_id(cw: Env) -> None:
    cw.fake.fail_next('StartQuery', 'odd', status=200)
    response = await cw.host().search(cw.query(levels=['error']))
    assert isinstance(response.error, PluginUnavailableError)
    assert 'queryId' in response.detail


@pytest.mark.filter_log_events
async def test_no_retry_without_budget_for_it(cw: Env) -> None:
    cw.fake.fail_next('FilterLogEvents', 'ThrottlingException', 'slow down')
    response = await cw.host(timeout_seconds=1).search(
        cw.query(filters=['message:contains:x'])
    )
    # v3 hosts: PluginRateLimited (v1 hosts have no such error).
    rate_limited = _host.optional('PluginRateLimited')
    assert isinstance(response.error, rate_limited or PluginUnavailableError)
    assert cw.fake.operations() == ['FilterLogEvents']


async def test_nested_json_fields(cw: Env) -> None:
    cw.put(2, {'log': 'flat', 'msg': {'text': 'nested'}})
    cw.put(1, {'log': {'level': 'WARN'}, 'msg': {'text': 'deep'}})
    host = cw.host(
        message_format='json', level_field='log.level', message_field='msg'
    )
    response = await host.search(cw.query())
    assert [(e['level'], e['message']) for e in response.body['entries']] == [
        ('warn', '{"log": {"level": "WARN"}, "msg": {"text": "deep"}}'),
        (None, '{"log": "flat", "msg": {"text": "nested"}}'),
    ]


def test_sts_has_its_own_endpoint() -> None:
    """A CloudWatch Logs VPC endpoint cannot answer STS: endpoint_url is
    for Logs only, sts_endpoint_url (or AWS's default) for STS."""
    keys = client.AwsKeys('AKIAEXAMPLE', 'secret')
    opts = _options(endpoint_url='https://vpce-1.logs.example.com')
    logs = client.build_client(opts, 'logs', keys)
    sts = client.build_client(opts, 'sts', keys)
    assert logs.meta.endpoint_url == 'https://vpce-1.logs.example.com'
    # AWS's own STS endpoint: regional from botocore 1.36 on, global
    # before (the declared boto3 floor is older).
    assert sts.meta.endpoint_url in (
        'https://sts.us-east-1.amazonaws.com',
        'https://sts.amazonaws.com',
    )
    own = _options(
        endpoint_url='https://vpce-1.logs.example.com',
        sts_endpoint_url='https://vpce-2.sts.example.com',
    )
    assert client.build_client(own, 'sts', keys).meta.endpoint_url == (
        'https://vpce-2.sts.example.com'
    )
    with pytest.raises(ValueError, match="option 'sts_endpoint_url'"):
        _options(sts_endpoint_url='ftp://sts.example.com')


@pytest.mark.parametrize(
    'raw',
    [
        {'endpoint_url': 'http://logs.x', 'allow_plain_http': 'true'},
        {'endpoint_url': 'http://127.0.0.1:4566'},
        {'endpoint_url': 'http://localhost:4566'},
    ],
)
def test_plain_http_endpoint_when_allowed_or_loopback(
    raw: dict[str, typing.Any],
) -> None:
    assert _options(**raw).endpoint_url == raw['endpoint_url']
