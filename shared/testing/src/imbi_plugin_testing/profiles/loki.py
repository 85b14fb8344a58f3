"""Matrix profile of the Loki plugin (Grafana Cloud style, JSON lines).

The stand-in sits behind basic auth whose user is the tenant, as Grafana
Cloud's gateway does, and holds JSON logs of billing-api in production
and staging. The Host searches, charts and describes them with
``line_format=json`` and an environment-aware selector, so every method
builds the full LogQL (selector, filters, parser, level filter) before
its first request.
"""

import base64
import datetime
import json
import pathlib
import time
import typing

from imbi_plugin_testing._host import LogQuery
from imbi_plugin_testing.contract import ContractSpec
from imbi_plugin_testing.fakes.loki import LokiFake
from imbi_plugin_testing.host import Host, HostResponse
from imbi_plugin_testing.profiles import BadInput, Profile, UpstreamCall
from imbi_plugin_testing.secrets import current_scan
from imbi_plugin_testing.standin import Fault, StandIn

#: Grafana Cloud's Loki user: the stack's tenant id.
USER = 'stack-918273'
_PASSWORD = 'glc_matrix-access-policy-token-4f1d'  # noqa: S105 - the fake's
_CONTRACT_PASSWORD = 'glc_contract-access-policy-token-77a0'  # noqa: S105
_SECOND = 1_000_000_000
_LEVELS = ('info', 'INFO', 'warning', 'Error')
_SELECTOR = '{service_name="${project_slug}", env="${environment}"}'


def _fake() -> StandIn:
    fake = LokiFake()
    fake.users = {USER: _PASSWORD}
    now = time.time_ns()
    for env in ('production', 'staging'):
        entries = []
        for i in range(40):
            level = _LEVELS[i % len(_LEVELS)]
            line = {
                'level': level,
                'message': f'{env} request {i}',
                'status': 500 if level == 'Error' else 200,
            }
            entries.append((now - (i + 1) * 15 * _SECOND, json.dumps(line)))
        fake.push(
            {'service_name': 'billing-api', 'env': env, 'pod': '0'},
            entries,
            tenant=USER,
        )
    return fake


def _host(fake: StandIn, url: str, budget: int) -> Host:
    from imbi_plugin_testing.generation import plugin_under_test

    LokiPlugin = plugin_under_test('imbi_plugin_loki')

    return Host(
        LokiPlugin,
        plugin_options={
            'url': url,
            'line_format': 'json',
            'selector_template': _SELECTOR,
            'timeout_seconds': budget,
        },
        credentials={'username': USER, 'password': _PASSWORD},
    )


async def _search_contract(
    plugin: typing.Any, ctx: typing.Any, credentials: dict[str, str]
) -> typing.Any:
    return await plugin.search(ctx, credentials, Host.log_query())


def _contract() -> ContractSpec:
    from imbi_plugin_testing.generation import V3, plugin_under_test

    LokiPlugin = plugin_under_test('imbi_plugin_loki')
    # v3 requires auth_mode; an Integration saved before that has none.
    mode = {'auth_mode': 'basic'} if V3 else {}

    scan = current_scan()
    if scan is not None:
        scan.add(_CONTRACT_PASSWORD)
    return ContractSpec(
        plugin=LokiPlugin,
        readme=pathlib.Path('packages/loki/README.md'),
        credentials={
            'username': USER,
            'password': _CONTRACT_PASSWORD,
            **mode,
        },
        options=lambda url: {'url': url, 'tenant': 'team-a'},
        call=_search_contract,
        context_kind='logs',
        # The credentials themselves are optional, but half a basic-auth
        # pair is PluginCredentialsMissing before any request.
        missing_credentials=[
            {'username': USER},
            {'password': _CONTRACT_PASSWORD},
            {'username': USER, 'password': ''},
        ],
        inferred_credentials=('auth_mode',),
    )


# -- cursors minted without asking Loki -----------------------------------


def _fingerprint(host: Host, query: LogQuery, **options: str) -> bytes:
    """The key the plugin binds a cursor to, for ``query`` on ``host``.

    Built with the plugin's own translation, so a cursor encoded with it
    is exactly one the plugin would have handed out for that query.
    """
    from imbi_plugin_loki import cursor
    from imbi_plugin_loki import options as loki_options
    from imbi_plugin_loki import query as translate

    opts = loki_options.read_options({**host.options(), **options})
    ctx = host.context('logs', environment='production')
    selector = translate.build_selector(opts.selector_template, ctx)
    logql = translate.log_query(
        selector,
        translate.build_pipeline(opts, query.filters, query.levels),
    )
    return cursor.fingerprint(logql, opts.tenant, opts.url)


def _boundary(query: LogQuery) -> tuple[int, int]:
    """The range's start and where an earlier page ended: five minutes
    before the range's end."""
    end = query.end_time - datetime.timedelta(minutes=5)
    return int(query.start_time.timestamp()) * _SECOND, int(
        end.timestamp()
    ) * _SECOND


def _mint(key: bytes, position: tuple[int, int]) -> str:
    from imbi_plugin_loki import cursor

    return cursor.encode(key, *position, {b'\x01' * 8})


def _raw(token: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(token + '=' * (-len(token) % 4)))


def _token(raw: bytes | bytearray) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b'=').decode('ascii')


def _page_two(
    host: Host, query: LogQuery, cursor_text: str
) -> typing.Awaitable[HostResponse]:
    return host.search(
        query.model_copy(update={'cursor': cursor_text}), ['production']
    )


async def _tampered(host: Host) -> HostResponse:
    """This query's cursor with its boundary moved an hour back."""
    query = host.log_query(limit=10)
    raw = _raw(_mint(_fingerprint(host, query), _boundary(query)))
    body = 1 + 12  # version byte, then the 12-byte check
    moved = int.from_bytes(raw[body : body + 8], 'big') - 3600 * _SECOND
    raw[body : body + 8] = moved.to_bytes(8, 'big', signed=True)
    return await _page_two(host, query, _token(raw))


async def _foreign_query(host: Host) -> HostResponse:
    """A cursor handed out for the same range with other levels."""
    query = host.log_query(limit=10)
    other = query.model_copy(update={'levels': ['warn']})
    token = _mint(_fingerprint(host, other), _boundary(query))
    return await _page_two(host, query, token)


async def _foreign_loki(host: Host) -> HostResponse:
    """A cursor handed out by the same query against another Loki."""
    query = host.log_query(limit=10)
    key = _fingerprint(host, query, url='https://logs-prod-006.grafana.net')
    return await _page_two(host, query, _mint(key, _boundary(query)))


async def _other_version(host: Host) -> HostResponse:
    query = host.log_query(limit=10)
    raw = _raw(_mint(_fingerprint(host, query), _boundary(query)))
    raw[0] = 1  # the version before cursors carried their start
    return await _page_two(host, query, _token(raw))


async def _truncated(host: Host) -> HostResponse:
    query = host.log_query(limit=10)
    token = _mint(_fingerprint(host, query), _boundary(query))
    return await _page_two(host, query, token[:-5])


# -- the profile ----------------------------------------------------------


def _with(host: Host, **options: typing.Any) -> Host:
    host.project_options.update(options)
    return host


def _search(
    host: Host, *filters: str, **fields: typing.Any
) -> typing.Awaitable[HostResponse]:
    return host.search(host.log_query(filters=list(filters), **fields))


def _both_auth_kinds(host: Host) -> typing.Awaitable[HostResponse]:
    host.credentials['token'] = 'matrix-bearer-token-9c2e'  # noqa: S105
    scan = current_scan()
    if scan is not None:
        scan.add(host.credentials['token'])
    return host.search(host.log_query())


def _teamless(host: Host) -> typing.Awaitable[HostResponse]:
    # A project without a team: the template's only matcher is team="".
    host.project['team_slug'] = None
    return _search(_with(host, selector_template='{team="${team_slug}"}'))


def _upside_down(host: Host) -> typing.Awaitable[HostResponse]:
    end = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    return host.search(
        host.log_query(start=end + datetime.timedelta(minutes=5), end=end)
    )


def _bad_inputs() -> list[BadInput]:
    re2_reason = 'is not a valid RE2 regular expression'
    return [
        # -- regexes RE2 (Loki's engine) refuses --------------------------
        BadInput(
            'message regex with a lookahead',
            lambda h: _search(h, 'message:regex:^(?=.*timeout)'),
            'ValueError',
            re2_reason,
        ),
        BadInput(
            'field regex with a backreference',
            lambda h: _search(h, 'user:regex:(ab)\\1'),
            'ValueError',
            'filter user',
        ),
        BadInput(
            'histogram message regex with a lookbehind',
            lambda h: h.histogram(
                h.log_query(filters=['message:regex:(?<!GET )/health']),
                bucket_count=30,
            ),
            'ValueError',
            'no lookaround',
        ),
        BadInput(
            'injection-shaped regex value',
            lambda h: _search(h, 'status:regex:5.."} or vector(1) ('),
            'ValueError',
            re2_reason,
        ),
        # -- field names Loki's parsers cannot produce ---------------------
        # (other characters are sanitized to _ as Loki's parsers do, so
        # 'level"} |= "x' becomes the label level_____x, never syntax)
        BadInput(
            'field name closing the selector, with a NUL',
            lambda h: _search(h, 'level"}\x00|= "x:eq:error'),
            'ValueError',
            'is not a field name',
        ),
        BadInput(
            'field name with a backtick and a newline',
            lambda h: _search(h, 'a`b\nc:contains:x'),
            'ValueError',
            'is not a field name',
        ),
        BadInput(
            'blank field name',
            lambda h: _search(h, '   :ne:200'),
            'ValueError',
            'filter field',
        ),
        BadInput(
            'histogram field name with braces and a tab',
            lambda h: h.histogram(
                h.log_query(filters=['{{.sta\ttus}}:eq:500']),
                bucket_count=30,
            ),
            'ValueError',
            'is not a field name',
        ),
        BadInput(
            'blank level',
            lambda h: _search(h, levels=['error', ' ']),
            'ValueError',
            'empty level',
        ),
        BadInput(
            'start after end',
            _upside_down,
            'ValueError',
            'start time must be before the end time',
        ),
        # -- selector templates that expand to no valid selector ----------
        BadInput(
            'selector template smuggling a pipeline',
            lambda h: _search(
                _with(
                    h,
                    selector_template='{service_name="${project_slug}"} '
                    '|= "x"',
                )
            ),
            'ValueError',
            'selector_template',
        ),
        BadInput(
            'selector template expanding to an empty-matching selector',
            _teamless,
            'ValueError',
            'excludes the empty value',
        ),
        BadInput(
            'selector template whose regex matcher expands to a lookahead',
            lambda h: _search(
                _with(h, selector_template='{app=~"(?=${project_slug})"}')
            ),
            'ValueError',
            'selector matcher app',
        ),
        BadInput(
            'selector template with an unknown variable',
            lambda h: _with(
                h, selector_template='{app="${password}"}'
            ).schema(),
            'ValueError',
            'selector_template',
        ),
        BadInput(
            'selector template matching every stream (schema)',
            lambda h: _with(
                h, selector_template='{service_name=~".*"}'
            ).schema(),
            'ValueError',
            'excludes the empty value',
        ),
        BadInput(
            'selector template with an unterminated raw string',
            lambda h: h.histogram(
                _with(h, selector_template='{app=`billing}').log_query(),
                bucket_count=30,
            ),
            'ValueError',
            'unterminated string',
        ),
        # -- cursors: tampered, foreign, undecodable ----------------------
        BadInput(
            'cursor that is not base64',
            lambda h: _search(h, cursor='not a cursor!'),
            'CursorExpiredError',
            'the cursor is not valid',
        ),
        BadInput(
            'truncated cursor',
            _truncated,
            'CursorExpiredError',
            'the cursor is not valid',
        ),
        BadInput(
            'cursor from another plugin version',
            _other_version,
            'CursorExpiredError',
            'another version',
        ),
        BadInput(
            'tampered cursor (boundary moved)',
            _tampered,
            'CursorExpiredError',
            'was altered',
        ),
        BadInput(
            'foreign cursor (other levels)',
            _foreign_query,
            'CursorExpiredError',
            'belongs to another query',
        ),
        BadInput(
            'foreign cursor (another Loki)',
            _foreign_loki,
            'CursorExpiredError',
            'belongs to another query',
        ),
        # -- option values ------------------------------------------------
        BadInput(
            'line_format not a choice',
            lambda h: _search(_with(h, line_format='xml')),
            'ValueError',
            "option 'line_format' must be one of",
        ),
        BadInput(
            'non-numeric timeout_seconds',
            lambda h: _search(_with(h, timeout_seconds='soon')),
            'ValueError',
            "option 'timeout_seconds' must be an integer",
        ),
        BadInput(
            'timeout_seconds past the shared limit',
            lambda h: _with(h, timeout_seconds=600).schema(),
            'ValueError',
            "option 'timeout_seconds' must be a whole number of seconds "
            'from 1 to 300',
        ),
        BadInput(
            'url without a scheme',
            lambda h: _search(_with(h, url='loki.internal:3100')),
            'ValueError',
            "option 'url' must be an http(s) URL",
        ),
        BadInput(
            'url carrying credentials',
            lambda h: _search(
                _with(h, url='https://user:pass@logs.example.com')
            ),
            'ValueError',
            "option 'url' must not carry",
        ),
        BadInput(
            'verify_tls not a boolean',
            lambda h: _search(_with(h, verify_tls='maybe')),
            'ValueError',
            "option 'verify_tls' must be a boolean",
        ),
        BadInput(
            'tenant with a newline (header injection)',
            lambda h: _search(_with(h, tenant='team-a\nX-Evil: 1')),
            'ValueError',
            "option 'tenant' must be one line",
        ),
        BadInput(
            'level_field with a newline',
            lambda h: _search(_with(h, level_field='log\nlevel')),
            'ValueError',
            "option 'level_field'",
        ),
        # -- the project's base pipeline -------------------------------------
        BadInput(
            'pipeline with a stage that rewrites lines',
            lambda h: _search(_with(h, pipeline='| line_format "{{.x}}"')),
            'ValueError',
            "option 'pipeline'",
        ),
        BadInput(
            'pipeline closing into a metric query',
            lambda h: _search(_with(h, pipeline=') or vector(1)')),
            'ValueError',
            "option 'pipeline'",
        ),
        BadInput(
            'histogram pipeline regex with a lookahead',
            lambda h: _with(h, pipeline='|~ "(?=x)"').histogram(
                h.log_query(), bucket_count=30
            ),
            'ValueError',
            "option 'pipeline'",
        ),
        BadInput(
            'pipeline with an unterminated string',
            lambda h: _search(_with(h, pipeline='| json | app="web')),
            'ValueError',
            'unterminated string',
        ),
        BadInput(
            'basic auth and a bearer token together',
            _both_auth_kinds,
            'ValueError',
            'not both',
        ),
    ]


def profile() -> Profile:
    # A 404 from Loki (or its gateway) on a fixed API path means the url
    # option does not point at Loki's API, not that something is missing:
    # Loki answers an empty result, never 404, for a query that matches
    # nothing. The README maps "other 4xx" to PluginUnavailableError, and
    # a retry will not help, so it is not a ValueError about the input.
    not_found = {'404': 'PluginUnavailableError'}
    return Profile(
        slug='loki',
        folder='loki',
        make_fake=_fake,
        make_host=_host,
        calls=[
            UpstreamCall(
                'search',
                lambda h: _search(h, 'status:eq:500', levels=['error']),
                not_found,
            ),
            UpstreamCall(
                'search (cursor)',
                _next_page,
                not_found,
            ),
            UpstreamCall(
                'histogram',
                lambda h: h.histogram(h.log_query(), bucket_count=30),
                not_found,
            ),
            UpstreamCall('schema', lambda h: h.schema(), not_found),
        ],
        bad_inputs=_bad_inputs(),
        contract=_contract,
        # Loki and Grafana Cloud's gateway answer errors in text/plain.
        error_bodies={
            '401': Fault(body='authentication error: invalid token\n'),
            '403': Fault(
                body='authentication error: invalid scope requested\n'
            ),
            '404': Fault(body='404 page not found\n'),
            '429': Fault(body='too many outstanding requests\n'),
            '500': Fault(
                body='rpc error: code = Internal desc = received '
                '67970-bytes data exceeding the limit 65535 bytes\n'
            ),
            '503': Fault(body='too many unhealthy instances in the ring\n'),
        },
    )


async def _next_page(host: Host) -> HostResponse:
    """A second page, with a cursor the plugin handed out for it."""
    query = host.log_query(limit=10)
    token = _mint(_fingerprint(host, query), _boundary(query))
    return await _page_two(host, query, token)
