"""A stand-in of AWS CloudWatch Logs (JSON 1.1) and STS AssumeRole (query).

Served on 127.0.0.1 and used as ``endpoint_url`` by boto3 for both
services: Logs requests carry ``X-Amz-Target: Logs_20140328.<Operation>``
and a JSON body, STS requests are form posts with ``Action=AssumeRole``.
Every request must be SigV4-signed by a key the fake knows (the
signature is verified with the key's secret, so a wrong secret fails as
it does on AWS). Errors use AWS's shapes: ``{"__type", "message"}`` with
HTTP 400 for Logs, ``<ErrorResponse><Error>`` XML for STS.

Beyond plumbing it is faithful for what the plugin generates, and
answers 400 for anything else:

- FilterLogEvents: text patterns (quoted terms, bare words, ``%regex%``)
  and JSON patterns (``{ $.a.b = "v*" && $.c != %re% }``) with AWS's
  restrictions (1024 chars, restricted regex characters, at most two
  regexes); newest first with ``startFromHead=false``; pages scan a
  bounded chunk of events so they can be partial or empty while a
  nextToken exists; tokens can be expired.
- DescribeLogGroups by ``logGroupNamePrefix``, paged by ``limit`` (<= 50).
- Logs Insights (several groups at once, ``@log`` = ``account:group``):
  ``fields``, ``filter`` (``=``, ``!=``, ``like "s"``,
  ``like /re/``, ``toMillis(@timestamp)`` comparisons, ``and``, ``or``,
  ``not``, parentheses),
  ``parse @message /(?<name>…)/``, ``sort @timestamp desc``, ``limit``
  ``fields floor((toMillis(@timestamp) - N) / N) as name`` and
  ``stats count(*) as n by bin(Ns) as t[, field]`` or ``by field[, …]``;
  regexes with lookaround or backreferences are refused; queries go
  Scheduled -> Running -> Complete over successive polls, equal
  timestamps come back in a different order per query, StopQuery
  cancels, and the concurrent-query limit is enforced.
"""

import base64
import dataclasses
import datetime
import functools
import hashlib
import hmac
import itertools
import json
import random
import re
import secrets
import threading
import time
import typing
import urllib.parse
import uuid
import xml.sax.saxutils

import starlette.requests
import starlette.responses
import starlette.routing

from imbi_plugin_testing.standin import StandIn

ACCOUNT = '123456789012'
TARGET_PREFIX = 'Logs_20140328.'
JSON_CONTENT_TYPE = 'application/x-amz-json-1.1'
STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/'
TOKEN_INVALID = 'The specified nextToken is invalid.'  # noqa: S105
#: Characters AWS allows inside a filter pattern's %regex%.
_PATTERN_REGEX_CHARS = re.compile(r'^[A-Za-z0-9_#=@/;,:\-^$?\[\]{}|\\*+.]*$')
_JSON_PATH = r'[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*'
_JSON_CLAUSE = re.compile(
    rf'^\$\.(?P<path>{_JSON_PATH})\s*(?P<op>!=|=)\s*'
    r'(?:"(?P<text>[^"]*)"|%(?P<regex>[^%]*)%)$'
)
_BIN = re.compile(r'^(?P<n>\d+)(?P<unit>ms|s|m|h|d)$')
_UNIT_MS = {'ms': 1, 's': 1000, 'm': 60_000, 'h': 3_600_000, 'd': 86_400_000}
NEWEST_FIRST_SINCE_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
_TERMINAL = ('Complete', 'Failed', 'Cancelled', 'Timeout')


class AwsError(Exception):
    """An AWS error answer: type, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


# -- state ------------------------------------------------------------------


@dataclasses.dataclass
class Event:
    timestamp: int
    message: str
    stream: str
    ingestion_time: int
    event_id: str
    ptr: str
    group: str = ''

    def fields(self) -> dict[str, str]:
        """The fields Insights sees: system fields plus JSON fields."""
        found = {
            '@log': f'{ACCOUNT}:{self.group}',
            '@timestamp': format_timestamp(self.timestamp),
            '@message': self.message,
            '@logStream': self.stream,
            '@ingestionTime': format_timestamp(self.ingestion_time),
            '@ptr': self.ptr,
        }
        parsed = _json_object(self.message)
        if parsed is not None:
            found.update(_flatten(parsed))
        return found


@dataclasses.dataclass
class Key:
    """An access key and what it may do (None: every action)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    expires_at: float | None = None
    arn: str = f'arn:aws:iam::{ACCOUNT}:user/imbi'
    actions: set[str] | None = None

    def __repr__(self) -> str:
        return f'Key({self.access_key_id[:4]}…, arn={self.arn!r})'


@dataclasses.dataclass
class Role:
    arn: str
    trusted: set[str]  # access key ids allowed to assume it
    external_id: str | None = None
    actions: set[str] | None = None


@dataclasses.dataclass
class _TokenState:
    group: str
    fingerprint: str
    position: int
    expires_at: float


@dataclasses.dataclass
class Query:
    query_id: str
    string: str
    status: str
    rows: list[list[dict[str, str]]]
    matched: int
    scanned: int
    polls: int = 0
    final_status: str = 'Complete'


@dataclasses.dataclass
class _OpFault:
    code: str
    message: str
    status: int
    times: int


def format_timestamp(ms: int) -> str:
    """Insights' timestamp format: '2024-01-01 12:05:00.000' (UTC)."""
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return moment.strftime('%Y-%m-%d %H:%M:%S.') + f'{ms % 1000:03d}'


def _json_object(message: str) -> dict[str, typing.Any] | None:
    if not message.lstrip().startswith('{'):
        return None
    try:
        value = json.loads(message)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _scalar_text(value: typing.Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _flatten(value: dict[str, typing.Any], prefix: str = '') -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, item in value.items():
        name = f'{prefix}{key}'
        if isinstance(item, dict):
            flat.update(_flatten(item, f'{name}.'))
        elif item is not None and not isinstance(item, list):
            flat[name] = _scalar_text(item)
    return flat


# -- SigV4 -----------------------------------------------------------------


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4_signature(
    *,
    secret_access_key: str,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    signed_headers: list[str],
    body: bytes,
    amz_date: str,
    scope: str,
) -> str:
    """The SigV4 signature of a request (the same algorithm as botocore)."""
    pairs = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    canonical_query = '&'.join(
        f'{urllib.parse.quote(k, safe="-_.~")}='
        f'{urllib.parse.quote(v, safe="-_.~")}'
        for k, v in pairs
    )
    canonical_headers = ''.join(
        f'{name}:{" ".join(headers.get(name, "").split())}\n'
        for name in signed_headers
    )
    canonical = '\n'.join(
        [
            method,
            urllib.parse.quote(path or '/', safe='/-_.~'),
            canonical_query,
            canonical_headers,
            ';'.join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = '\n'.join(
        [
            'AWS4-HMAC-SHA256',
            amz_date,
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    date, region, service, _ = scope.split('/')
    key = _hmac(f'AWS4{secret_access_key}'.encode(), date)
    for part in (region, service, 'aws4_request'):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def sign_request(
    key: Key,
    *,
    body: bytes,
    headers: dict[str, str],
    service: str = 'logs',
    region: str = 'us-east-1',
    host: str = 'localhost',
) -> dict[str, str]:
    """Headers that sign a POST / with ``key`` (for tests of the fake)."""
    amz_date = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    signed = {k.lower(): v for k, v in headers.items()}
    signed['host'] = host
    signed['x-amz-date'] = amz_date
    if key.session_token:
        signed['x-amz-security-token'] = key.session_token
    names = sorted(signed)
    scope = f'{amz_date[:8]}/{region}/{service}/aws4_request'
    signature = sigv4_signature(
        secret_access_key=key.secret_access_key,
        method='POST',
        path='/',
        query='',
        headers=signed,
        signed_headers=names,
        body=body,
        amz_date=amz_date,
        scope=scope,
    )
    signed['authorization'] = (
        f'AWS4-HMAC-SHA256 Credential={key.access_key_id}/{scope}, '
        f'SignedHeaders={";".join(names)}, Signature={signature}'
    )
    return signed


_AUTH = re.compile(
    r'^AWS4-HMAC-SHA256 Credential=(?P<akid>[^/,\s]+)/(?P<scope>[^,\s]+),\s*'
    r'SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<sig>[0-9a-f]{64})$'
)


# -- filter patterns ----------------------------------------------------------


Matcher = typing.Callable[[Event], bool]


def _pattern_regex(text: str) -> re.Pattern[str]:
    if not text or not _PATTERN_REGEX_CHARS.match(text):
        raise AwsError('InvalidParameterException', 'Invalid filter pattern')
    try:
        return re.compile(text)
    except re.error:
        raise AwsError(
            'InvalidParameterException', 'Invalid filter pattern'
        ) from None


def _json_lookup(message: str, path: str) -> str | None:
    value: typing.Any = _json_object(message)
    for part in path.split('.'):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if value is None or isinstance(value, (dict, list)):
        return None
    return _scalar_text(value)


def _json_clause(text: str) -> tuple[Matcher, bool]:
    match = _JSON_CLAUSE.match(text.strip())
    if match is None:
        raise AwsError('InvalidParameterException', 'Invalid filter pattern')
    path, negate = match['path'], match['op'] == '!='
    if match['regex'] is not None:
        regex = _pattern_regex(match['regex'])

        def test(value: str) -> bool:
            return regex.search(value) is not None
    else:
        wanted = match['text']

        # '*' is a wildcard only at the start or end: 'Ev*ent' matches
        # the literal string 'Ev*ent'.
        head = wanted.startswith('*')
        tail = len(wanted) > 1 and wanted.endswith('*')
        core = wanted[1 if head else 0 : len(wanted) - 1 if tail else None]

        def test(value: str) -> bool:
            if head and tail:
                return core in value
            if head:
                return value.endswith(core)
            if tail:
                return value.startswith(core)
            return value == wanted

    def matcher(event: Event) -> bool:
        value = _json_lookup(event.message, path)
        return value is not None and test(value) != negate

    return matcher, match['regex'] is not None


def _split_outside(text: str, separator: str) -> list[str]:
    parts, current, quote = [], '', ''
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            quote = '' if char == quote else quote
        elif char in '"%':
            quote = char
        elif text.startswith(separator, index):
            parts.append(current)
            current = ''
            index += len(separator)
            continue
        current += char
        index += 1
    if quote:
        raise AwsError('InvalidParameterException', 'Invalid filter pattern')
    parts.append(current)
    return parts


def _has_term(term: str, event: Event) -> bool:
    return term in event.message


def _has_match(regex: re.Pattern[str], event: Event) -> bool:
    return regex.search(event.message) is not None


def compile_filter_pattern(pattern: str) -> Matcher:
    """A matcher for the subset of filter patterns the plugin generates."""
    if len(pattern) > 1024:
        raise AwsError(
            'InvalidParameterException',
            'Filter pattern is longer than 1024 characters',
        )
    text = pattern.strip()
    if not text:
        return lambda event: True
    matchers: list[Matcher] = []
    regexes = 0
    if text.startswith('{'):
        if not text.endswith('}'):
            raise AwsError(
                'InvalidParameterException', 'Invalid filter pattern'
            )
        for clause in _split_outside(text[1:-1], '&&'):
            matcher, is_regex = _json_clause(clause)
            matchers.append(matcher)
            regexes += is_regex
    else:
        for token in re.findall(r'"[^"]*"|%[^%]*%|\S+', text):
            if token.startswith('"') and len(token) > 1:
                matchers.append(functools.partial(_has_term, token[1:-1]))
            elif token.startswith('%') and len(token) > 1:
                regex = _pattern_regex(token[1:-1])
                matchers.append(functools.partial(_has_match, regex))
                regexes += 1
            elif re.fullmatch(r'[A-Za-z0-9_]+', token):
                matchers.append(functools.partial(_has_term, token))
            else:
                raise AwsError(
                    'InvalidParameterException', 'Invalid filter pattern'
                )
    if regexes > 2:
        raise AwsError(
            'InvalidParameterException',
            'A filter pattern may contain at most 2 regular expressions',
        )
    return lambda event: all(m(event) for m in matchers)


# -- Logs Insights --------------------------------------------------------


class _Malformed(AwsError):
    def __init__(self, message: str) -> None:
        super().__init__('MalformedQueryException', message)


_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")'
    r'|(?P<tick>`[^`]+`)|(?P<num>\d+(?:ms|s|m|h|d)?)'
    r'|(?P<op>!=|<=|>=|=|<|>)|(?P<punct>[(),*|/-])'
    r'|(?P<name>@?[A-Za-z_][A-Za-z0-9_.]*))'
)
#: A /regex/ literal, read where a regex may follow (after ``like`` and
#: ``parse @message``); elsewhere ``/`` divides.
_REGEX_TOKEN = re.compile(r'\s*(?P<re>/(?:[^/\\]|\\.)*/)')
_REGEX_CONTEXT = (('name', 'like'), ('name', '@message'))
#: What Insights refuses though Python's re accepts it.
_REFUSED_INSIGHTS_REGEX = re.compile(r'\(\?<?[=!]|\\[1-9]|\(\?P=|\\k<')
_STRING_ESCAPES = {'\\': '\\', '"': '"', 'n': '\n', 'r': '\r', 't': '\t'}


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    index = 0
    while index < len(text):
        if not text[index:].strip():
            break
        match = None
        if found and found[-1] in _REGEX_CONTEXT:
            match = _REGEX_TOKEN.match(text, index)
        match = match or _TOKEN.match(text, index)
        if match is None or match.lastgroup is None:
            raise _Malformed(f'unexpected input at character {index}')
        found.append((match.lastgroup, match[match.lastgroup]))
        index = match.end()
    return found


def _unquote(literal: str) -> str:
    out, index = '', 1
    while index < len(literal) - 1:
        char = literal[index]
        if char == '\\':
            escaped = literal[index + 1]
            if escaped not in _STRING_ESCAPES:
                raise _Malformed(f'invalid escape \\{escaped}')
            out += _STRING_ESCAPES[escaped]
            index += 2
            continue
        out += char
        index += 1
    return out


def _insights_regex(literal: str) -> re.Pattern[str]:
    # Insights writes named groups the Java way: (?<name>...).
    if _REFUSED_INSIGHTS_REGEX.search(literal):
        raise _Malformed(
            'lookaround and backreferences are not supported in regular '
            'expressions'
        )
    body = re.sub(r'\(\?<(?=[A-Za-z])', '(?P<', literal[1:-1])
    try:
        return re.compile(body)
    except re.error as exc:
        raise _Malformed(f'invalid regular expression: {exc}') from None


class _Cursor:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        if self.index < len(self.tokens):
            return self.tokens[self.index]
        return None

    def take(self, kind: str | None = None, value: str | None = None) -> str:
        token = self.peek()
        if (
            token is None
            or (kind is not None and token[0] != kind)
            or (value is not None and token[1] != value)
        ):
            wanted = value or kind or 'more input'
            raise _Malformed(f'expected {wanted}, got {token}')
        self.index += 1
        return token[1]

    def done(self) -> bool:
        return self.index >= len(self.tokens)


Row = dict[str, str]
Condition = typing.Callable[[Row], bool]


def _field_name(cursor: _Cursor) -> str:
    token = cursor.peek()
    if token is not None and token[0] == 'tick':
        cursor.take()
        return token[1][1:-1]
    return cursor.take('name')


def _condition(cursor: _Cursor) -> Condition:
    token = cursor.peek()
    if token == ('name', 'toMillis'):
        cursor.take()
        cursor.take('punct', '(')
        cursor.take('name', '@timestamp')
        cursor.take('punct', ')')
        op = cursor.take('op')
        bound = int(cursor.take('num'))
        compare = {
            '<': int.__lt__,
            '<=': int.__le__,
            '>': int.__gt__,
            '>=': int.__ge__,
            '=': int.__eq__,
            '!=': int.__ne__,
        }[op]
        return lambda row: compare(int(row['@epochMillis']), bound)
    field = _field_name(cursor)
    following = cursor.peek()
    if following == ('name', 'like'):
        cursor.take()
        kind, literal = cursor.peek() or ('', '')
        cursor.take()
        if kind == 'str':
            needle = _unquote(literal)
            return lambda row: field in row and needle in row[field]
        if kind == 're':
            regex = _insights_regex(literal)
            return lambda row: (
                field in row and regex.search(row[field]) is not None
            )
        raise _Malformed('like needs a string or a regular expression')
    op = cursor.take('op')
    if op not in ('=', '!='):
        raise _Malformed(f'{op} needs a number')
    value = _unquote(cursor.take('str'))
    if op == '=':
        return lambda row: row.get(field) == value
    return lambda row: field in row and row[field] != value


def _expression(cursor: _Cursor) -> Condition:
    """``a or b``, ``a and b``, ``not a``, ``(a)``: or binds loosest."""
    terms = [_conjunction(cursor)]
    while cursor.peek() == ('name', 'or'):
        cursor.take()
        terms.append(_conjunction(cursor))
    if len(terms) == 1:
        return terms[0]
    return lambda row: any(term(row) for term in terms)


def _conjunction(cursor: _Cursor) -> Condition:
    factors = [_factor(cursor)]
    while cursor.peek() == ('name', 'and'):
        cursor.take()
        factors.append(_factor(cursor))
    if len(factors) == 1:
        return factors[0]
    return lambda row: all(factor(row) for factor in factors)


def _factor(cursor: _Cursor) -> Condition:
    if cursor.peek() == ('name', 'not'):
        cursor.take()
        inner = _factor(cursor)
        return lambda row: not inner(row)
    if cursor.peek() == ('punct', '('):
        cursor.take()
        inner = _expression(cursor)
        cursor.take('punct', ')')
        return inner
    return _condition(cursor)


@dataclasses.dataclass
class _Plan:
    fields: list[str] = dataclasses.field(default_factory=list)
    filters: list[Condition] = dataclasses.field(default_factory=list)
    parsers: list[re.Pattern[str]] = dataclasses.field(default_factory=list)
    sort_desc: bool | None = None
    limit: int | None = None
    stats: tuple[str, list[tuple[str, int, str]]] | None = None
    #: ``fields floor((toMillis(@timestamp) - offset) / step) as name``
    computed: list[tuple[str, int, int]] = dataclasses.field(
        default_factory=list
    )


def _commands(text: str) -> list[list[tuple[str, str]]]:
    commands: list[list[tuple[str, str]]] = [[]]
    for token in _tokens(text):
        if token == ('punct', '|'):
            commands.append([])
        else:
            commands[-1].append(token)
    if any(not command for command in commands):
        raise _Malformed('empty command')
    return commands


def _stats(cursor: _Cursor) -> tuple[str, list[tuple[str, int, str]]]:
    """``count(*) as n by`` groups: ``bin(P) as alias`` or field names
    (each group as (kind, bin step ms, name))."""
    cursor.take('name', 'count')
    cursor.take('punct', '(')
    cursor.take('punct', '*')
    cursor.take('punct', ')')
    cursor.take('name', 'as')
    count_alias = cursor.take('name')
    cursor.take('name', 'by')
    groups = [_group(cursor)]
    while not cursor.done():
        cursor.take('punct', ',')
        groups.append(_group(cursor))
    return count_alias, groups


def _group(cursor: _Cursor) -> tuple[str, int, str]:
    if cursor.peek() != ('name', 'bin'):
        return 'field', 0, _field_name(cursor)
    cursor.take('name', 'bin')
    cursor.take('punct', '(')
    period = _BIN.match(cursor.take('num'))
    if period is None:
        raise _Malformed('bin() needs a period such as 5m')
    cursor.take('punct', ')')
    cursor.take('name', 'as')
    alias = cursor.take('name')
    step = int(period['n']) * _UNIT_MS[period['unit']]
    if step <= 0:
        raise _Malformed('bin() needs a positive period')
    return 'bin', step, alias


def _computed(cursor: _Cursor) -> tuple[str, int, int]:
    """``floor((toMillis(@timestamp) - N) / N) as name``, the one
    expression the plugin computes."""
    cursor.take('name', 'floor')
    cursor.take('punct', '(')
    cursor.take('punct', '(')
    cursor.take('name', 'toMillis')
    cursor.take('punct', '(')
    cursor.take('name', '@timestamp')
    cursor.take('punct', ')')
    cursor.take('punct', '-')
    offset = int(cursor.take('num'))
    cursor.take('punct', ')')
    cursor.take('punct', '/')
    step = int(cursor.take('num'))
    cursor.take('punct', ')')
    cursor.take('name', 'as')
    if step <= 0:
        raise _Malformed('division by zero')
    return cursor.take('name'), offset, step


def compile_insights(text: str) -> _Plan:
    """Parse the Insights subset the plugin generates."""
    if len(text) > 10000:
        raise _Malformed('query string longer than 10000 characters')
    plan = _Plan()
    for command in _commands(text):
        cursor = _Cursor(command)
        name = cursor.take('name')
        if name == 'fields' and cursor.peek() == ('name', 'floor'):
            plan.computed.append(_computed(cursor))
        elif name == 'fields':
            plan.fields.append(_field_name(cursor))
            while not cursor.done():
                cursor.take('punct', ',')
                plan.fields.append(_field_name(cursor))
        elif name == 'filter':
            plan.filters.append(_expression(cursor))
        elif name == 'parse':
            cursor.take('name', '@message')
            plan.parsers.append(_insights_regex(cursor.take('re')))
        elif name == 'sort':
            cursor.take('name', '@timestamp')
            plan.sort_desc = cursor.take('name') == 'desc'
        elif name == 'limit':
            plan.limit = int(cursor.take('num'))
        elif name == 'stats':
            plan.stats = _stats(cursor)
        else:
            raise _Malformed(f'unknown command {name!r}')
        if not cursor.done():
            raise _Malformed(f'unexpected {cursor.peek()} in {name}')
    return plan


# -- the fake -------------------------------------------------------------


class CloudWatchFake(StandIn):
    """CloudWatch Logs and STS on one endpoint, with per-operation faults.

    ``scan_chunk`` is how many events (of the time range) one
    FilterLogEvents page scans: pages hold the matches among them, so
    sparse matches give partial or empty pages with a nextToken.
    ``polls_scheduled``/``polls_running`` are how many GetQueryResults
    calls see those states before Complete.
    """

    def __init__(self, region: str = 'us-east-1') -> None:
        super().__init__()
        self.region = region
        self.lock = threading.RLock()
        self.groups: dict[str, list[Event]] = {}
        self.keys: dict[str, Key] = {}
        self.roles: dict[str, Role] = {}
        self.queries: dict[str, Query] = {}
        self.tokens: dict[str, _TokenState] = {}
        self.scan_chunk = 1000
        self.polls_scheduled = 1
        self.polls_running = 1
        self.max_concurrent_queries = 30
        #: How new queries end: Complete, Failed, Cancelled or Timeout.
        self.query_outcome = 'Complete'
        self.rng = random.Random(6)  # noqa: S311
        self._faults_by_op: dict[str, list[_OpFault]] = {}
        self._ids = itertools.count(1)
        #: (action, access key id) of every authenticated request.
        self.calls: list[tuple[str, str]] = []

    # -- state helpers ----------------------------------------------------

    def add_key(
        self,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        **fields: typing.Any,
    ) -> Key:
        key = Key(
            access_key_id=access_key_id
            or 'AKIA' + secrets.token_hex(8).upper(),
            secret_access_key=secret_access_key or secrets.token_urlsafe(30),
            **fields,
        )
        self.keys[key.access_key_id] = key
        return key

    def add_role(
        self,
        name: str,
        trusted: list[Key],
        *,
        external_id: str | None = None,
        actions: set[str] | None = None,
    ) -> Role:
        role = Role(
            arn=f'arn:aws:iam::{ACCOUNT}:role/{name}',
            trusted={k.access_key_id for k in trusted},
            external_id=external_id,
            actions=actions,
        )
        self.roles[role.arn] = role
        return role

    def add_group(self, name: str) -> None:
        with self.lock:
            self.groups.setdefault(name, [])

    def put(
        self,
        group: str,
        stream: str,
        timestamp: int | datetime.datetime,
        message: str | dict[str, typing.Any],
    ) -> Event:
        """Add one event (timestamp in epoch ms or an aware datetime)."""
        if isinstance(timestamp, datetime.datetime):
            timestamp = int(timestamp.timestamp() * 1000)
        if isinstance(message, dict):
            message = json.dumps(message)
        seq = next(self._ids)
        event_id = f'{timestamp:020d}{seq:036d}'
        event = Event(
            timestamp=timestamp,
            message=message,
            stream=stream,
            ingestion_time=timestamp + 150,
            event_id=event_id,
            ptr=base64.b64encode(f'{group}|{event_id}'.encode()).decode(),
            group=group,
        )
        with self.lock:
            self.groups.setdefault(group, []).append(event)
        return event

    def fail_next(
        self,
        operation: str,
        code: str,
        message: str = '',
        *,
        status: int = 400,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``operation`` with an error.

        ``operation`` is a Logs operation (``FilterLogEvents``) or STS's
        ``AssumeRole``; the harness's path-based faults cannot tell them
        apart since every call is a POST to ``/``.
        """
        with self.lock:
            self._faults_by_op.setdefault(operation, []).append(
                _OpFault(code, message, status, times)
            )

    def expire_tokens(self) -> None:
        """Expire every nextToken handed out so far (as after 24 h)."""
        with self.lock:
            for state in self.tokens.values():
                state.expires_at = 0.0

    def operations(self) -> list[str]:
        """Logs/STS operations received, in order (from the request log)."""
        found = []
        for request in self.requests:
            target = request.headers.get('x-amz-target', '')
            if target.startswith(TARGET_PREFIX):
                found.append(target.removeprefix(TARGET_PREFIX))
            else:
                form = urllib.parse.parse_qs(request.body.decode('latin-1'))
                found.append(form.get('Action', ['?'])[0])
        return found

    # -- plumbing ---------------------------------------------------------

    def routes(self) -> list[starlette.routing.BaseRoute]:
        return [
            starlette.routing.Route(
                '/{path:path}', self._handle, methods=['POST', 'GET', 'PUT']
            )
        ]

    def _take_op_fault(self, operation: str) -> _OpFault | None:
        with self.lock:
            queue = self._faults_by_op.get(operation) or []
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    async def _handle(
        self, request: starlette.requests.Request
    ) -> starlette.responses.Response:
        body = await request.body()
        target = request.headers.get('x-amz-target', '')
        if target.startswith(TARGET_PREFIX):
            return self._logs(
                request, body, target.removeprefix(TARGET_PREFIX)
            )
        content_type = request.headers.get('content-type', '')
        if content_type.startswith('application/x-www-form-urlencoded'):
            return self._sts(request, body)
        return _logs_error(
            AwsError(
                'UnknownOperationException', 'Unknown operation or protocol'
            )
        )

    def authenticate(
        self, request: starlette.requests.Request, body: bytes, service: str
    ) -> Key:
        """The request's key, after checking its SigV4 signature."""
        header = request.headers.get('authorization', '')
        match = _AUTH.match(header)
        if match is None:
            raise AwsError(
                'MissingAuthenticationTokenException'
                if not header
                else 'IncompleteSignatureException',
                'Missing Authentication Token'
                if not header
                else 'Authorization header requires Credential, '
                'SignedHeaders and Signature.',
            )
        key = self.keys.get(match['akid'])
        token = request.headers.get('x-amz-security-token')
        if key is None or key.session_token != token:
            raise AwsError(
                'UnrecognizedClientException',
                'The security token included in the request is invalid.',
            )
        if key.expires_at is not None and time.time() >= key.expires_at:
            raise AwsError(
                'ExpiredTokenException',
                'The security token included in the request is expired',
            )
        scope = match['scope']
        if scope.count('/') != 3 or scope.split('/')[2] != service:
            raise AwsError(
                'InvalidSignatureException',
                f'Credential should be scoped to correct service: {service}',
            )
        headers = {k.lower(): v for k, v in request.headers.items()}
        expected = sigv4_signature(
            secret_access_key=key.secret_access_key,
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers=headers,
            signed_headers=match['signed'].split(';'),
            body=body,
            amz_date=headers.get('x-amz-date', ''),
            scope=scope,
        )
        if not hmac.compare_digest(expected, match['sig']):
            raise AwsError(
                'InvalidSignatureException',
                'The request signature we calculated does not match the '
                'signature you provided. Check your AWS Secret Access Key '
                'and signing method.',
            )
        return key

    def _logs(
        self, request: starlette.requests.Request, body: bytes, operation: str
    ) -> starlette.responses.Response:
        handler = getattr(self, f'_op_{operation}', None)
        try:
            key = self.authenticate(request, body, 'logs')
            if handler is None:
                raise AwsError(
                    'UnknownOperationException',
                    f'Unknown operation {operation}',
                )
            fault = self._take_op_fault(operation)
            if fault is not None:
                raise AwsError(fault.code, fault.message, fault.status)
            if key.actions is not None and operation not in key.actions:
                raise AwsError(
                    'AccessDeniedException',
                    f'User: {key.arn} is not authorized to perform: '
                    f'logs:{operation} because no identity-based policy '
                    f'allows the logs:{operation} action',
                )
            try:
                params = json.loads(body or b'{}')
            except ValueError:
                raise AwsError(
                    'SerializationException', 'Malformed JSON body'
                ) from None
            if not isinstance(params, dict):
                raise AwsError('SerializationException', 'Expected an object')
            self.calls.append((operation, key.access_key_id))
            with self.lock:
                result = handler(params)
        except AwsError as exc:
            return _logs_error(exc)
        return starlette.responses.Response(
            json.dumps(result),
            headers={'x-amzn-RequestId': str(uuid.uuid4())},
            media_type=JSON_CONTENT_TYPE,
        )

    # -- Logs operations ----------------------------------------------------

    def _group(self, params: dict[str, typing.Any]) -> str:
        names = [
            n
            for n in (
                params.get('logGroupName'),
                params.get('logGroupIdentifier'),
            )
            if n
        ]
        if len(names) != 1:
            raise AwsError(
                'InvalidParameterException',
                'Exactly one of logGroupName or logGroupIdentifier must '
                'be given.',
            )
        if names[0] not in self.groups:
            raise AwsError(
                'ResourceNotFoundException',
                'The specified log group does not exist.',
            )
        return str(names[0])

    def _op_FilterLogEvents(
        self, params: dict[str, typing.Any]
    ) -> dict[str, typing.Any]:
        group = self._group(params)
        limit = int(params.get('limit', 10000))
        if not 1 <= limit <= 10000:
            raise AwsError(
                'InvalidParameterException',
                'limit must be between 1 and 10000',
            )
        if params.get('logStreamNames') and params.get('logStreamNamePrefix'):
            raise AwsError(
                'InvalidParameterException',
                'logStreamNames and logStreamNamePrefix are exclusive',
            )
        matcher = compile_filter_pattern(str(params.get('filterPattern', '')))
        start = params.get('startTime')
        end = params.get('endTime')
        prefix = str(params.get('logStreamNamePrefix', ''))
        newest_first = params.get('startFromHead') is False
        if newest_first and (start is None or start < NEWEST_FIRST_SINCE_MS):
            raise AwsError(
                'InvalidParameterException',
                'startFromHead=false needs a startTime on or after 2024-01-01',
            )
        events = [
            e
            for e in self.groups[group]
            if (start is None or e.timestamp >= start)
            and (end is None or e.timestamp <= end)
            and e.stream.startswith(prefix)
        ]
        events.sort(key=lambda e: (e.timestamp, e.event_id))
        if newest_first:
            events.reverse()
        fingerprint = json.dumps(
            {
                k: v
                for k, v in params.items()
                if k not in ('nextToken', 'limit')
            },
            sort_keys=True,
        )
        position = 0
        token = params.get('nextToken')
        if token is not None:
            state = self.tokens.get(str(token))
            if (
                state is None
                or state.expires_at <= time.time()
                or state.group != group
                or state.fingerprint != fingerprint
            ):
                raise AwsError('InvalidParameterException', TOKEN_INVALID)
            position = state.position
        found: list[Event] = []
        index = position
        stop = min(position + self.scan_chunk, len(events))
        while index < stop and len(found) < limit:
            if matcher(events[index]):
                found.append(events[index])
            index += 1
        answer: dict[str, typing.Any] = {
            'events': [
                {
                    'logStreamName': e.stream,
                    'timestamp': e.timestamp,
                    'message': e.message,
                    'ingestionTime': e.ingestion_time,
                    'eventId': e.event_id,
                }
                for e in found
            ],
            'searchedLogStreams': [],
        }
        if index < len(events):
            new_token = 'Bxk' + secrets.token_urlsafe(48)
            self.tokens[new_token] = _TokenState(
                group, fingerprint, index, time.time() + 86400
            )
            answer['nextToken'] = new_token
        return answer

    def _op_StartQuery(
        self, params: dict[str, typing.Any]
    ) -> dict[str, typing.Any]:
        names = list(params.get('logGroupNames') or [])
        if params.get('logGroupName'):
            if names:
                # StartQuery takes exactly one of the two.
                raise AwsError(
                    'InvalidParameterException',
                    'Only one of logGroupName, logGroupNames or '
                    'logGroupIdentifiers may be given.',
                )
            names.append(params['logGroupName'])
        if not names or len(names) > 50:
            raise AwsError(
                'InvalidParameterException',
                'Between 1 and 50 log groups must be given.',
            )
        for name in names:
            if name not in self.groups:
                raise AwsError(
                    'ResourceNotFoundException',
                    f"Log group '{name}' does not exist for account ID "
                    f"'{ACCOUNT}'",
                )
        if 'startTime' not in params or 'endTime' not in params:
            raise AwsError(
                'InvalidParameterException', 'startTime and endTime needed'
            )
        start, end = int(params['startTime']), int(params['endTime'])
        if end < start:
            raise AwsError(
                'InvalidParameterException',
                'endTime must be greater than or equal to startTime',
            )
        if not 0 <= int(params.get('limit', 0)) <= 10000:
            raise AwsError(
                'InvalidParameterException', 'limit must be 1 to 10000'
            )
        plan = compile_insights(str(params.get('queryString', '')))
        running = sum(
            1 for q in self.queries.values() if q.status not in _TERMINAL
        )
        if running >= self.max_concurrent_queries:
            raise AwsError(
                'LimitExceededException',
                'Account maximum query concurrency limit of '
                f'[{self.max_concurrent_queries}] reached.',
            )
        events = [
            e
            for name in names
            for e in self.groups[name]
            if start * 1000 <= e.timestamp <= end * 1000 + 999
        ]
        rows, matched = self._run(plan, events, int(params.get('limit', 0)))
        query = Query(
            query_id=str(uuid.uuid4()),
            string=str(params['queryString']),
            status='Scheduled',
            rows=rows,
            matched=matched,
            scanned=len(events),
            final_status=self.query_outcome,
        )
        self.queries[query.query_id] = query
        return {'queryId': query.query_id}

    def _run(
        self, plan: _Plan, events: list[Event], limit: int
    ) -> tuple[list[list[dict[str, str]]], int]:
        rows: list[tuple[Event, Row]] = []
        for event in events:
            row = event.fields()
            row['@epochMillis'] = str(event.timestamp)
            for alias, offset, step in plan.computed:
                row[alias] = str((event.timestamp - offset) // step)
            for parser in plan.parsers:
                found = parser.search(event.message)
                if found is not None:
                    row.update(
                        {
                            k: v
                            for k, v in found.groupdict().items()
                            if v is not None
                        }
                    )
            if all(condition(row) for condition in plan.filters):
                rows.append((event, row))
        matched = len(rows)
        if plan.stats is not None:
            return self._stats(plan.stats, rows), matched
        # Equal timestamps come back in no particular order, and not
        # the same order from one query to the next.
        self.rng.shuffle(rows)
        if plan.sort_desc is not None:
            rows.sort(key=lambda r: r[0].timestamp, reverse=plan.sort_desc)
        cap = min(v for v in (plan.limit, limit or None, 10000) if v)
        shown = [*plan.fields, '@ptr']
        answer = []
        for _, row in rows[:cap]:
            answer.append(
                [
                    {'field': name, 'value': row[name]}
                    for name in dict.fromkeys(shown)
                    if name in row
                ]
            )
        return answer, matched

    @staticmethod
    def _stats(
        spec: tuple[str, list[tuple[str, int, str]]],
        rows: list[tuple[Event, Row]],
    ) -> list[list[dict[str, str]]]:
        count_alias, groups = spec
        counts: dict[tuple[str | None, ...], int] = {}
        for event, row in rows:
            key = tuple(
                format_timestamp(event.timestamp // step * step)
                if kind == 'bin'
                else row.get(name)
                for kind, step, name in groups
            )
            counts[key] = counts.get(key, 0) + 1
        answer = []
        for values, count in sorted(counts.items(), key=lambda i: str(i[0])):
            fields = [
                {'field': name, 'value': value}
                for (_, _, name), value in zip(groups, values, strict=True)
                if value is not None
            ]
            fields.append({'field': count_alias, 'value': str(count)})
            answer.append(fields)
        return answer

    def _op_GetQueryResults(
        self, params: dict[str, typing.Any]
    ) -> dict[str, typing.Any]:
        query = self._query(params)
        if query.status not in _TERMINAL:
            query.polls += 1
            if query.polls > self.polls_scheduled + self.polls_running:
                query.status = query.final_status
            elif query.polls > self.polls_scheduled:
                query.status = 'Running'
        complete = query.status == 'Complete'
        return {
            'queryLanguage': 'CWLI',
            'results': query.rows if complete else [],
            'statistics': {
                'recordsMatched': float(query.matched if complete else 0),
                'recordsScanned': float(query.scanned if complete else 0),
                'bytesScanned': float(query.scanned * 100 if complete else 0),
            },
            'status': query.status,
        }

    def _query(self, params: dict[str, typing.Any]) -> Query:
        query = self.queries.get(str(params.get('queryId', '')))
        if query is None:
            raise AwsError(
                'ResourceNotFoundException',
                'The specified query does not exist.',
            )
        return query

    def _op_StopQuery(
        self, params: dict[str, typing.Any]
    ) -> dict[str, typing.Any]:
        query = self._query(params)
        if query.status in _TERMINAL:
            return {'success': False}
        query.status = 'Cancelled'
        return {'success': True}

    def _op_DescribeLogGroups(
        self, params: dict[str, typing.Any]
    ) -> dict[str, typing.Any]:
        limit = int(params.get('limit', 50))
        if not 1 <= limit <= 50:
            raise AwsError(
                'InvalidParameterException', 'limit must be between 1 and 50'
            )
        prefix = str(params.get('logGroupNamePrefix', ''))
        names = sorted(n for n in self.groups if n.startswith(prefix))
        token = params.get('nextToken')
        start = 0
        if token is not None:
            state = self.tokens.get(str(token))
            if state is None or state.fingerprint != f'describe:{prefix}':
                raise AwsError('InvalidParameterException', TOKEN_INVALID)
            start = state.position
        page = names[start : start + limit]
        answer: dict[str, typing.Any] = {
            'logGroups': [
                {
                    'logGroupName': name,
                    'arn': f'arn:aws:logs:{self.region}:{ACCOUNT}:'
                    f'log-group:{name}:*',
                    'storedBytes': 0,
                }
                for name in page
            ]
        }
        if start + limit < len(names):
            new_token = secrets.token_urlsafe(24)
            self.tokens[new_token] = _TokenState(
                prefix,
                f'describe:{prefix}',
                start + limit,
                time.time() + 86400,
            )
            answer['nextToken'] = new_token
        return answer

    def _op_GetLogGroupFields(
        self, params: dict[str, typing.Any]
    ) -> dict[str, typing.Any]:
        group = self._group(params)
        at_ms = int(params.get('time', time.time())) * 1000
        window = [
            e for e in self.groups[group] if at_ms - 900_000 <= e.timestamp
        ]
        counts: dict[str, int] = {}
        for event in window:
            for name in event.fields():
                if name != '@ptr':
                    counts[name] = counts.get(name, 0) + 1
        total = len(window) or 1
        return {
            'logGroupFields': [
                {'name': name, 'percent': count * 100 // total}
                for name, count in sorted(counts.items())
            ]
        }

    # -- STS ----------------------------------------------------------------

    def _sts(
        self, request: starlette.requests.Request, body: bytes
    ) -> starlette.responses.Response:
        form = dict(urllib.parse.parse_qsl(body.decode('utf-8')))
        try:
            if form.get('Action') != 'AssumeRole':
                raise AwsError(
                    'InvalidAction',
                    f'Could not find operation {form.get("Action")} for '
                    'version 2011-06-15',
                )
            key = self.authenticate(request, body, 'sts')
            fault = self._take_op_fault('AssumeRole')
            if fault is not None:
                raise AwsError(fault.code, fault.message, fault.status)
            self.calls.append(('AssumeRole', key.access_key_id))
            with self.lock:
                return self._assume_role(key, form)
        except AwsError as exc:
            return _sts_error(exc)

    def _assume_role(
        self, key: Key, form: dict[str, str]
    ) -> starlette.responses.Response:
        arn = form.get('RoleArn', '')
        name = form.get('RoleSessionName', '')
        if not re.fullmatch(r'[\w+=,.@-]{2,64}', name):
            raise AwsError(
                'ValidationError',
                "1 validation error detected: Value at 'roleSessionName' "
                'failed to satisfy constraint',
            )
        duration = int(form.get('DurationSeconds', '3600'))
        if not 900 <= duration <= 43200:
            raise AwsError(
                'ValidationError',
                "1 validation error detected: Value at 'durationSeconds' "
                'failed to satisfy constraint',
            )
        role = self.roles.get(arn)
        if (
            role is None
            or key.access_key_id not in role.trusted
            or role.external_id != form.get('ExternalId')
        ):
            raise AwsError(
                'AccessDenied',
                f'User: {key.arn} is not authorized to perform: '
                f'sts:AssumeRole on resource: {arn}',
                403,
            )
        expires = time.time() + duration
        temporary = self.add_key(
            access_key_id='ASIA' + secrets.token_hex(8).upper(),
            session_token='IQoJb3JpZ2luX2Vj' + secrets.token_urlsafe(64),
            expires_at=expires,
            arn=f'arn:aws:sts::{ACCOUNT}:assumed-role/'
            f'{arn.rsplit("/", 1)[-1]}/{name}',
            actions=role.actions,
        )
        expiration = datetime.datetime.fromtimestamp(expires, datetime.UTC)
        esc = xml.sax.saxutils.escape
        xml_body = (
            f'<AssumeRoleResponse xmlns="{STS_NAMESPACE}">\n'
            '  <AssumeRoleResult>\n'
            '    <AssumedRoleUser>\n'
            f'      <Arn>{esc(temporary.arn)}</Arn>\n'
            f'      <AssumedRoleId>AROA{ACCOUNT}:{esc(name)}</AssumedRoleId>\n'
            '    </AssumedRoleUser>\n'
            '    <Credentials>\n'
            f'      <AccessKeyId>{temporary.access_key_id}</AccessKeyId>\n'
            '      <SecretAccessKey>'
            f'{esc(temporary.secret_access_key)}</SecretAccessKey>\n'
            f'      <SessionToken>{esc(temporary.session_token or "")}'
            '</SessionToken>\n'
            f'      <Expiration>{expiration:%Y-%m-%dT%H:%M:%SZ}'
            '</Expiration>\n'
            '    </Credentials>\n'
            '  </AssumeRoleResult>\n'
            '  <ResponseMetadata>\n'
            f'    <RequestId>{uuid.uuid4()}</RequestId>\n'
            '  </ResponseMetadata>\n'
            '</AssumeRoleResponse>\n'
        )
        return starlette.responses.Response(xml_body, media_type='text/xml')


def _logs_error(exc: AwsError) -> starlette.responses.Response:
    return starlette.responses.Response(
        json.dumps({'__type': exc.code, 'message': exc.message}),
        status_code=exc.status,
        headers={'x-amzn-RequestId': str(uuid.uuid4())},
        media_type=JSON_CONTENT_TYPE,
    )


def _sts_error(exc: AwsError) -> starlette.responses.Response:
    status = exc.status
    if exc.code in (
        'InvalidClientTokenId',
        'UnrecognizedClientException',
        'InvalidSignatureException',
        'MissingAuthenticationTokenException',
        'IncompleteSignatureException',
    ):
        # STS names the credential errors differently from Logs.
        code = {
            'UnrecognizedClientException': 'InvalidClientTokenId',
            'InvalidSignatureException': 'SignatureDoesNotMatch',
            'MissingAuthenticationTokenException': (
                'MissingAuthenticationToken'
            ),
            'IncompleteSignatureException': 'IncompleteSignature',
        }.get(exc.code, exc.code)
        status = 403
    elif exc.code == 'ExpiredTokenException':
        code = 'ExpiredToken'
    else:
        code = exc.code
    kind = 'Receiver' if status >= 500 else 'Sender'
    body = (
        f'<ErrorResponse xmlns="{STS_NAMESPACE}">\n'
        f'  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n'
        f'    <Message>{xml.sax.saxutils.escape(exc.message)}</Message>\n'
        f'  </Error>\n  <RequestId>{uuid.uuid4()}</RequestId>\n'
        '</ErrorResponse>\n'
    )
    return starlette.responses.Response(
        body, status_code=status, media_type='text/xml'
    )
