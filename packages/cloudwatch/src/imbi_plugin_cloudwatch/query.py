"""LogQuery -> CloudWatch filter pattern or Logs Insights query.

Everything here is pure and validated before any AWS call: a filter
pattern is produced only where it means exactly what the query asks
(otherwise :class:`Untranslatable` says why), and Insights strings and
regexes are escaped so no value can change the query's structure.
"""

import dataclasses
import datetime
import hashlib
import json
import re
import typing

from imbi_plugin_cloudwatch._host import LogQuery

if typing.TYPE_CHECKING:
    from imbi_plugin_cloudwatch.options import Options

OPS = ('eq', 'ne', 'contains', 'starts_with', 'regex')
#: Canonical level -> the words that mean it (matched case-insensitively).
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
_ALL_LEVEL_WORDS = sorted(CANONICAL_LEVEL, key=lambda w: (-len(w), w))
#: Text messages are searched for their level only this far past their
#: leading whitespace: detection stays bounded whatever an event holds.
TEXT_LEVEL_HEAD = 256
#: A date and time, or a time alone (logback's default %d{HH:mm:ss.SSS}).
_TIMESTAMP = (
    r'(?:\d{4}-\d\d-\d\d[T ])?\d\d:\d\d:\d\d(?:[.,]\d{1,9})?'
    r'(?:Z|[+-]\d\d:?\d\d)?'
)
#: Where a text message holds its level (README, "Levels in text
#: messages"). Each is followed by the level word and a word boundary.
#: No two adjacent quantifiers overlap and every repeat is bounded, so
#: matching a head of TEXT_LEVEL_HEAD characters takes bounded time.
TEXT_LEVEL_LAYOUTS: dict[str, str] = {
    # ERROR boom / [warn] disk / <crit> down / "fatal" oops
    'leading token': r'[\[(<"\']?',
    # Python logging, log4j, syslog-ish: 2026-11-25 12:00:00,123 ERROR x,
    # Python's "%(asctime)s - %(name)s - %(levelname)s - ...", and log4j
    # or logback with the thread: 12:00:00.123 [main] WARN c.e.Foo - x
    'after a timestamp': (
        rf'\[?{_TIMESTAMP}\]?(?:[ \t]{{1,4}}\[[^\]\r\n]{{1,64}}\])?'
        r'(?:[ \t]{1,4}-[ \t]{1,4}[^ \t]{1,128}'
        r'[ \t]{1,4}-)?[ \t|:-]{1,8}[\[(<]?'
    ),
    # Node.js on Lambda: <timestamp>\t<request id>\tERROR\tboom
    'after a Lambda request id': rf'{_TIMESTAMP}\t[0-9A-Za-z-]{{36}}\t',
    # logfmt / key-value: level=error msg=boom, time=... lvl=warn,
    # severity: info, "level":"error"
    'level key': (
        r'(?:.{0,200}?[^A-Za-z0-9_])?["\']?(?:level|lvl|severity|loglevel)'
        r'["\']? ?[=:] ?["\']?'
    ),
}
_LAYOUTS = '|'.join(f'(?:{layout})' for layout in TEXT_LEVEL_LAYOUTS.values())
_LEVEL_WORDS = '|'.join(_ALL_LEVEL_WORDS)
#: Applied locally to a message's head, after its leading whitespace.
TEXT_LEVEL = re.compile(
    rf'(?:{_LAYOUTS})({_LEVEL_WORDS})\b', re.IGNORECASE | re.DOTALL
)
_NOT_SPACE = re.compile(r'\S')
#: The same layouts for Insights, which sees whole messages.
_INSIGHTS_TEXT_LEVEL = rf'(?is)^\s*(?:{_LAYOUTS})'
#: Characters CloudWatch accepts inside a filter pattern's %regex%
#: ("Supported regular expressions (regex) syntax", CloudWatch Logs).
_PATTERN_REGEX = re.compile(r'^[A-Za-z0-9_#=@/;,:\-^$?\[\]{}|\\*+.]+$')
#: Values a quoted filter-pattern term or JSON string holds verbatim.
_PATTERN_VALUE = re.compile(r'^[^"*\\\x00-\x1f]+$')
#: A JSON field as Insights names it: keys joined by dots, which may hold
#: hyphens (``user-agent``; the query back-quotes every field name).
_JSON_FIELD = re.compile(
    r'[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*'
)
_LEVEL_NAME = re.compile(r'^[A-Za-z]+$')
#: FilterLogEvents returns newest first only from this time on.
NEWEST_FIRST_SINCE_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MAX_PATTERN_LENGTH = 1024
MAX_PATTERN_REGEXES = 2
SEARCH_FIELDS = '@timestamp, @message, @logStream, @log, @ptr, @ingestionTime'
#: Insights field holding the level parsed from text messages.
PARSED_LEVEL = 'imbi_level'
#: Insights field holding a histogram row's bucket number.
BUCKET_FIELD = 'imbi_bucket'


class Untranslatable(Exception):
    """The query cannot be a filter pattern; the message says why."""


@dataclasses.dataclass(frozen=True)
class Target:
    """What a filter looks at: the raw message, the stream or a JSON field."""

    kind: typing.Literal['message', 'stream', 'json']
    path: str = ''

    def insights(self) -> str:
        if self.kind == 'message':
            return '@message'
        if self.kind == 'stream':
            return '@logStream'
        return f'`{self.path}`'


@dataclasses.dataclass(frozen=True)
class Criterion:
    target: Target
    op: str
    value: str


@dataclasses.dataclass(frozen=True)
class Translation:
    """A validated query: criteria, level words and its time range (ms)."""

    criteria: tuple[Criterion, ...]
    level_words: tuple[str, ...]
    start_ms: int
    end_ms: int
    json_mode: bool
    level_field: str
    stream_prefix: str | None = None
    base_filter: str | None = None


def to_ms(moment: datetime.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


def normalize_level(value: str | None) -> str | None:
    """Canonical lower-case level for a level word; other words as is."""
    if value is None or not value.strip():
        return None
    word = value.strip().lower()
    return CANONICAL_LEVEL.get(word, word)


def text_level(message: str) -> str | None:
    """The level of a text message in one of TEXT_LEVEL_LAYOUTS, if any.

    Linear in the message: one scan for its first non-space character,
    then a bounded match on a head of TEXT_LEVEL_HEAD characters.
    """
    first = _NOT_SPACE.search(message)
    if first is None:
        return None
    start = first.start()
    head = message[start : start + TEXT_LEVEL_HEAD]
    found = TEXT_LEVEL.match(head)
    return normalize_level(found.group(1)) if found else None


def _level_words(levels: list[str]) -> tuple[str, ...]:
    words: dict[str, None] = {}
    for level in levels:
        name = level.strip().lower()
        if not _LEVEL_NAME.match(name):
            raise ValueError(
                f'level {level!r} is not a level name (letters only)'
            )
        canonical = CANONICAL_LEVEL.get(name)
        for word in LEVEL_SYNONYMS[canonical] if canonical else (name,):
            words[word] = None
    return tuple(words)


def _target(field: str, options: Options) -> Target:
    json_mode = options.message_format == 'json'
    if field in ('@message',) or (field == 'message' and not json_mode):
        return Target('message')
    if field == '@logStream':
        return Target('stream')
    if not json_mode:
        raise ValueError(
            f'cannot filter on {field!r}: text logs have only message '
            "and @logStream (set message_format to 'json' to filter on "
            'fields inside JSON messages; use levels for levels)'
        )
    if field == 'message':
        return Target('json', options.message_field)
    if field == 'level':
        return Target('json', options.level_field)
    if not _JSON_FIELD.fullmatch(field):
        raise ValueError(
            f'cannot filter on {field!r}: field names are letters, digits, '
            'underscores and hyphens, nested with dots (a.b)'
        )
    return Target('json', field)


#: Constructs Python's ``re`` accepts and CloudWatch refuses: lookaround,
#: backreferences (numbered or named), atomic groups, conditionals and
#: possessive quantifiers.
_REFUSED_REGEX = (
    (re.compile(r'\(\?<?[=!]'), 'lookaround'),
    (re.compile(r'\\[1-9]|\\k<|\(\?P='), 'backreferences'),
    (re.compile(r'\(\?>'), 'atomic groups'),
    (re.compile(r'\(\?\('), 'conditionals'),
    (re.compile(r'[*+?}]\+'), 'possessive quantifiers'),
)
_ESCAPED_OR_CLASS = re.compile(r'\\.|\[(?:\\.|[^\]\\])*\]?', re.DOTALL)


def _check_regex(value: str) -> None:
    """ValueError unless ``re`` compiles it and AWS accepts its syntax."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(
            f'invalid regular expression {value!r}: {exc}'
        ) from None
    # Escapes other than backreferences and whole character classes are
    # blanked first, so [(?=] or \( are not mistaken for constructs.
    bare = _ESCAPED_OR_CLASS.sub(
        lambda m: m[0] if re.fullmatch(r'\\[1-9k]', m[0]) else '_', value
    )
    for construct, name in _REFUSED_REGEX:
        if construct.search(bare):
            raise ValueError(
                f'invalid regular expression {value!r}: CloudWatch Logs '
                f'does not support {name}'
            )


def translate(query: LogQuery, options: Options) -> Translation:
    """Validate ``query`` (ValueError says what is wrong)."""
    start_ms, end_ms = to_ms(query.start_time), to_ms(query.end_time)
    if start_ms > end_ms:
        raise ValueError('start_time must not be after end_time')
    if query.limit < 1:
        raise ValueError('limit must be at least 1')
    criteria = []
    for item in query.filters:
        if item.op == 'regex':
            _check_regex(item.value)
        criteria.append(
            Criterion(_target(item.field, options), item.op, item.value)
        )
    return Translation(
        criteria=tuple(criteria),
        level_words=_level_words(query.levels),
        start_ms=start_ms,
        end_ms=end_ms,
        json_mode=options.message_format == 'json',
        level_field=options.level_field,
        stream_prefix=options.log_stream_prefix,
        base_filter=options.base_filter,
    )


# -- filter patterns ------------------------------------------------------


def _pattern_value(value: str) -> str:
    if not _PATTERN_VALUE.match(value):
        raise Untranslatable(
            'a filter pattern cannot hold an empty value or one with ", * '
            'or \\ exactly'
        )
    return value


def _pattern_regex(value: str) -> str:
    if not _PATTERN_REGEX.match(value):
        raise Untranslatable(
            f'regular expression {value!r} uses syntax filter patterns do '
            'not support (parentheses, spaces, ...)'
        )
    return f'%{value}%'


def _json_term(criterion: Criterion) -> str:
    if '-' in criterion.target.path:
        raise Untranslatable(
            'filter-pattern JSON selectors take simple names only '
            f'({criterion.target.path!r} holds a hyphen)'
        )
    path = f'$.{criterion.target.path}'
    if criterion.op == 'regex':
        return f'{path} = {_pattern_regex(criterion.value)}'
    value = _pattern_value(criterion.value)
    if criterion.op == 'eq':
        return f'{path} = "{value}"'
    if criterion.op == 'ne':
        return f'{path} != "{value}"'
    if criterion.op == 'contains':
        return f'{path} = "*{value}*"'
    return f'{path} = "{value}*"'


def _text_term(criterion: Criterion) -> str:
    if criterion.op == 'contains':
        return f'"{_pattern_value(criterion.value)}"'
    if criterion.op == 'regex':
        return _pattern_regex(criterion.value)
    raise Untranslatable(
        f'{criterion.op} on the whole message needs Logs Insights (filter '
        'patterns only find terms in text messages)'
    )


def filter_pattern(translation: Translation) -> str:
    """The FilterLogEvents pattern, or Untranslatable saying why."""
    if translation.base_filter:
        raise Untranslatable(
            'base_filter is a Logs Insights expression, which filter '
            'patterns cannot hold'
        )
    if translation.level_words:
        raise Untranslatable(
            'levels match case-insensitively with synonyms, which filter '
            'patterns cannot express'
        )
    if translation.start_ms < NEWEST_FIRST_SINCE_MS:
        raise Untranslatable(
            'FilterLogEvents returns newest first only from 2024-01-01 on'
        )
    text_terms, json_terms = [], []
    for criterion in translation.criteria:
        if criterion.target.kind == 'stream':
            raise Untranslatable('filter patterns cannot match @logStream')
        if criterion.target.kind == 'json':
            json_terms.append(_json_term(criterion))
        else:
            text_terms.append(_text_term(criterion))
    if text_terms and json_terms:
        raise Untranslatable(
            'a filter pattern cannot mix JSON fields and message terms'
        )
    regexes = sum(1 for c in translation.criteria if c.op == 'regex')
    if regexes > MAX_PATTERN_REGEXES:
        raise Untranslatable(
            'a filter pattern holds at most two regular expressions'
        )
    pattern = (
        '{ ' + ' && '.join(json_terms) + ' }'
        if json_terms
        else ' '.join(text_terms)
    )
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise Untranslatable('the filter pattern would exceed 1024 characters')
    return pattern


# -- Logs Insights --------------------------------------------------------


def insights_string(value: str) -> str:
    """A double-quoted Insights string literal."""
    escaped = (
        value.replace('\\', '\\\\')
        .replace('"', '\\"')
        .replace('\n', '\\n')
        .replace('\r', '\\r')
        .replace('\t', '\\t')
    )
    return f'"{escaped}"'


def insights_regex(pattern: str) -> str:
    """A /regex/ literal: bare slashes and line breaks escaped."""
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == '\\' and index + 1 < len(pattern):
            out.append(pattern[index : index + 2])
            index += 2
            continue
        out.append({'/': '\\/', '\n': '\\n', '\r': '\\r'}.get(char, char))
        index += 1
    return '/' + ''.join(out) + '/'


def _condition(criterion: Criterion) -> str:
    field = criterion.target.insights()
    value = criterion.value
    if criterion.op == 'eq':
        return f'{field} = {insights_string(value)}'
    if criterion.op == 'ne':
        return f'{field} != {insights_string(value)}'
    if criterion.op == 'contains':
        return f'{field} like {insights_string(value)}'
    if criterion.op == 'starts_with':
        return f'{field} like {insights_regex("^" + re.escape(value))}'
    return f'{field} like {insights_regex(value)}'


def _level_alternation(words: tuple[str, ...]) -> str:
    return '|'.join(sorted(words, key=lambda w: (-len(w), w)))


def _level_condition(translation: Translation) -> str:
    words = _level_alternation(translation.level_words)
    if translation.json_mode:
        return f'`{translation.level_field}` like ' + insights_regex(
            rf'(?i)^\s*(?:{words})\s*$'
        )
    return '@message like ' + insights_regex(
        rf'{_INSIGHTS_TEXT_LEVEL}(?:{words})\b'
    )


def insights_filter(
    translation: Translation, end_ms: int | None = None
) -> str:
    """The ``filter`` command: exact millisecond bounds, criteria, levels."""
    upper = translation.end_ms if end_ms is None else end_ms
    conditions = [
        f'toMillis(@timestamp) >= {translation.start_ms}',
        f'toMillis(@timestamp) <= {upper}',
    ]
    if translation.base_filter:
        conditions.append(f'({translation.base_filter})')
    if translation.stream_prefix:
        conditions.append(
            _condition(
                Criterion(
                    Target('stream'), 'starts_with', translation.stream_prefix
                )
            )
        )
    conditions.extend(_condition(c) for c in translation.criteria)
    if translation.level_words:
        conditions.append(_level_condition(translation))
    return 'filter ' + ' and '.join(conditions)


def search_query(translation: Translation, end_ms: int, limit: int) -> str:
    return (
        f'fields {SEARCH_FIELDS}'
        f' | {insights_filter(translation, end_ms)}'
        ' | sort @timestamp desc'
        f' | limit {limit}'
    )


def histogram_query(translation: Translation, step_ms: int) -> str:
    """Counts per bucket ``floor((t - start) / step)`` and level.

    Insights' ``bin()`` is aligned to the epoch; the buckets here start
    at the query's start, as the host expects (it sums environments on
    identical timestamps). The upper bound is exclusive: [start, end).
    """
    if translation.json_mode:
        by_level = f'`{translation.level_field}`'
        parse = ''
    else:
        by_level = PARSED_LEVEL
        parse = ' | parse @message ' + insights_regex(
            rf'{_INSIGHTS_TEXT_LEVEL}'
            rf'(?<{PARSED_LEVEL}>{_level_alternation(tuple(CANONICAL_LEVEL))})\b'
        )
    bucket = (
        f' | fields floor((toMillis(@timestamp) - {translation.start_ms})'
        f' / {step_ms}) as {BUCKET_FIELD}'
    )
    return (
        f'{insights_filter(translation, translation.end_ms - 1)}{parse}'
        f'{bucket} | stats count(*) as n by {BUCKET_FIELD}, {by_level}'
    )


def fingerprint(translation: Translation, options: Options) -> str:
    """Identifies a query (not its page) so cursors stay bound to it.

    Not its time window, which the cursor carries (see cursor.py).
    """
    data = {
        'region': options.region,
        'group': options.log_group,
        'groups': list(options.log_groups),
        'prefix': options.log_stream_prefix,
        'endpoint': options.endpoint_url,
        'role': options.role_arn,
        'format': options.message_format,
        'mode': options.query_mode,
        'fields': [options.level_field, options.message_field],
        'base': options.base_filter,
        'criteria': [
            [c.target.kind, c.target.path, c.op, c.value]
            for c in translation.criteria
        ],
        'levels': translation.level_words,
    }
    encoded = json.dumps(data, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()
