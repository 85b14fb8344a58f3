"""The CloudWatch Logs / STS stand-in: signing, error shapes, semantics."""

import collections.abc
import json
import typing
import urllib.parse
import xml.etree.ElementTree as ET

import boto3
import botocore.exceptions
import httpx
import pytest
from imbi_plugin_testing.fakes.cloudwatch import (
    JSON_CONTENT_TYPE,
    TOKEN_INVALID,
    CloudWatchFake,
    Key,
    compile_filter_pattern,
    compile_insights,
    format_timestamp,
    sign_request,
)
from imbi_plugin_testing.scenarios import Steps, scenario_for

GROUP = '/aweber/billing-api'
T0 = 1_795_600_000_000  # 2026-11-25, after FilterLogEvents' 2024 cutoff
NS = '{https://sts.amazonaws.com/doc/2011-06-15/}'
JSON_EVENT = '{"level": "ERROR", "n": 5, "u": {"id": "a-1"}}'


@pytest.fixture
def fake() -> CloudWatchFake:
    fake = CloudWatchFake()
    fake.add_group(GROUP)
    return fake


@pytest.fixture
def key(fake: CloudWatchFake) -> Key:
    return fake.add_key('AKIAFAKETESTKEY00001', 'fake-test-secret-key')


@pytest.fixture
async def http(
    fake: CloudWatchFake,
) -> collections.abc.AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://logs.test'
    ) as client:
        yield client


class Caller:
    def __init__(self, http: httpx.AsyncClient, key: Key) -> None:
        self.http = http
        self.key = key

    async def raw(
        self,
        operation: str,
        params: dict[str, typing.Any],
        key: Key | None = None,
        service: str = 'logs',
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body = json.dumps(params).encode()
        signed = sign_request(
            key or self.key,
            body=body,
            headers={
                'content-type': JSON_CONTENT_TYPE,
                'x-amz-target': f'Logs_20140328.{operation}',
                **(headers or {}),
            },
            service=service,
            host='logs.test',
        )
        return await self.http.post('/', content=body, headers=signed)

    async def ok(
        self, operation: str, **params: typing.Any
    ) -> dict[str, typing.Any]:
        response = await self.raw(operation, params)
        assert response.status_code == 200, response.text
        answer: dict[str, typing.Any] = response.json()
        return answer

    async def error(
        self, operation: str, **params: typing.Any
    ) -> tuple[str, str]:
        response = await self.raw(operation, params)
        assert response.status_code == 400, response.text
        assert response.headers['content-type'] == JSON_CONTENT_TYPE
        body = response.json()
        assert set(body) == {'__type', 'message'}
        return body['__type'], body['message']

    async def sts(
        self, form: dict[str, str], key: Key | None = None
    ) -> ET.Element:
        body = urllib.parse.urlencode(form).encode()
        signed = sign_request(
            key or self.key,
            body=body,
            headers={'content-type': 'application/x-www-form-urlencoded'},
            service='sts',
            host='logs.test',
        )
        response = await self.http.post('/', content=body, headers=signed)
        self.status = response.status_code
        return ET.fromstring(response.text)  # noqa: S314 - our stand-in


@pytest.fixture
def call(http: httpx.AsyncClient, key: Key) -> Caller:
    return Caller(http, key)


def _put(fake: CloudWatchFake, *messages: str | dict[str, typing.Any]) -> None:
    for index, message in enumerate(messages):
        fake.put(GROUP, f'web-{index % 2}', T0 + index * 10, message)


# -- authentication ---------------------------------------------------------


async def test_missing_and_incomplete_signatures(
    http: httpx.AsyncClient,
) -> None:
    headers = {'x-amz-target': 'Logs_20140328.FilterLogEvents'}
    bare = await http.post('/', content=b'{}', headers=headers)
    assert bare.status_code == 400
    assert bare.json()['__type'] == 'MissingAuthenticationTokenException'
    odd = await http.post(
        '/', content=b'{}', headers={**headers, 'authorization': 'Basic x'}
    )
    assert odd.json()['__type'] == 'IncompleteSignatureException'


async def test_key_checks(call: Caller, fake: CloudWatchFake) -> None:
    params = {'logGroupName': GROUP}
    unknown = Key('AKIAUNKNOWN000000001', 'whatever-secret')
    response = await call.raw('FilterLogEvents', params, key=unknown)
    assert response.json() == {
        '__type': 'UnrecognizedClientException',
        'message': 'The security token included in the request is invalid.',
    }
    wrong = Key(call.key.access_key_id, 'not-the-secret')
    response = await call.raw('FilterLogEvents', params, key=wrong)
    assert response.json()['__type'] == 'InvalidSignatureException'
    response = await call.raw('FilterLogEvents', params, service='s3')
    assert response.json()['__type'] == 'InvalidSignatureException'
    temporary = fake.add_key(session_token='session-token-1')
    without = Key(temporary.access_key_id, temporary.secret_access_key)
    response = await call.raw('FilterLogEvents', params, key=without)
    assert response.json()['__type'] == 'UnrecognizedClientException'
    temporary.expires_at = 1.0
    response = await call.raw('FilterLogEvents', params, key=temporary)
    assert response.json()['__type'] == 'ExpiredTokenException'
    assert 'secret' not in repr(temporary)
    assert fake.calls == []


async def test_protocol_errors(call: Caller, http: httpx.AsyncClient) -> None:
    assert (await call.error('Frobnicate'))[0] == 'UnknownOperationException'
    plain = await http.post('/', content=b'x')
    assert plain.json()['__type'] == 'UnknownOperationException'
    body = b'not json'
    signed = sign_request(
        call.key,
        body=body,
        headers={'x-amz-target': 'Logs_20140328.FilterLogEvents'},
        host='logs.test',
    )
    response = await http.post('/', content=body, headers=signed)
    assert response.json()['__type'] == 'SerializationException'
    body = b'[1]'
    signed = sign_request(
        call.key,
        body=body,
        headers={'x-amz-target': 'Logs_20140328.FilterLogEvents'},
        host='logs.test',
    )
    response = await http.post('/', content=body, headers=signed)
    assert response.json()['__type'] == 'SerializationException'


async def test_operation_faults_and_permissions(
    call: Caller, fake: CloudWatchFake
) -> None:
    fake.fail_next(
        'FilterLogEvents', 'ThrottlingException', 'Rate exceeded', times=2
    )
    for _ in range(2):
        assert await call.error('FilterLogEvents', logGroupName=GROUP) == (
            'ThrottlingException',
            'Rate exceeded',
        )
    await call.ok('FilterLogEvents', logGroupName=GROUP, startTime=T0)
    fake.fail_next('StartQuery', 'ServiceUnavailableException', status=500)
    response = await call.raw('StartQuery', {})
    assert response.status_code == 500
    limited = fake.add_key(actions={'GetLogGroupFields'})
    denied = await call.raw(
        'FilterLogEvents', {'logGroupName': GROUP}, key=limited
    )
    assert denied.json()['__type'] == 'AccessDeniedException'
    assert 'logs:FilterLogEvents' in denied.json()['message']
    assert fake.operations()[-1] == 'FilterLogEvents'


# -- FilterLogEvents ----------------------------------------------------------


async def test_filter_log_events_parameters(call: Caller) -> None:
    assert (await call.error('FilterLogEvents'))[0] == (
        'InvalidParameterException'
    )
    assert await call.error('FilterLogEvents', logGroupName='/nope') == (
        'ResourceNotFoundException',
        'The specified log group does not exist.',
    )
    for params in (
        {'limit': 0},
        {'logStreamNames': ['a'], 'logStreamNamePrefix': 'a'},
        {'startFromHead': False},
        {'startFromHead': False, 'startTime': 1},
        {'filterPattern': '?ERROR ?WARN'},
    ):
        code, _ = await call.error(
            'FilterLogEvents', logGroupName=GROUP, **params
        )
        assert code == 'InvalidParameterException', params


async def test_newest_first_pages_and_tokens(
    call: Caller, fake: CloudWatchFake
) -> None:
    _put(fake, *[f'needle {i}' if i % 4 == 0 else 'hay' for i in range(12)])
    fake.scan_chunk = 3
    params = {
        'logGroupIdentifier': GROUP,
        'startTime': T0,
        'endTime': T0 + 1000,
        'filterPattern': '"needle"',
        'startFromHead': False,
        'limit': 10,
    }
    pages = []
    answer = await call.ok('FilterLogEvents', **params)
    pages.append(answer)
    while 'nextToken' in answer:
        answer = await call.ok(
            'FilterLogEvents', nextToken=answer['nextToken'], **params
        )
        pages.append(answer)
    messages = [e['message'] for p in pages for e in p['events']]
    assert messages == ['needle 8', 'needle 4', 'needle 0']
    assert [] in [p['events'] for p in pages]  # an empty page with a token
    first = await call.ok('FilterLogEvents', **params)
    other = dict(params, filterPattern='"hay"')
    assert await call.error(
        'FilterLogEvents', nextToken=first['nextToken'], **other
    ) == ('InvalidParameterException', TOKEN_INVALID)
    fake.expire_tokens()
    assert await call.error(
        'FilterLogEvents', nextToken=first['nextToken'], **params
    ) == ('InvalidParameterException', TOKEN_INVALID)
    oldest = await call.ok(
        'FilterLogEvents',
        logGroupName=GROUP,
        logStreamNamePrefix='web-1',
        limit=2,
    )
    assert [e['logStreamName'] for e in oldest['events']] == ['web-1'] * 2
    assert oldest['events'][0]['timestamp'] == T0 + 10


@pytest.mark.parametrize(
    ('pattern', 'matches'),
    [
        ('', ['ERROR a=1', JSON_EVENT]),
        ('"ERROR a"', ['ERROR a=1']),
        (
            'ERROR',
            ['ERROR a=1', JSON_EVENT],
        ),
        ('%a=[0-9]%', ['ERROR a=1']),
        (
            '{ $.level = "ERROR" }',
            [JSON_EVENT],
        ),
        ('{ $.level != "ERROR" }', []),
        (
            '{ $.u.id = "a*" && $.n = "5" }',
            [JSON_EVENT],
        ),
        (
            '{ $.u.id = %^a-[0-9]$% }',
            [JSON_EVENT],
        ),
        ('{ $.u = "x" }', []),
        ('{ $.level = "*RR*" }', [JSON_EVENT]),
        ('{ $.level = "*ROR" }', [JSON_EVENT]),
        ('{ $.level = "E*R" }', []),
        ('{ $.level = "*" }', [JSON_EVENT]),
        ('{ $.missing != "x" }', []),
    ],
)
def test_filter_pattern_semantics(pattern: str, matches: list[str]) -> None:
    fake = CloudWatchFake()
    events = [
        fake.put(GROUP, 's', T0, message)
        for message in (
            'ERROR a=1',
            {'level': 'ERROR', 'n': 5, 'u': {'id': 'a-1'}},
        )
    ]
    matcher = compile_filter_pattern(pattern)
    assert [e.message for e in events if matcher(e)] == matches


@pytest.mark.parametrize(
    'pattern',
    [
        '-ERROR',
        '{ $.a > 5 }',
        '{ $.a = "x" || $.b = "y" }',
        '{ $.a = "x"',
        '{ $.a = "x }',
        '%(a|b)%',
        '%%',
        '%a b%',
        '%[%',
        '%a% %b% %c%',
        '"' + 'x' * 1030 + '"',
    ],
)
def test_filter_patterns_the_stand_in_rejects(pattern: str) -> None:
    from imbi_plugin_testing.fakes.cloudwatch import AwsError

    with pytest.raises(AwsError) as raised:
        compile_filter_pattern(pattern)
    assert raised.value.code == 'InvalidParameterException'


# -- Logs Insights ----------------------------------------------------------


async def _run_query(
    call: Caller, query: str, **extra: typing.Any
) -> dict[str, typing.Any]:
    started = await call.ok(
        'StartQuery',
        logGroupName=GROUP,
        startTime=T0 // 1000,
        endTime=T0 // 1000 + 10,
        queryString=query,
        **extra,
    )
    while True:
        answer = await call.ok('GetQueryResults', queryId=started['queryId'])
        if answer['status'] == 'Complete':
            return answer


def _rows(answer: dict[str, typing.Any]) -> list[dict[str, str]]:
    return [{f['field']: f['value'] for f in row} for row in answer['results']]


async def test_query_life_cycle(call: Caller, fake: CloudWatchFake) -> None:
    _put(fake, 'ERROR one')
    fake.polls_scheduled = fake.polls_running = 1
    started = await call.ok(
        'StartQuery',
        logGroupNames=[GROUP],
        startTime=T0 // 1000,
        endTime=T0 // 1000,
        queryString='fields @message',
    )
    statuses = [
        (await call.ok('GetQueryResults', queryId=started['queryId']))[
            'status'
        ]
        for _ in range(3)
    ]
    assert statuses == ['Scheduled', 'Running', 'Complete']
    assert await call.ok('StopQuery', queryId=started['queryId']) == {
        'success': False
    }
    running = await call.ok(
        'StartQuery',
        logGroupName=GROUP,
        startTime=T0 // 1000,
        endTime=T0 // 1000,
        queryString='fields @message',
    )
    assert await call.ok('StopQuery', queryId=running['queryId']) == {
        'success': True
    }
    answer = await call.ok('GetQueryResults', queryId=running['queryId'])
    assert answer['status'] == 'Cancelled'
    assert answer['results'] == []
    assert (await call.error('GetQueryResults', queryId='nope'))[0] == (
        'ResourceNotFoundException'
    )
    fake.query_outcome = 'Failed'
    fake.polls_scheduled = fake.polls_running = 0
    failed = await call.ok(
        'StartQuery',
        logGroupName=GROUP,
        startTime=T0 // 1000,
        endTime=T0 // 1000,
        queryString='fields @message',
    )
    answer = await call.ok('GetQueryResults', queryId=failed['queryId'])
    assert answer['status'] == 'Failed'


async def test_start_query_errors(call: Caller, fake: CloudWatchFake) -> None:
    base = {'startTime': 1, 'endTime': 2, 'queryString': 'fields @message'}
    assert (await call.error('StartQuery', **base))[0] == (
        'InvalidParameterException'
    )
    assert (await call.error('StartQuery', logGroupName='/nope', **base))[
        0
    ] == 'ResourceNotFoundException'
    assert (
        await call.error('StartQuery', logGroupName=GROUP, queryString='x')
    )[0] == 'InvalidParameterException'
    assert (
        await call.error(
            'StartQuery', logGroupName=GROUP, **dict(base, endTime=0)
        )
    )[0] == 'InvalidParameterException'
    assert (
        await call.error(
            'StartQuery', logGroupName=GROUP, **dict(base, limit=10001)
        )
    )[0] == 'InvalidParameterException'
    code, _ = await call.error(
        'StartQuery', logGroupName=GROUP, **dict(base, queryString='oops')
    )
    assert code == 'MalformedQueryException'
    # AWS takes exactly one of logGroupName and logGroupNames
    code, _ = await call.error(
        'StartQuery', logGroupName=GROUP, logGroupNames=[GROUP], **base
    )
    assert code == 'InvalidParameterException'
    fake.max_concurrent_queries = 1
    await call.ok('StartQuery', logGroupName=GROUP, **base)
    assert (await call.error('StartQuery', logGroupName=GROUP, **base))[0] == (
        'LimitExceededException'
    )


def test_filter_expressions_with_or_not_and_parentheses() -> None:
    plan = compile_insights(
        'filter not (@message = "a" or @message like /^b/) and @logStream '
        '= "w" or @message = "z"'
    )
    (condition,) = plan.filters
    rows = [
        ({'@message': 'c', '@logStream': 'w'}, True),
        ({'@message': 'a', '@logStream': 'w'}, False),
        ({'@message': 'bb', '@logStream': 'w'}, False),
        ({'@message': 'c', '@logStream': 'v'}, False),
        ({'@message': 'z', '@logStream': 'v'}, True),
    ]
    assert [condition(row) for row, _ in rows] == [want for _, want in rows]


def test_bucket_fields_divide_where_no_regex_can_follow() -> None:
    plan = compile_insights(
        'filter @message like /a\\/b/'
        ' | fields floor((toMillis(@timestamp) - 1000) / 60000) as k'
        ' | stats count(*) as n by k, level'
    )
    assert plan.computed == [('k', 1000, 60000)]
    assert plan.stats == ('n', [('field', 0, 'k'), ('field', 0, 'level')])


@pytest.mark.parametrize(
    'query',
    [
        'oops',
        'fields',
        'fields @message |',
        'filter @message like 5',
        'filter @message < "a"',
        'filter @message = "\\q"',
        'filter @message like /(/',
        'filter toMillis(@message) < 1',
        'filter (@message = "a"',
        'filter @message = "a" xor @message = "b"',
        'filter @message like /(?=a)/',
        'filter @message like /(a)\\1/',
        'fields floor((toMillis(@timestamp) - 5) / 0) as k',
        'fields floor(toMillis(@timestamp)) as k',
        'sort @timestamp desc extra',
        'stats count(*) as n by bin(5x) as t',
        'stats count(*) as n by bin(0s) as t',
        'stats sum(*) as n',
        'fields @message ~',
        'fields ' + 'x' * 10001,
    ],
)
def test_malformed_queries(query: str) -> None:
    from imbi_plugin_testing.fakes.cloudwatch import AwsError

    with pytest.raises(AwsError) as raised:
        compile_insights(query)
    assert raised.value.code == 'MalformedQueryException'


async def test_insights_filters_sort_limit_and_fields(
    call: Caller, fake: CloudWatchFake
) -> None:
    _put(
        fake,
        'ERROR "quoted" a/b',
        'INFO fine',
        {'level': 'warn', 'user': {'id': 7}},
        'error lower',
    )
    everything = _rows(
        await _run_query(
            call,
            'fields @timestamp, @message, @logStream, @ingestionTime'
            ' | sort @timestamp desc | limit 3   ',
        )
    )
    assert [r['@message'] for r in everything] == [
        'error lower',
        '{"level": "warn", "user": {"id": 7}}',
        'INFO fine',
    ]
    assert everything[0]['@timestamp'] == format_timestamp(T0 + 30)
    assert set(everything[0]) == {
        '@timestamp',
        '@message',
        '@logStream',
        '@ingestionTime',
        '@ptr',
    }
    cases = {
        'filter @message like "\\"quoted\\""': ['ERROR "quoted" a/b'],
        'filter @message like /a\\/b/': ['ERROR "quoted" a/b'],
        'filter @message like /(?i)^error/': [
            'ERROR "quoted" a/b',
            'error lower',
        ],
        'filter @message = "INFO fine"': ['INFO fine'],
        'filter @message != "INFO fine" and @logStream = "web-0"': [
            'ERROR "quoted" a/b',
            '{"level": "warn", "user": {"id": 7}}',
        ],
        'filter `user.id` = "7"': ['{"level": "warn", "user": {"id": 7}}'],
        'filter `user.id` != "8"': ['{"level": "warn", "user": {"id": 7}}'],
        'filter `level` like "war"': ['{"level": "warn", "user": {"id": 7}}'],
        'filter `nope` like /x/': [],
        f'filter toMillis(@timestamp) > {T0 + 10}'
        f' and toMillis(@timestamp) <= {T0 + 20}': [
            '{"level": "warn", "user": {"id": 7}}'
        ],
        f'filter toMillis(@timestamp) >= {T0 + 30}': ['error lower'],
        f'filter toMillis(@timestamp) < {T0 + 10}': ['ERROR "quoted" a/b'],
        f'filter toMillis(@timestamp) = {T0 + 10}': ['INFO fine'],
        f'filter toMillis(@timestamp) != {T0 + 10}'
        ' and @message like "fine"': [],
    }
    for query, expected in cases.items():
        rows = _rows(
            await _run_query(
                call, f'fields @message | {query} | sort @timestamp asc'
            )
        )
        assert [r['@message'] for r in rows] == expected, query


async def test_insights_parse_and_stats(
    call: Caller, fake: CloudWatchFake
) -> None:
    _put(fake, 'ERROR a', 'WARN b', 'ERROR c', 'plain')
    answer = await _run_query(
        call,
        'parse @message /^(?<lvl>ERROR|WARN)/'
        ' | stats count(*) as n by bin(1s) as t, lvl',
    )
    rows = _rows(answer)
    assert {(r.get('lvl'), r['n']) for r in rows} == {
        ('ERROR', '2'),
        ('WARN', '1'),
        (None, '1'),
    }
    assert {r['t'] for r in rows} == {format_timestamp(T0 // 1000 * 1000)}
    assert answer['statistics']['recordsMatched'] == 4.0


async def test_log_group_fields(call: Caller, fake: CloudWatchFake) -> None:
    _put(fake, {'level': 'info', 'gone': None, 'list': [1]}, '{not json')
    answer = await call.ok(
        'GetLogGroupFields', logGroupName=GROUP, time=T0 // 1000 + 1
    )
    fields = {f['name']: f['percent'] for f in answer['logGroupFields']}
    assert fields['@message'] == 100
    assert fields['level'] == 50
    assert 'gone' not in fields
    assert 'list' not in fields
    assert '@ptr' not in fields


# -- STS --------------------------------------------------------------------


async def test_assume_role(call: Caller, fake: CloudWatchFake) -> None:
    role = fake.add_role('reader', [call.key], external_id='ext')
    form = {
        'Action': 'AssumeRole',
        'Version': '2011-06-15',
        'RoleArn': role.arn,
        'RoleSessionName': 'imbi-test',
        'DurationSeconds': '900',
        'ExternalId': 'ext',
    }
    document = await call.sts(form)
    assert call.status == 200
    creds = document.find(f'{NS}AssumeRoleResult/{NS}Credentials')
    assert creds is not None
    assumed = Key(
        creds.findtext(f'{NS}AccessKeyId') or '',
        creds.findtext(f'{NS}SecretAccessKey') or '',
        creds.findtext(f'{NS}SessionToken'),
    )
    assert assumed.access_key_id.startswith('ASIA')
    assert (creds.findtext(f'{NS}Expiration') or '').endswith('Z')
    response = await call.raw(
        'GetLogGroupFields', {'logGroupName': GROUP}, key=assumed
    )
    assert response.status_code == 200
    assert fake.calls[-1] == ('GetLogGroupFields', assumed.access_key_id)


@pytest.mark.parametrize(
    ('change', 'status', 'code'),
    [
        ({'Action': 'GetCallerIdentity'}, 400, 'InvalidAction'),
        ({'RoleSessionName': 'bad name'}, 400, 'ValidationError'),
        ({'DurationSeconds': '60'}, 400, 'ValidationError'),
        ({'ExternalId': 'wrong'}, 403, 'AccessDenied'),
        (
            {'RoleArn': 'arn:aws:iam::123456789012:role/other'},
            403,
            'AccessDenied',
        ),
    ],
)
async def test_assume_role_errors(
    call: Caller,
    fake: CloudWatchFake,
    change: dict[str, str],
    status: int,
    code: str,
) -> None:
    role = fake.add_role('reader', [call.key], external_id='ext')
    form = {
        'Action': 'AssumeRole',
        'RoleArn': role.arn,
        'RoleSessionName': 'imbi-test',
        'ExternalId': 'ext',
        **change,
    }
    document = await call.sts(form)
    assert call.status == status
    assert document.tag == f'{NS}ErrorResponse'
    assert document.findtext(f'{NS}Error/{NS}Code') == code
    assert document.findtext(f'{NS}Error/{NS}Type') == 'Sender'


async def test_sts_credential_errors(
    call: Caller, fake: CloudWatchFake
) -> None:
    form = {'Action': 'AssumeRole', 'RoleArn': 'x', 'RoleSessionName': 'ab'}
    unknown = Key('AKIAUNKNOWN000000001', 'whatever-secret')
    document = await call.sts(form, key=unknown)
    assert (call.status, document.findtext(f'{NS}Error/{NS}Code')) == (
        403,
        'InvalidClientTokenId',
    )
    document = await call.sts(form, key=Key(call.key.access_key_id, 'wrong'))
    assert document.findtext(f'{NS}Error/{NS}Code') == 'SignatureDoesNotMatch'
    expired = fake.add_key(session_token='tok-1', expires_at=1.0)
    document = await call.sts(form, key=expired)
    assert (call.status, document.findtext(f'{NS}Error/{NS}Code')) == (
        400,
        'ExpiredToken',
    )
    fake.fail_next('AssumeRole', 'InternalFailure', 'boom', status=500)
    document = await call.sts(form)
    assert call.status == 500
    assert document.findtext(f'{NS}Error/{NS}Type') == 'Receiver'


# -- real clients -----------------------------------------------------------


def test_boto3_against_the_served_stand_in(fake: CloudWatchFake) -> None:
    """botocore's signing, protocols and error parsing agree with the fake."""
    key = fake.add_key()
    role = fake.add_role('reader', [key])
    _put(fake, 'ERROR one', 'INFO two')
    with fake.serve() as url:
        session = boto3.session.Session(
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
            region_name='us-east-1',
        )
        logs = session.client('logs', endpoint_url=url)
        answer = logs.filter_log_events(
            logGroupName=GROUP,
            startTime=T0,
            filterPattern='"ERROR"',
            startFromHead=False,
        )
        assert [e['message'] for e in answer['events']] == ['ERROR one']
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            logs.filter_log_events(logGroupName='/nope')
        assert raised.value.response['Error']['Code'] == (
            'ResourceNotFoundException'
        )
        sts = session.client('sts', endpoint_url=url)
        assumed = sts.assume_role(RoleArn=role.arn, RoleSessionName='imbi')
        assert assumed['Credentials']['AccessKeyId'].startswith('ASIA')
        with pytest.raises(botocore.exceptions.ClientError) as denied:
            sts.assume_role(RoleArn=role.arn + 'x', RoleSessionName='imbi')
        assert denied.value.response['Error']['Code'] == 'AccessDenied'


async def test_demo_scenario_runs() -> None:
    module = scenario_for('cloudwatch')
    assert module is not None
    steps = Steps('cloudwatch')
    await module.run(steps)
    assert [r.ok for r in steps.results] == [True] * len(steps.results)
