"""Matrix profile of the CloudWatch Logs plugin (one log group, 40 events).

The stand-in serves CloudWatch Logs (JSON 1.1) and STS on one endpoint,
so every request is ``POST /`` and a matrix fault hits every request of
a call: FilterLogEvents for a query a filter pattern expresses exactly,
StartQuery/GetQueryResults for one that needs Logs Insights, the same
for the histogram, and GetLogGroupFields for the schema. No ``role_arn``
is set: STS speaks the query protocol (XML errors), and one fault body
cannot be faithful to both protocols, so the matrix drives the Logs
path; STS faults have their own tests in packages/cloudwatch.

Times are fixed (the plugin binds cursors to the time range, and
FilterLogEvents is only chosen from 2024-01-01 on), so every fake and
every query agree.
"""

import datetime
import pathlib
import typing

from imbi_plugin_testing._host import LogQuery
from imbi_plugin_testing.contract import ContractSpec
from imbi_plugin_testing.fakes.cloudwatch import (
    ACCOUNT,
    JSON_CONTENT_TYPE,
    CloudWatchFake,
)
from imbi_plugin_testing.host import Host
from imbi_plugin_testing.profiles import BadInput, Profile, UpstreamCall
from imbi_plugin_testing.secrets import current_scan
from imbi_plugin_testing.standin import Fault, StandIn

TEMPLATE = '/${org_slug}/${environment}/${project_slug}'
#: The template names the environment: calls name one, as the UI does.
PROD = ['production']
GROUP = '/aweber/production/billing-api'
END = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)
START = END - datetime.timedelta(minutes=15)
_KEY_ID = 'AKIAMATRIXPROFILE001'
_SECRET = 'matrix-profile-secret-access-key'  # noqa: S105 - the stand-in's
_CONTRACT_KEY_ID = 'AKIACONTRACTMATRIX01'
_CONTRACT_SECRET = 'contract-matrix-secret-key'  # noqa: S105 - ditto

#: A query FilterLogEvents expresses exactly: a term in text messages.
FILTER_QUERY = ['message:contains:declined']


def _fake() -> StandIn:
    fake = CloudWatchFake()
    # Insights answers at the second poll: the life cycle is exercised
    # without spending the matrix's budget.
    fake.polls_scheduled = 1
    fake.polls_running = 0
    fake.add_key(_KEY_ID, _SECRET)
    fake.add_group(GROUP)
    levels = ('INFO', 'INFO', 'WARN', 'ERROR')
    for index in range(40):
        moment = END - datetime.timedelta(seconds=20 * index + 5)
        level = levels[index % len(levels)]
        outcome = 'declined' if index % 5 else 'ok'
        fake.put(
            GROUP,
            f'web-{index % 2}',
            moment,
            f'{level} payment {index} {outcome}',
        )
    return fake


def _host(fake: StandIn, url: str, budget: int) -> Host:
    from imbi_plugin_testing.generation import plugin_under_test

    CloudWatchPlugin = plugin_under_test('imbi_plugin_cloudwatch')

    return Host(
        CloudWatchPlugin,
        plugin_options={
            'region': 'us-east-1',
            'endpoint_url': url,
            'log_group_template': TEMPLATE,
            'timeout_seconds': budget,
        },
        credentials={
            'access_key_id': _KEY_ID,
            'secret_access_key': _SECRET,
        },
    )


def _query(**fields: typing.Any) -> LogQuery:
    fields.setdefault('start', START)
    fields.setdefault('end', END)
    return Host.log_query(**fields)


def _with(host: Host, **options: typing.Any) -> Host:
    host.project_options.update(options)
    return host


def _search(host: Host, **fields: typing.Any) -> typing.Any:
    return host.search(_query(**fields), PROD)


def _minted_cursor(host: Host, filters: list[str]) -> str:
    """A cursor the plugin itself would hand out for ``filters``.

    Minted with the plugin's own modules (no request): a genuine
    FilterLogEvents cursor, but of the query with ``filters``.
    """
    from imbi_plugin_cloudwatch import cursor, options, query

    ctx = host.context('logs', environment='production')
    opts = options.read_options(ctx)
    translation = query.translate(_query(filters=filters), opts)
    return cursor.encode(
        cursor.FilterPosition(
            'f/38291046251930127360/s',
            translation.start_ms,
            translation.end_ms,
        ),
        query.fingerprint(translation, opts),
    )


def _forged_insights(host: Host) -> str:
    """An Insights position an hour past the range, its check recomputed.

    The check is an unkeyed digest of public inputs, so a forger can
    always recompute it: the position itself has to be checked.
    """
    from imbi_plugin_cloudwatch import cursor, options, query

    ctx = host.context('logs', environment='production')
    opts = options.read_options(ctx)
    translation = query.translate(_query(levels=['error']), opts)
    return cursor.encode(
        cursor.InsightsPosition(
            translation.end_ms + 3_600_000,
            frozenset(),
            translation.start_ms,
            translation.end_ms,
        ),
        query.fingerprint(translation, opts),
    )


def _tampered(host: Host) -> str:
    """This query's own cursor with its nextToken edited by hand."""
    import base64
    import json

    genuine = _minted_cursor(host, FILTER_QUERY)
    payload, _, check = genuine.partition('.')
    body = json.loads(base64.urlsafe_b64decode(payload + '==='))
    body['t'] = 'f/99999999999999999999/s'
    edited = base64.urlsafe_b64encode(
        json.dumps(body, separators=(',', ':')).encode()
    )
    return f'{edited.decode().rstrip("=")}.{check}'


def _contract() -> ContractSpec:
    from imbi_plugin_testing.generation import V3, plugin_under_test

    CloudWatchPlugin = plugin_under_test('imbi_plugin_cloudwatch')
    # v3 requires auth_mode; an Integration saved before that has none.
    mode = {'auth_mode': 'keys'} if V3 else {}

    scan = current_scan()
    if scan is not None:
        # The suite builds its own calls (no Host registers these).
        scan.add(_CONTRACT_KEY_ID, _CONTRACT_SECRET)

    async def call(
        plugin: typing.Any, ctx: typing.Any, creds: dict[str, str]
    ) -> typing.Any:
        return await plugin.search(ctx, creds, Host.log_query())

    return ContractSpec(
        plugin=CloudWatchPlugin,
        readme=pathlib.Path('packages/cloudwatch/README.md'),
        credentials={
            'access_key_id': _CONTRACT_KEY_ID,
            'secret_access_key': _CONTRACT_SECRET,
            **mode,
        },
        options=lambda url: {'region': 'us-east-1', 'endpoint_url': url},
        call=call,
        context_kind='logs',
        missing_credentials=[
            {},
            {'access_key_id': _CONTRACT_KEY_ID},
            {'secret_access_key': _CONTRACT_SECRET},
            {'access_key_id': '', 'secret_access_key': ''},
        ],
        inferred_credentials=('auth_mode',),
    )


def _aws_error(code: str, message: str) -> Fault:
    """An AWS JSON 1.1 error answer as CloudWatch Logs sends it.

    botocore reads the code from ``__type`` (the header is what AWS
    sends alongside it); the status comes from the matrix's fault.
    """
    return Fault(
        body={'__type': code, 'message': message},
        headers={
            'content-type': JSON_CONTENT_TYPE,
            'x-amzn-ErrorType': code,
            'x-amzn-RequestId': '5d1c7f4e-2b1a-4c3e-9f00-6d61747269780a',
        },
    )


#: What CloudWatch Logs sends for each fault. AWS answers the 4xx ones
#: with HTTP 400; the matrix fixes the status, and the plugin maps by
#: the error code botocore reads from ``__type``. Statuses without an
#: AWS code (a proxy's) are mapped by status: tests/test_faults.py in
#: packages/cloudwatch covers those.
ERROR_BODIES: dict[str, Fault] = {
    # A key AWS does not know (deleted, or of another partition).
    '401': _aws_error(
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
    ),
    # A valid key without the logs:* permission.
    '403': _aws_error(
        'AccessDeniedException',
        f'User: arn:aws:iam::{ACCOUNT}:user/imbi is not authorized to '
        'perform this action because no identity-based policy allows it',
    ),
    # An AWS JSON endpoint has one path (POST /): the only "not found"
    # CloudWatch Logs sends is ResourceNotFoundException for the log
    # group (HTTP 400 on AWS; botocore maps it by __type). A raw 404
    # with a body of no AWS shape would come from a proxy in front of a
    # private endpoint_url, not from CloudWatch: PluginUnavailableError
    # asking whether endpoint_url is a CloudWatch Logs endpoint (the
    # package's test_bare_404_points_at_endpoint_url).
    '404': _aws_error(
        'ResourceNotFoundException', 'The specified log group does not exist.'
    ),
    '429': _aws_error('ThrottlingException', 'Rate exceeded'),
    '500': _aws_error(
        'InternalFailure',
        'The request processing has failed because of an unknown error, '
        'exception or failure.',
    ),
    '503': _aws_error(
        'ServiceUnavailableException', 'The service is unavailable.'
    ),
}

#: A missing log group is a configuration error the operator fixes in
#: log_group_template: the plugin names the group and region.
_NOT_FOUND = {'404': 'ValueError'}


def profile() -> Profile:
    return Profile(
        slug='cloudwatch',
        folder='cloudwatch',
        make_fake=_fake,
        make_host=_host,
        calls=[
            # 'declined' is a bare term of text messages: FilterLogEvents.
            UpstreamCall(
                'search_filter',
                lambda h: _search(h, filters=FILTER_QUERY, limit=5),
                _NOT_FOUND,
            ),
            # Levels match case-insensitively with synonyms, which only
            # Logs Insights expresses: StartQuery + GetQueryResults.
            UpstreamCall(
                'search_insights',
                lambda h: _search(h, levels=['error', 'warning'], limit=5),
                _NOT_FOUND,
            ),
            UpstreamCall(
                'histogram',
                lambda h: h.histogram(_query(), PROD, bucket_count=15),
                _NOT_FOUND,
            ),
            UpstreamCall(
                'schema', lambda h: h.schema('production'), _NOT_FOUND
            ),
        ],
        bad_inputs=[
            BadInput(
                'unbalanced regex',
                lambda h: _search(h, filters=['message:regex:pay(ment']),
                'ValueError',
                'invalid regular expression',
            ),
            BadInput(
                'backreference to a missing group',
                lambda h: _search(h, filters=[r'message:regex:(a)\2']),
                'ValueError',
                'invalid regular expression',
            ),
            # AWS has no lookaround (Python's re has): refused by name.
            BadInput(
                'lookahead in filter mode',
                lambda h: _search(
                    _with(h, query_mode='filter'),
                    filters=['message:regex:pay(?!ment)'],
                ),
                'ValueError',
                'does not support lookaround',
            ),
            BadInput(
                'backreference',
                lambda h: _search(h, filters=['message:regex:(a)\\1']),
                'ValueError',
                'does not support backreferences',
            ),
            # Filter patterns have no parentheses: a group cannot be a
            # %regex%, and query_mode=filter forbids Insights.
            BadInput(
                'group in filter mode',
                lambda h: _search(
                    _with(h, query_mode='filter'),
                    filters=['message:regex:(pay|refund)'],
                ),
                'ValueError',
                "query_mode is 'filter'",
            ),
            # A quoted filter-pattern term holds neither * nor ".
            BadInput(
                'wildcard value in filter mode',
                lambda h: _search(
                    _with(h, query_mode='filter'),
                    filters=['message:contains:pay*ment'],
                ),
                'ValueError',
                ", * or \\ exactly; use query_mode 'auto'",
            ),
            BadInput(
                'quoted value in filter mode',
                lambda h: _search(
                    _with(h, query_mode='filter', message_format='json'),
                    filters=['user:eq:say "hi"'],
                ),
                'ValueError',
                "query_mode is 'filter'",
            ),
            BadInput(
                'field name with a backtick and pipe',
                lambda h: _search(
                    _with(h, message_format='json'),
                    filters=['a`| stats count(*) by b:eq:x'],
                ),
                'ValueError',
                'cannot filter on',
            ),
            BadInput(
                'field name with a newline',
                lambda h: _search(
                    _with(h, message_format='json'),
                    filters=['level\n| limit 1:eq:x'],
                ),
                'ValueError',
                'field names are letters, digits, underscores and hyphens',
            ),
            BadInput(
                'field on text logs',
                lambda h: _search(h, filters=['user:eq:x']),
                'ValueError',
                "set message_format to 'json'",
            ),
            BadInput(
                'level with a quote',
                lambda h: _search(h, levels=['error" or @message like /']),
                'ValueError',
                'not a level name',
            ),
            BadInput(
                'log group template with braces and quotes',
                lambda h: _search(
                    _with(h, log_group_template='/x/{"a": `b`}')
                ),
                'ValueError',
                'log_group_template',
            ),
            BadInput(
                'start after end',
                lambda h: h.histogram(_query(start=END, end=START), PROD),
                'ValueError',
                'start_time must not be after end_time',
            ),
            BadInput(
                'tampered cursor',
                lambda h: _search(
                    h, filters=FILTER_QUERY, limit=5, cursor=_tampered(h)
                ),
                'CursorExpiredError',
                'start the search again',
            ),
            BadInput(
                "another query's cursor",
                lambda h: _search(
                    h,
                    filters=FILTER_QUERY,
                    limit=5,
                    cursor=_minted_cursor(h, ['message:contains:ok']),
                ),
                'CursorExpiredError',
                'belongs to another query',
            ),
            BadInput(
                'forged Insights position past the end',
                lambda h: _search(
                    h, levels=['error'], cursor=_forged_insights(h)
                ),
                'CursorExpiredError',
                "outside the query's time range",
            ),
            BadInput(
                'cursor that is not one',
                lambda h: _search(
                    h,
                    levels=['error'],
                    cursor='../../etc/passwd',
                ),
                'CursorExpiredError',
                'start the search again',
            ),
            # The host answers 503 for this (PluginCredentialsMissing is
            # the error policy's exception for half a key pair): it names
            # the missing field and nothing is signed or sent.
            BadInput(
                'key id without secret',
                lambda h: _without_secret(h).search(_query(), PROD),
                'PluginCredentialsMissing',
                "credential 'secret_access_key' is missing",
            ),
            BadInput(
                'unknown query_mode',
                lambda h: _search(_with(h, query_mode='fast')),
                'ValueError',
                "option 'query_mode' must be one of auto, filter, insights",
            ),
            BadInput(
                'region with a path',
                lambda h: _search(_with(h, region='us-east-1/../evil')),
                'ValueError',
                "option 'region' is not a region name",
            ),
            BadInput(
                'endpoint_url with credentials',
                lambda h: _search(
                    _with(h, endpoint_url='http://user:pw@127.0.0.1:1')
                ),
                'ValueError',
                "option 'endpoint_url' must be an http(s) URL",
            ),
            BadInput(
                'endpoint_url not http',
                lambda h: _with(
                    h, endpoint_url='ftp://logs.example.com'
                ).schema('production'),
                'ValueError',
                "option 'endpoint_url'",
            ),
            BadInput(
                'log_group_template listing a bad name',
                lambda h: _search(
                    _with(h, log_group_template='/ok/${project_slug}, a b')
                ),
                'ValueError',
                'is not a valid log group name',
            ),
            BadInput(
                'log_group_template listing more than 50 groups',
                lambda h: _search(
                    _with(
                        h,
                        log_group_template=','.join(
                            f'/g/{i}' for i in range(51)
                        ),
                    )
                ),
                'ValueError',
                'more than 50 log groups',
            ),
            BadInput(
                'base_filter starting a new command',
                lambda h: _search(
                    _with(h, base_filter='@message like /a/ | stats count(*)')
                ),
                'ValueError',
                "option 'base_filter' is one filter expression",
            ),
            BadInput(
                'base_filter escaping its parentheses',
                lambda h: _with(
                    h, base_filter='a = "x") or (b = "y"'
                ).histogram(h.log_query(), PROD, bucket_count=10),
                'ValueError',
                "option 'base_filter' has unbalanced parentheses",
            ),
            BadInput(
                'base_filter hiding a parenthesis in a comment',
                lambda h: _search(_with(h, base_filter='true # (\n) or true')),
                'ValueError',
                "option 'base_filter' cannot hold # (a comment)",
            ),
            BadInput(
                'base_filter hiding parentheses between divisions',
                lambda h: _search(
                    _with(h, base_filter='mylike /x > 0) or (1/1 > 0')
                ),
                'ValueError',
                "option 'base_filter' has unbalanced parentheses",
            ),
            BadInput(
                'base_filter in filter mode',
                lambda h: _search(
                    _with(h, base_filter='a = "x"', query_mode='filter')
                ),
                'ValueError',
                'base_filter is a Logs Insights expression',
            ),
            BadInput(
                'sts_endpoint_url not http',
                lambda h: _search(
                    _with(h, sts_endpoint_url='ftp://sts.example.com')
                ),
                'ValueError',
                "option 'sts_endpoint_url'",
            ),
            BadInput(
                'non-numeric timeout_seconds',
                lambda h: _search(_with(h, timeout_seconds='soon')),
                'ValueError',
                "option 'timeout_seconds' must be an integer",
            ),
        ],
        contract=_contract,
        error_bodies=ERROR_BODIES,
    )


def _without_secret(host: Host) -> Host:
    host.credentials = {'access_key_id': _KEY_ID}
    return host
