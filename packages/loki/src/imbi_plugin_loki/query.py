"""Translate a project and a LogQuery into LogQL.

Everything a caller or a project field supplies is escaped before it
reaches the query text, and every regular expression is compiled with RE2
(the engine Loki uses) first, so invalid input is a ``ValueError`` before
any request is made.
"""

import dataclasses
import typing

from imbi_plugin_loki._host import LogFilter, PluginContext, expand_template
from imbi_plugin_loki.options import Options, field_label

if typing.TYPE_CHECKING:
    import collections.abc

_GO_ESCAPES = {
    '\\': '\\\\',
    '"': '\\"',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\a': '\\a',
    '\b': '\\b',
    '\f': '\\f',
    '\v': '\\v',
}
_GO_TABLE = str.maketrans(
    {
        **{chr(c): f'\\x{c:02x}' for c in [*range(0x20), 0x7F]},
        **_GO_ESCAPES,
    }
)
# The characters RE2 gives a meaning outside a character class.
_REGEX_TABLE = str.maketrans({c: '\\' + c for c in '\\.+*?()|[]{}^$'})
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
_HEX_LENGTH = {'x': 2, 'u': 4, 'U': 8}
_HEX = frozenset('0123456789abcdefABCDEF')
_OCTAL = frozenset('01234567')
_MATCH_OPS = ('=~', '!~', '!=', '=')
_ALL_OPS = ['eq', 'ne', 'contains', 'starts_with', 'regex']

#: Canonical level -> the spellings that mean it (case-insensitive). The
#: cloudwatch plugin uses the same table, so both name levels alike.
LEVEL_SYNONYMS: dict[str, tuple[str, ...]] = {
    'trace': ('trace',),
    'debug': ('debug', 'dbg'),
    'info': ('info', 'information', 'notice'),
    'warn': ('warn', 'warning'),
    'error': ('error', 'err'),
    'critical': ('critical', 'crit', 'fatal', 'panic', 'emerg', 'alert'),
}
CANONICAL_LEVEL = {
    word: level for level, words in LEVEL_SYNONYMS.items() for word in words
}


def normalize_level(value: str | None) -> str | None:
    """The canonical lower-case level of a level word; others lower-cased."""
    if value is None or not value.strip():
        return None
    word = value.strip().lower()
    return CANONICAL_LEVEL.get(word, word)


def go_string(value: str) -> str:
    """``value`` as a LogQL double-quoted string (Go escapes)."""
    return '"' + value.translate(_GO_TABLE) + '"'


def regex_literal(value: str) -> str:
    """A regular expression matching ``value`` literally."""
    return value.translate(_REGEX_TABLE)


def _compile(pattern: str) -> typing.Any:
    import re2

    options = re2.Options()
    # Errors are reported as ValueError; RE2 would also print them.
    options.log_errors = False
    return re2.compile(pattern, options=options)


def _go_refuses(pattern: str) -> str | None:
    """What Go's ``regexp`` (Loki's engine) refuses that C++ RE2 accepts."""
    index = 0
    while index < len(pattern):
        if pattern[index] == '\\':
            if pattern[index + 1 : index + 2] == 'C':
                return r'\C (any byte) is not supported by Go'
            index += 2
            continue
        index += 1
    return None


def check_regex(pattern: str, what: str) -> None:
    """``ValueError`` saying why, unless Loki's Go regexp accepts it.

    C++ RE2 (google-re2) parses the syntax Go's ``regexp`` shares with
    it; the one form RE2 accepts and Go refuses (``\\C``) is refused
    before it.
    """
    import re2

    reason: typing.Any = _go_refuses(pattern)
    if reason is None:
        try:
            _compile(pattern)
        except re2.error as exc:
            reason = exc.args[0] if exc.args else exc
            if isinstance(reason, bytes):
                reason = reason.decode('utf-8', 'replace')
    if reason is not None:
        raise ValueError(
            f'{what}: {pattern!r} is not a valid RE2 regular expression '
            f'({reason}); RE2 has no lookaround and no backreferences'
        ) from None


@dataclasses.dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def render(self) -> str:
        return f'{self.name}{self.op}{go_string(self.value)}'


class _Scanner:
    """Just enough of LogQL's lexer to read one stream selector."""

    def __init__(self, text: str, what: str = 'selector') -> None:
        self.text = text
        self.what = what
        self.pos = 0

    def fail(self, message: str) -> typing.NoReturn:
        raise ValueError(
            f'{self.what} {self.text!r}: {message} at column {self.pos + 1}'
        )

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip_space()
        if not self.text.startswith(char, self.pos):
            self.fail(f'expected {char!r}')
        self.pos += 1

    def name(self) -> str:
        self.skip_space()
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isascii()
            and (self.text[self.pos].isalnum() or self.text[self.pos] == '_')
        ):
            self.pos += 1
        name = self.text[start : self.pos]
        if not name or name[0].isdigit():
            self.fail('expected a label name')
        return name

    def operator(self) -> str:
        self.skip_space()
        for op in _MATCH_OPS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return op
        self.fail('expected one of = != =~ !~')

    def string(self) -> str:
        self.skip_space()
        quote = self.text[self.pos : self.pos + 1]
        if quote == '`':
            end = self.text.find('`', self.pos + 1)
            if end < 0:
                self.fail('unterminated string')
            value = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return value
        if quote != '"':
            self.fail('expected a quoted string')
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == '"':
                return ''.join(out)
            if char == '\n':
                break
            if char == '\\':
                out.append(self._escape())
            else:
                out.append(char)
        self.fail('unterminated string')

    def _escape(self) -> str:
        char = self.text[self.pos : self.pos + 1]
        self.pos += 1
        if char in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[char]
        if char in _HEX_LENGTH:
            size, digits_ok, start = _HEX_LENGTH[char], _HEX, self.pos
        elif char and char in _OCTAL:
            size, digits_ok, start = 3, _OCTAL, self.pos - 1
        else:
            self.fail('invalid escape sequence')
        digits = self.text[start : start + size]
        if len(digits) != size or not set(digits) <= digits_ok:
            self.fail('invalid escape sequence')
        code = int(digits, 16 if digits_ok is _HEX else 8)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            self.fail('invalid escape sequence')
        self.pos = start + size
        return chr(code)


_LINE_OPS = ('|=', '!=', '|~', '!~')
_PARSERS = ('json', 'logfmt')


def parse_pipeline(text: str) -> tuple[list[str], bool]:
    """The stages of the ``pipeline`` option, re-rendered, and whether
    one of them is a parser; ``ValueError`` naming the option.

    Only line filters, ``| json``, ``| logfmt`` and string label filters
    are accepted: they can only narrow what the project sees.
    """
    scanner = _Scanner(text, "option 'pipeline'")
    stages: list[str] = []
    parses = False
    while True:
        scanner.skip_space()
        if scanner.pos == len(text):
            return stages, parses
        at = scanner.pos
        op = next((o for o in _LINE_OPS if text.startswith(o, at)), '')
        if op:
            scanner.pos += len(op)
            value = scanner.string()
            if op in ('|~', '!~'):
                check_regex(value, "option 'pipeline'")
            stages.append(f'{op} {go_string(value)}')
            continue
        scanner.expect('|')
        name = scanner.name()
        if name in _PARSERS:
            parses = True
            stages.append(f'| {name}')
            continue
        matcher = Matcher(name, scanner.operator(), scanner.string())
        if matcher.op in ('=~', '!~'):
            check_regex(matcher.value, "option 'pipeline'")
        stages.append(f'| {matcher.render()}')


def parse_selector(text: str) -> list[Matcher]:
    """The matchers of a ``{…}`` stream selector, or ``ValueError``."""
    scanner = _Scanner(text)
    scanner.expect('{')
    matchers: list[Matcher] = []
    while True:
        name = scanner.name()
        op = scanner.operator()
        matchers.append(Matcher(name, op, scanner.string()))
        scanner.skip_space()
        if scanner.text.startswith('}', scanner.pos):
            scanner.pos += 1
            break
        scanner.expect(',')
    scanner.skip_space()
    if scanner.pos != len(text):
        scanner.fail('unexpected text after the selector')
    return matchers


def _matches_empty(matcher: Matcher) -> bool:
    if matcher.op in ('=', '!='):
        equal = matcher.value == ''
        return equal if matcher.op == '=' else not equal
    found = _compile(f'(?s:{matcher.value})').fullmatch('') is not None
    return found if matcher.op == '=~' else not found


def _variables(ctx: PluginContext) -> dict[str, str | None]:
    type_slugs = getattr(ctx, 'project_type_slugs', None) or [None]
    return {
        'project_slug': ctx.project_slug,
        'org_slug': ctx.org_slug,
        'team_slug': ctx.team_slug,
        'environment': ctx.environment,
        'project_id': ctx.project_id,
        'project_type_slug': type_slugs[0],
    }


#: A selector matcher naming the environment.
ENVIRONMENT = '${environment}'


def build_selector(template: str, ctx: PluginContext) -> str:
    """Expand the selector template for this project and check it.

    Without an environment (``ctx.environment`` None: the request named
    none) the matchers that use ``${environment}`` are left out, so every
    environment is searched.

    The template is parsed first, so a substituted value can only ever
    become part of one matcher's value; values in regex matchers are
    regex-escaped too. The result needs at least one matcher that
    cannot match the empty string, as Loki requires.
    """
    variables = _variables(ctx)
    literal = {
        key: None if value is None else regex_literal(value)
        for key, value in variables.items()
    }
    matchers = []
    dropped = False
    for matcher in parse_selector(template):
        if ctx.environment is None and ENVIRONMENT in matcher.value:
            # The request named no environment: search them all rather
            # than send env="" (which matches nothing, silently).
            dropped = True
            continue
        values = literal if matcher.op in ('=~', '!~') else variables
        value = expand_template(matcher.value, values)
        expanded = Matcher(matcher.name, matcher.op, value)
        if matcher.op in ('=~', '!~'):
            check_regex(value, f'selector matcher {matcher.name}')
        matchers.append(expanded)
    if dropped and not matchers:
        raise ValueError(
            f'selector {template!r} selects by ${{environment}} only and '
            'this request names no environment: choose an environment'
        )
    if all(_matches_empty(m) for m in matchers):
        raise ValueError(
            f'selector {template!r} expands to a selector with no matcher '
            'that excludes the empty value; Loki requires at least one '
            '(e.g. service_name="…" for a non-empty project field)'
        )
    return '{' + ', '.join(m.render() for m in matchers) + '}'


def _line_filter(item: LogFilter) -> str:
    value = item.value
    if item.op == 'contains':
        return f'|= {go_string(value)}'
    if item.op == 'regex':
        check_regex(value, 'filter message')
        return f'|~ {go_string(value)}'
    if item.op == 'starts_with':
        return f'|~ {go_string("^" + regex_literal(value))}'
    pattern = '^' + regex_literal(value) + '$'
    return f'{"|~" if item.op == "eq" else "!~"} {go_string(pattern)}'


def _label_filter(name: str, item: LogFilter) -> str:
    value = item.value
    if item.op == 'eq':
        return f'| {name}={go_string(value)}'
    if item.op == 'ne':
        return f'| {name}!={go_string(value)}'
    # Loki anchors label regexes, so these ops wrap them in "anything";
    # with the s flag, since before Prometheus 3 Loki's anchoring leaves
    # . short of newlines and a parsed message may span several lines.
    anything = '(?s:.*)'
    if item.op == 'contains':
        pattern = f'{anything}{regex_literal(value)}{anything}'
    elif item.op == 'starts_with':
        pattern = f'{regex_literal(value)}{anything}'
    else:
        check_regex(value, f'filter {item.field}')
        pattern = f'{anything}(?:{value}){anything}'
    check_regex(pattern, f'filter {item.field}')
    return f'| {name}=~{go_string(pattern)}'


def level_pattern(levels: collections.abc.Iterable[str]) -> str | None:
    """A case-insensitive, anchored-by-Loki regex for the levels."""
    spellings: set[str] = set()
    for level in levels:
        name = level.strip().lower()
        if not name:
            raise ValueError('levels must not contain an empty level')
        canonical = CANONICAL_LEVEL.get(name)
        spellings.update(LEVEL_SYNONYMS[canonical] if canonical else (name,))
    if not spellings:
        return None
    alternatives = '|'.join(regex_literal(s) for s in sorted(spellings))
    return f'(?i)(?:{alternatives})'


#: Characters every JSON and logfmt encoder writes as themselves: ASCII
#: letters, digits, space and punctuation no encoder escapes (Go escapes
#: <>&, Gson also '=, .NET also +`, PHP escapes /, all escape " and \\).
_VERBATIM = frozenset(
    'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
    ' .,:;_-()[]{}#%!?*@|~^$'
)


def verbatim_in_lines(value: str) -> bool:
    """Whether a parsed value holding ``value`` has it verbatim in the
    raw line, whatever encoder wrote the line."""
    return bool(value) and all(c in _VERBATIM for c in value)


def build_pipeline(
    options: Options,
    filters: collections.abc.Sequence[LogFilter],
    levels: collections.abc.Sequence[str],
    *,
    metric: bool = False,
) -> str:
    """The project's pipeline, line filters, the parser, label filters,
    then the level filter.

    With json/logfmt, ``message`` means the ``message_field`` shown as
    the entry's message, so it is a label filter on that field; with raw
    lines it is a line filter. A metric query drops the lines the parser
    could not read (``__error__``), which Loki otherwise refuses.
    """
    parsed = options.line_format != 'raw'
    line: list[str] = []
    labels: list[str] = []
    for item in filters:
        if item.field == 'message' and not parsed:
            line.append(_line_filter(item))
        elif item.field == 'message':
            # Loki runs line filters before parsing (and uses them to skip
            # chunks): a safe substring of the value narrows cheaply.
            if item.op in ('eq', 'contains', 'starts_with') and (
                verbatim_in_lines(item.value)
            ):
                line.append(f'|= {go_string(item.value)}')
            labels.append(_label_filter(options.message_field, item))
        else:
            name = field_label(item.field, 'filter field')
            labels.append(_label_filter(name, item))
    stages, base_parses = parse_pipeline(options.pipeline)
    stages.extend(line)
    if parsed:
        stages.append(f'| {options.line_format}')
    if metric and (parsed or base_parses):
        stages.append('| __error__=""')
    stages.extend(labels)
    pattern = level_pattern(levels)
    if pattern is not None:
        stages.append(f'| {options.level_field}=~{go_string(pattern)}')
    return ' '.join(stages)


def log_query(selector: str, pipeline: str) -> str:
    return f'{selector} {pipeline}' if pipeline else selector


def histogram_query(
    options: Options,
    selector: str,
    pipeline: str,
    step_seconds: int,
    offset_ns: int = 0,
) -> str:
    """``pipeline`` is built with ``metric=True`` (unparsable lines
    dropped)."""
    inner = log_query(selector, pipeline)
    offset = f' offset {offset_ns}ns' if offset_ns else ''
    return (
        f'sum by ({options.level_field}) '
        f'(count_over_time({inner} [{step_seconds}s]{offset}))'
    )


def schema_ops() -> list[str]:
    return list(_ALL_OPS)
