"""A stateful stand-in for Grafana Loki's query API.

Follows docs/upstreams/loki.md: ``query_range`` (streams and matrix),
``labels`` and ``label/<name>/values``; tenants through X-Scope-OrgID
(``a|b`` queries several and adds ``__tenant_id__``); ``start``
inclusive and ``end`` exclusive for log queries; ``limit`` counted across
streams; the 5000 entries limit; 400 answers as text/plain.

LogQL is evaluated for real, for exactly the subset the Loki plugin
writes: a stream selector, line filters, ``| json`` / ``| logfmt``,
string label filters, and ``sum by (…) (count_over_time(… [d] offset o))``
evaluated at ``start + k*step`` over ``(t - o - d, t - o]`` as Loki's
engine does (``align_to_step`` models the query frontend's rounding).
Like Loki, a metric query is refused when a parser failed on a line it
counts, unless a label filter on ``__error__`` drops such lines.
Regexes use RE2 (google-re2), anchored for label matchers as Loki does.
Anything else is a 400 parse error, so an unsupported query fails loudly.

Optional gateway auth (``users`` for basic, ``tokens`` for bearer)
models Grafana Cloud: a basic-auth user is also the tenant.
"""

import base64
import dataclasses
import hashlib
import json
import re
import threading
import time
import typing

import re2
import starlette.requests
import starlette.responses
import starlette.routing

from imbi_plugin_testing.standin import StandIn

MAX_ENTRIES = 5000
MAX_POINTS = 11_000
MAX_QUERY_LENGTH_NS = (30 * 24 + 1) * 3600 * 1_000_000_000
DEFAULT_LIMIT = 100
_NS = 1_000_000_000


def compile_re2(pattern: str) -> typing.Any:
    """RE2 as Loki uses it (Go's regexp is RE2), without stderr noise."""
    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options=options)


# -- LogQL lexer ---------------------------------------------------------

_SIMPLE_ESCAPES = {
    'a': '\a',
    'b': '\b',
    'f': '\f',
    'n': '\n',
    'r': '\r',
    't': '\t',
    'v': '\v',
    '\\': '\\',
    '"': '"',
}
_TOKEN = re.compile(
    r'(?P<space>\s+)'
    r'|(?P<string>"(?:[^"\\\n]|\\.)*"|`[^`]*`)'
    r'|(?P<duration>\[[^\]]*\])'
    r'|(?P<op>\|=|\|~|!=|!~|=~|==|=|\||\{|\}|\(|\)|,)'
    r'|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)'
    r'|(?P<number>[0-9][0-9.]*(?:ns|us|µs|ms|s|m|h|d|w|y)?'
    r'(?:[0-9][0-9.]*(?:ns|us|µs|ms|s|m|h|d|w|y))*)'
)
_DURATION_UNITS = {
    'ns': 1,
    'us': 1_000,
    'µs': 1_000,
    'ms': 1_000_000,
    's': _NS,
    'm': 60 * _NS,
    'h': 3600 * _NS,
    'd': 24 * 3600 * _NS,
    'w': 7 * 24 * 3600 * _NS,
    'y': 365 * 24 * 3600 * _NS,
}
_DURATION_PART = re.compile(r'([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h|d|w|y)')


class LokiParseError(ValueError):
    """A query outside the supported LogQL, worded as Loki words it."""


@dataclasses.dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    col: int


def _unquote(text: str) -> str:
    if text.startswith('`'):
        return text[1:-1]
    out: list[str] = []
    body = text[1:-1]
    i = 0
    while i < len(body):
        char = body[i]
        i += 1
        if char != '\\':
            out.append(char)
            continue
        esc = body[i : i + 1]
        i += 1
        if esc in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[esc])
            continue
        size = {'x': 2, 'u': 4, 'U': 8}.get(esc)
        if size is None and esc and esc in '01234567':
            size, digits, base = 3, body[i - 1 : i + 2], 8
            i += 2
        elif size is not None:
            digits, base = body[i : i + size], 16
            i += size
        else:
            raise ValueError('invalid syntax')
        try:
            code = int(digits, base)
        except ValueError:
            raise ValueError('invalid syntax') from None
        if len(digits) != size or code > 0x10FFFF:
            raise ValueError('invalid syntax')
        out.append(chr(code))
    return ''.join(out)


def _tokens(query: str) -> list[_Token]:
    tokens = []
    pos = 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if match is None:
            raise LokiParseError(
                f'parse error at line 1, col {pos + 1}: syntax error: '
                f'unexpected character {query[pos]!r}'
            )
        kind = typing.cast(str, match.lastgroup)
        if kind != 'space':
            tokens.append(_Token(kind, match.group(), pos + 1))
        pos = match.end()
    return tokens


def parse_duration(text: str) -> int:
    """A Prometheus/Loki duration (``5m``, ``1h30m``) in nanoseconds."""
    pos = 0
    total = 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            raise ValueError(f'not a valid duration string: "{text}"')
        total += int(float(match.group(1)) * _DURATION_UNITS[match.group(2)])
        pos = match.end()
    if not text:
        raise ValueError('empty duration string')
    return total


# -- LogQL syntax tree -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LabelMatcher:
    name: str
    op: str
    value: str
    regex: typing.Any = None

    @classmethod
    def make(cls, name: str, op: str, value: str) -> LabelMatcher:
        regex = None
        if op in ('=~', '!~'):
            # Prometheus label matchers are fully anchored, dot-all.
            regex = compile_re2(f'^(?s:{value})$')
        return cls(name, op, value, regex)

    def matches(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.name, '')
        if self.op == '=':
            return actual == self.value
        if self.op == '!=':
            return actual != self.value
        found = self.regex.search(actual) is not None
        return found if self.op == '=~' else not found


@dataclasses.dataclass(frozen=True)
class LineFilter:
    op: str
    value: str
    regex: typing.Any = None

    def matches(self, line: str) -> bool:
        if self.op == '|=':
            return self.value in line
        if self.op == '!=':
            return self.value not in line
        found = self.regex.search(line) is not None
        return found if self.op == '|~' else not found


@dataclasses.dataclass(frozen=True)
class Parser:
    kind: str  # json | logfmt


Stage = LineFilter | Parser | LabelMatcher


@dataclasses.dataclass(frozen=True)
class LogQuery:
    matchers: list[LabelMatcher]
    stages: list[Stage]


@dataclasses.dataclass(frozen=True)
class MetricQuery:
    by: list[str]
    inner: LogQuery
    range_ns: int
    offset_ns: int = 0


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokens(query)
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def error(self, expecting: str) -> LokiParseError:
        token = self.peek()
        if token is None:
            return LokiParseError(
                f'parse error at line 1, col {len(self.query) + 1}: syntax '
                f'error: unexpected $end, expecting {expecting}'
            )
        return LokiParseError(
            f'parse error at line 1, col {token.col}: syntax error: '
            f'unexpected {token.text}, expecting {expecting}'
        )

    def take(self, kind: str, text: str | None = None) -> _Token:
        token = self.peek()
        if (
            token is None
            or token.kind != kind
            or (text is not None and token.text != text)
        ):
            raise self.error(
                text.upper()
                if text and text.isidentifier()
                else text or kind.upper()
            )
        self.pos += 1
        return token

    def accept(self, text: str) -> bool:
        token = self.peek()
        if token is not None and token.text == text:
            self.pos += 1
            return True
        return False

    def string(self) -> str:
        token = self.take('string')
        try:
            return _unquote(token.text)
        except ValueError:
            raise LokiParseError(
                f'parse error at line 1, col {token.col}: invalid syntax'
            ) from None

    def regex(self, value: str, token: _Token) -> typing.Any:
        try:
            return compile_re2(value)
        except re2.error as exc:
            reason = exc.args[0] if exc.args else exc
            if isinstance(reason, bytes):
                reason = reason.decode('utf-8', 'replace')
            raise LokiParseError(
                f'parse error at line 1, col {token.col}: error parsing '
                f'regexp: {reason}'
            ) from None

    def parse(self) -> LogQuery | MetricQuery:
        token = self.peek()
        result: LogQuery | MetricQuery
        if token is not None and token.text == 'sum':
            result = self.metric()
        else:
            result = self.log_query()
        if self.peek() is not None:
            raise self.error('end of query')
        return result

    def metric(self) -> MetricQuery:
        self.take('ident', 'sum')
        self.take('ident', 'by')
        self.take('op', '(')
        by = [self.take('ident').text]
        while self.accept(','):
            by.append(self.take('ident').text)
        self.take('op', ')')
        self.take('op', '(')
        self.take('ident', 'count_over_time')
        self.take('op', '(')
        inner = self.log_query()
        duration = self.take('duration')
        range_ns = self.duration(duration, duration.text[1:-1])
        offset_ns = 0
        if self.accept('offset'):
            token = self.take('number')
            offset_ns = self.duration(token, token.text)
        self.take('op', ')')
        self.take('op', ')')
        return MetricQuery(by, inner, range_ns, offset_ns)

    @staticmethod
    def duration(token: _Token, text: str) -> int:
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise LokiParseError(
                f'parse error at line 1, col {token.col}: {exc}'
            ) from None

    def log_query(self) -> LogQuery:
        start = self.take('op', '{')
        matchers = [self.matcher()]
        while self.accept(','):
            matchers.append(self.matcher())
        self.take('op', '}')
        if all(m.matches({}) for m in matchers):
            raise LokiParseError(
                f'parse error at line 1, col {start.col}: queries require '
                'at least one regexp or equality matcher that does not have '
                'an empty-compatible value. For instance, app=~".*" does not '
                'meet this requirement, but app=~".+" will'
            )
        return LogQuery(matchers, self.stages())

    def matcher(self) -> LabelMatcher:
        name = self.take('ident').text
        token = self.peek()
        if token is None or token.text not in ('=', '!=', '=~', '!~'):
            raise self.error('EQ or NEQ or RE or NRE')
        self.pos += 1
        value_token = self.peek()
        value = self.string()
        if token.text in ('=~', '!~'):
            self.regex(value, typing.cast(_Token, value_token))
        return LabelMatcher.make(name, token.text, value)

    def stages(self) -> list[Stage]:
        stages: list[Stage] = []
        while True:
            token = self.peek()
            if token is None or token.kind != 'op':
                return stages
            if token.text in ('|=', '!=', '|~', '!~'):
                self.pos += 1
                value_token = self.peek()
                value = self.string()
                regex = None
                if token.text in ('|~', '!~'):
                    regex = self.regex(value, typing.cast(_Token, value_token))
                stages.append(LineFilter(token.text, value, regex))
            elif token.text == '|':
                self.pos += 1
                stages.append(self.pipe_stage())
            else:
                return stages

    def pipe_stage(self) -> Stage:
        token = self.take('ident')
        if token.text in ('json', 'logfmt'):
            following = self.peek()
            if following is not None and following.kind in ('ident', 'string'):
                raise self.error('PIPE')
            return Parser(token.text)
        op = self.peek()
        if op is None or op.text not in ('=', '!=', '=~', '!~', '=='):
            raise self.error('a label filter operator')
        self.pos += 1
        value_token = self.peek()
        value = self.string()
        if op.text in ('=~', '!~'):
            self.regex(value, typing.cast(_Token, value_token))
        matcher = LabelMatcher.make(
            token.text, '=' if op.text == '==' else op.text, value
        )
        following = self.peek()
        if following is not None and following.text in (',', 'and', 'or'):
            raise self.error('PIPE')
        return matcher


def parse_query(query: str) -> LogQuery | MetricQuery:
    """Parse the supported LogQL subset, or ``LokiParseError``."""
    if not query.strip():
        raise LokiParseError('syntax error: unexpected $end')
    return _Parser(query).parse()


# -- parsers and evaluation ----------------------------------------------

_SANITIZE = re.compile(r'[^A-Za-z0-9_]')


def sanitize_key(key: str) -> str:
    """A parsed key as Loki names the label (a.b -> a_b)."""
    name = _SANITIZE.sub('_', key)
    if name and name[0].isdigit():
        name = '_' + name
    return name


def _flatten(prefix: str, value: typing.Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            name = sanitize_key(key)
            _flatten(f'{prefix}_{name}' if prefix else name, inner, out)
    elif isinstance(value, str):
        out[prefix] = value
    elif isinstance(value, bool):
        out[prefix] = 'true' if value else 'false'
    elif isinstance(value, (int, float)):
        out[prefix] = json.dumps(value)
    # arrays and null are not extracted, as in Loki's json parser


def parse_json_line(line: str) -> dict[str, str] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    out: dict[str, str] = {}
    _flatten('', value, out)
    return out


_LOGFMT = re.compile(
    r'\s*(?P<key>[^\s="]+)(?:=(?:"(?P<quoted>(?:[^"\\]|\\.)*)"'
    r'|(?P<bare>[^\s"]*)))?(?=\s|$)'
)


def parse_logfmt_line(line: str) -> dict[str, str] | None:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(line):
        if line[pos:].strip() == '':
            break
        match = _LOGFMT.match(line, pos)
        if match is None:
            return None
        if match.group('quoted') is not None:
            try:
                value = json.loads(f'"{match.group("quoted")}"')
            except ValueError:
                return None
        else:
            value = match.group('bare') or ''
        out[sanitize_key(match.group('key'))] = value
        pos = match.end()
    return out


def _extract(labels: dict[str, str], parsed: dict[str, str]) -> None:
    for key, value in parsed.items():
        if not key:
            continue
        # A parsed key that collides with a stream label gets a suffix.
        labels[f'{key}_extracted' if key in labels else key] = value


def run_pipeline(
    stages: list[Stage], labels: dict[str, str], line: str
) -> dict[str, str] | None:
    """The entry's labels after the pipeline, or None if filtered out."""
    current = labels
    copied = False
    for stage in stages:
        if isinstance(stage, LineFilter):
            if not stage.matches(line):
                return None
        elif isinstance(stage, Parser):
            if not copied:
                current, copied = dict(current), True
            if stage.kind == 'json':
                parsed = parse_json_line(line)
                error = 'JSONParserErr'
            else:
                parsed = parse_logfmt_line(line)
                error = 'LogfmtParserErr'
            if parsed is None:
                current['__error__'] = error
            else:
                _extract(current, parsed)
        elif not stage.matches(current):
            return None
    return current


# -- storage -------------------------------------------------------------


@dataclasses.dataclass
class Stream:
    labels: dict[str, str]
    #: (ts ns, line) in push order; equal (ts, line) pairs are deduplicated.
    entries: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    keys: set[tuple[int, str]] = dataclasses.field(default_factory=set)


def _labels_key(labels: dict[str, str]) -> str:
    return (
        '{'
        + ', '.join(f'{k}={json.dumps(v)}' for k, v in sorted(labels.items()))
        + '}'
    )


def _tie_order(labels_key: str) -> bytes:
    # Loki orders a nanosecond's entries by stream (fingerprint), not by
    # anything a client can rely on; a hash keeps that honest.
    return hashlib.blake2b(labels_key.encode(), digest_size=8).digest()


def _text(status: int, message: str) -> starlette.responses.Response:
    return starlette.responses.PlainTextResponse(
        message + '\n', status_code=status
    )


class _BadRequest(Exception):
    pass


def parse_time(value: str) -> int:
    """A Loki time parameter (ns, s if <= 10 digits, float s, RFC 3339)."""
    text = value.strip()
    if '.' in text:
        try:
            seconds = float(text)
        except ValueError:
            pass
        else:
            return round(seconds * 1e6) * 1000
    if text.lstrip('-').isdigit():
        number = int(text)
        return number * _NS if len(text) <= 10 else number
    try:
        return _rfc3339(text)
    except ValueError:
        raise _BadRequest(
            f'cannot parse "{value}" to a valid timestamp'
        ) from None


_RFC3339 = re.compile(
    r'(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?'
    r'(Z|z|[+-]\d{2}:\d{2})'
)


def _rfc3339(text: str) -> int:
    import calendar

    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(text)
    year, month, day, hour, minute, second = (
        int(match.group(i)) for i in range(1, 7)
    )
    fraction = int((match.group(7) or '0').ljust(9, '0'))
    seconds = calendar.timegm((year, month, day, hour, minute, second))
    zone = match.group(8)
    if zone not in ('Z', 'z'):
        sign = 1 if zone[0] == '+' else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * _NS + fraction


def _go_duration(ns: int) -> str:
    seconds = ns // _NS
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f'{hours}h{minutes}m{secs}s'


class LokiFake(StandIn):
    """Grafana Loki's read API over in-memory streams.

    ``auth_enabled`` (default True) makes X-Scope-OrgID required, as in a
    multi-tenant Loki. ``users`` / ``tokens`` model an auth gateway in
    front: when either is set, every request needs valid basic or bearer
    credentials, and a basic-auth user is the tenant (Grafana Cloud).
    """

    def __init__(self, *, auth_enabled: bool = True) -> None:
        super().__init__()
        self.lock = threading.RLock()
        self.auth_enabled = auth_enabled
        self.reset()

    def reset(self) -> None:
        """Forget every stream, request, fault and gateway credential."""
        with self.lock:
            self.users: dict[str, str] = {}
            self.tokens: set[str] = set()
            self.max_entries = MAX_ENTRIES
            #: tenant -> labels key -> stream
            self.tenants: dict[str, dict[str, Stream]] = {}
            #: What "now" is for default time ranges (None: the clock).
            self.now_ns: int | None = None
            #: Model the query frontend, which rounds a metric query's
            #: start down and end up to multiples of ``step`` from the
            #: epoch (pkg/querier/queryrange splitters.go, alignStartEnd).
            self.align_to_step = False
            self.requests.clear()
            self.clear_faults()

    # -- state ----------------------------------------------------------

    def push(
        self,
        labels: dict[str, str],
        entries: typing.Iterable[tuple[int, str]],
        tenant: str = 'fake',
    ) -> None:
        """Add entries (ts ns, line) to the stream with ``labels``."""
        with self.lock:
            streams = self.tenants.setdefault(tenant, {})
            key = _labels_key(labels)
            stream = streams.get(key)
            if stream is None:
                stream = streams[key] = Stream(dict(labels))
            for ts, line in entries:
                if (ts, line) not in stream.keys:
                    stream.keys.add((ts, line))
                    stream.entries.append((ts, line))

    def clock(self) -> int:
        return self.now_ns if self.now_ns is not None else time.time_ns()

    # -- request plumbing ----------------------------------------------

    def _tenants(
        self, request: starlette.requests.Request
    ) -> list[str] | starlette.responses.Response:
        tenant = request.headers.get('x-scope-orgid', '').strip()
        if self.users or self.tokens:
            header = request.headers.get('authorization', '')
            scheme, _, value = header.partition(' ')
            user = None
            if scheme.lower() == 'basic':
                try:
                    decoded = base64.b64decode(value, validate=True).decode()
                except ValueError:
                    decoded = ''
                name, _, password = decoded.partition(':')
                if self.users.get(name) != password or not name:
                    return _text(401, 'authentication error: invalid token')
                user = name
            elif scheme.lower() == 'bearer':
                if value.strip() not in self.tokens:
                    return _text(401, 'authentication error: invalid token')
            else:
                return _text(401, 'authentication error: no credentials')
            tenant = user or tenant
        if not tenant:
            if self.auth_enabled:
                return _text(401, 'no org id')
            tenant = 'fake'
        return [t for t in tenant.split('|') if t]

    def _streams(self, tenants: list[str]) -> list[Stream]:
        with self.lock:
            if len(tenants) == 1:
                return list(self.tenants.get(tenants[0], {}).values())
            out = []
            for tenant in tenants:
                for stream in self.tenants.get(tenant, {}).values():
                    labels = {**stream.labels, '__tenant_id__': tenant}
                    out.append(Stream(labels, list(stream.entries)))
            return out

    def _range(
        self, params: typing.Mapping[str, str], default_span_ns: int
    ) -> tuple[int, int]:
        end = parse_time(params['end']) if params.get('end') else self.clock()
        start = (
            parse_time(params['start'])
            if params.get('start')
            else end - default_span_ns
        )
        if end < start:
            raise _BadRequest(
                'end timestamp must not be before or equal to start time'
            )
        if end - start > MAX_QUERY_LENGTH_NS:
            raise _BadRequest(
                'the query time range exceeds the limit (query length: '
                f'{_go_duration(end - start)}, limit: 30d1h)'
            )
        return start, end

    @staticmethod
    def _success(data: typing.Any) -> starlette.responses.Response:
        return starlette.responses.JSONResponse(
            {'status': 'success', 'data': data}
        )

    # -- endpoints ------------------------------------------------------

    async def query_range(
        self, request: starlette.requests.Request
    ) -> starlette.responses.Response:
        tenants = self._tenants(request)
        if isinstance(tenants, starlette.responses.Response):
            return tenants
        params = request.query_params
        try:
            parsed = parse_query(params.get('query', ''))
            start, end = self._range(params, 3600 * _NS)
            if isinstance(parsed, MetricQuery):
                step = self._step(params, start, end)
                if self.align_to_step:
                    start -= start % step
                    end += -end % step
                data = self._matrix(parsed, tenants, start, end, step)
            else:
                limit = self._limit(params)
                direction = params.get('direction', 'backward').lower()
                if direction not in ('backward', 'forward'):
                    raise _BadRequest(
                        f"invalid direction '{params['direction']}'"
                    )
                data = self._log_result(
                    parsed, tenants, start, end, limit, direction
                )
        except (LokiParseError, _BadRequest) as exc:
            return _text(400, str(exc))
        return self._success(data)

    def _limit(self, params: typing.Mapping[str, str]) -> int:
        text = params.get('limit') or str(DEFAULT_LIMIT)
        try:
            limit = int(text)
        except ValueError:
            raise _BadRequest(
                f'strconv.Atoi: parsing "{text}": invalid syntax'
            ) from None
        if limit <= 0:
            raise _BadRequest('limit must be a positive value')
        if limit > self.max_entries:
            raise _BadRequest(
                'max entries limit per query exceeded, limit > '
                f'max_entries_limit_per_query ({limit} > {self.max_entries})'
            )
        return limit

    @staticmethod
    def _step(params: typing.Mapping[str, str], start: int, end: int) -> int:
        text = params.get('step')
        if not text:
            step = max((end - start) // 250 // _NS, 1) * _NS
        else:
            try:
                step = round(float(text) * 1e9)
            except ValueError:
                try:
                    step = parse_duration(text)
                except ValueError as exc:
                    raise _BadRequest(str(exc)) from None
        if step <= 0:
            raise _BadRequest(
                'zero or negative query resolution step widths are not '
                'accepted. Try a positive integer'
            )
        if (end - start) // step > MAX_POINTS:
            raise _BadRequest(
                'exceeded maximum resolution of 11,000 points per time '
                'series. Try increasing the value of the step parameter'
            )
        return step

    def _select(
        self,
        parsed: LogQuery,
        tenants: list[str],
        start: int,
        end: int,
        end_inclusive: bool = False,
    ) -> list[tuple[int, bytes, int, str, dict[str, str]]]:
        """Matching entries: (ts, tie order, push index, line, labels)."""
        out = []
        for stream in self._streams(tenants):
            if not all(m.matches(stream.labels) for m in parsed.matchers):
                continue
            stream_order = _tie_order(_labels_key(stream.labels))
            for index, (ts, line) in enumerate(stream.entries):
                if ts < start or ts > end or (ts == end and not end_inclusive):
                    continue
                labels = run_pipeline(parsed.stages, stream.labels, line)
                if labels is None:
                    continue
                order = (
                    stream_order
                    if labels is stream.labels
                    else _tie_order(_labels_key(labels))
                )
                out.append((ts, order, index, line, labels))
        return out

    def _log_result(
        self,
        parsed: LogQuery,
        tenants: list[str],
        start: int,
        end: int,
        limit: int,
        direction: str,
    ) -> dict[str, typing.Any]:
        selected = self._select(parsed, tenants, start, end)
        backward = direction == 'backward'
        selected.sort(key=lambda e: (e[0], e[1], e[2]), reverse=backward)
        chosen = selected[:limit]
        streams: dict[str, dict[str, typing.Any]] = {}
        for ts, _, _, line, labels in chosen:
            key = _labels_key(labels)
            stream = streams.get(key)
            if stream is None:
                stream = streams[key] = {'stream': labels, 'values': []}
            stream['values'].append([str(ts), line])
        return {
            'resultType': 'streams',
            'result': list(streams.values()),
            'stats': {'summary': {'totalEntriesReturned': len(chosen)}},
        }

    def _matrix(
        self,
        parsed: MetricQuery,
        tenants: list[str],
        start: int,
        end: int,
        step: int,
    ) -> dict[str, typing.Any]:
        offset = parsed.offset_ns
        selected = self._select(
            parsed.inner,
            tenants,
            start - offset - parsed.range_ns,
            end - offset,
            True,
        )
        for *_, labels in selected:
            if labels.get('__error__'):
                # Loki refuses a metric query whose pipeline failed on a
                # line, unless a label filter on __error__ drops them.
                error = labels['__error__']
                raise _BadRequest(
                    f"pipeline error: '{error}' for series: "
                    f"'{_labels_key(labels)}'.\nUse a label filter to "
                    'intentionally skip this error. (e.g | '
                    f'__error__!="{error}").\nTo skip all potential errors '
                    'you can match empty errors.(e.g __error__="")\nThe '
                    'later is less safe as it can also ignore errors from '
                    'other stages.'
                )
        series: dict[str, dict[str, typing.Any]] = {}
        last = (end - start) // step
        shifted = start - offset
        for ts, _, _, _, labels in selected:
            metric = {n: labels[n] for n in parsed.by if labels.get(n)}
            counts = series.setdefault(
                _labels_key(metric), {'metric': metric, 'counts': {}}
            )['counts']
            # The points t = start + k*step whose window
            # (t - offset - range, t - offset] holds ts.
            first = max(0, -((shifted - ts) // step))
            for k in range(first, last + 1):
                if shifted + k * step - parsed.range_ns >= ts:
                    break
                point = start + k * step
                counts[point] = counts.get(point, 0) + 1
        result = [
            {
                'metric': item['metric'],
                'values': [
                    [(point // 1_000_000) / 1000, str(count)]
                    for point, count in sorted(item['counts'].items())
                ],
            }
            for _, item in sorted(series.items())
            if item['counts']
        ]
        return {
            'resultType': 'matrix',
            'result': result,
            'stats': {'summary': {}},
        }

    def _matching_streams(
        self,
        request: starlette.requests.Request,
        tenants: list[str],
    ) -> list[Stream]:
        params = request.query_params
        start, end = self._range(params, 6 * 3600 * _NS)
        matchers: list[LabelMatcher] = []
        if params.get('query'):
            parsed = parse_query(params['query'])
            if not isinstance(parsed, LogQuery) or parsed.stages:
                raise LokiParseError(
                    'parse error : only label matchers are supported'
                )
            matchers = parsed.matchers
        return [
            stream
            for stream in self._streams(tenants)
            if all(m.matches(stream.labels) for m in matchers)
            and any(start <= ts <= end for ts, _ in stream.entries)
        ]

    async def labels(
        self, request: starlette.requests.Request
    ) -> starlette.responses.Response:
        tenants = self._tenants(request)
        if isinstance(tenants, starlette.responses.Response):
            return tenants
        try:
            streams = self._matching_streams(request, tenants)
        except (LokiParseError, _BadRequest) as exc:
            return _text(400, str(exc))
        names = sorted({name for s in streams for name in s.labels})
        return self._success(names)

    async def label_values(
        self, request: starlette.requests.Request
    ) -> starlette.responses.Response:
        tenants = self._tenants(request)
        if isinstance(tenants, starlette.responses.Response):
            return tenants
        name = request.path_params['name']
        try:
            streams = self._matching_streams(request, tenants)
        except (LokiParseError, _BadRequest) as exc:
            return _text(400, str(exc))
        values = sorted(
            {s.labels[name] for s in streams if s.labels.get(name)}
        )
        return self._success(values)

    def routes(self) -> list[starlette.routing.BaseRoute]:
        return [
            starlette.routing.Route(
                '/loki/api/v1/query_range', self.query_range, methods=['GET']
            ),
            starlette.routing.Route(
                '/loki/api/v1/labels', self.labels, methods=['GET']
            ),
            starlette.routing.Route(
                '/loki/api/v1/label/{name}/values',
                self.label_values,
                methods=['GET'],
            ),
        ]
