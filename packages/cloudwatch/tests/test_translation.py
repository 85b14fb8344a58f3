"""The translation table: LogQuery -> filter pattern or Insights query."""

import datetime
import typing

import pytest
from imbi_plugin_cloudwatch import options as options_module
from imbi_plugin_cloudwatch import query as q
from imbi_plugin_cloudwatch._host import LogFilter, LogQuery
from imbi_plugin_testing import make_context
from imbi_plugin_testing.fakes.cloudwatch import compile_insights

END = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)
START = END - datetime.timedelta(minutes=30)
START_MS = int(START.timestamp() * 1000)
END_MS = int(END.timestamp() * 1000)
#: The level layouts of text messages, as one Insights regex prefix.
TEXT_LEVEL = (
    r'(?is)^\s*(?:'
    + '|'.join(
        f'(?:{layout})' for layout in q.TEXT_LEVEL_LAYOUTS.values()
    ).replace('/', '\\/')
    + ')'
)


def opts(**raw: typing.Any) -> options_module.Options:
    raw.setdefault('region', 'us-east-1')
    return options_module.read_options(make_context('logs', options=raw))


def log_query(
    *filters: str,
    levels: list[str] | None = None,
    start: datetime.datetime = START,
) -> LogQuery:
    parsed = []
    for text in filters:
        field, op, value = text.split(':', 2)
        parsed.append(LogFilter(field=field, op=op, value=value))
    return LogQuery(
        start_time=start,
        end_time=END,
        filters=parsed,
        levels=levels or [],
    )


def pattern(
    *filters: str, levels: list[str] | None = None, **raw: typing.Any
) -> str:
    return q.filter_pattern(
        q.translate(log_query(*filters, levels=levels), opts(**raw))
    )


@pytest.mark.parametrize(
    ('filters', 'expected'),
    [
        ((), ''),
        (('message:contains:timeout',), '"timeout"'),
        (('@message:contains:user 42',), '"user 42"'),
        (
            ('message:contains:a', 'message:contains:b'),
            '"a" "b"',
        ),
        (('message:regex:err[0-9]+',), '%err[0-9]+%'),
        (
            ('message:contains:GET', 'message:regex:^5\\d\\d$'),
            '"GET" %^5\\d\\d$%',
        ),
    ],
)
def test_text_filter_patterns(filters: tuple[str, ...], expected: str) -> None:
    assert pattern(*filters) == expected


@pytest.mark.parametrize(
    ('filters', 'expected'),
    [
        (('level:eq:ERROR',), '{ $.level = "ERROR" }'),
        (('user.id:ne:42',), '{ $.user.id != "42" }'),
        (('path:contains:api',), '{ $.path = "*api*" }'),
        (('path:starts_with:/v1',), '{ $.path = "/v1*" }'),
        (('message:regex:time.?out',), '{ $.msg = %time.?out% }'),
        (
            ('level:eq:ERROR', 'path:starts_with:/v1'),
            '{ $.severity = "ERROR" && $.path = "/v1*" }',
        ),
        (('@message:contains:timeout',), '"timeout"'),
    ],
)
def test_json_filter_patterns(filters: tuple[str, ...], expected: str) -> None:
    raw: dict[str, typing.Any] = {
        'message_format': 'json',
        'message_field': 'msg',
    }
    if 'severity' in expected:
        raw['level_field'] = 'severity'
    assert pattern(*filters, **raw) == expected


@pytest.mark.parametrize(
    ('filters', 'levels', 'raw', 'why'),
    [
        (('message:contains:a*b',), None, {}, 'cannot hold'),
        (('message:contains:say "hi"',), None, {}, 'cannot hold'),
        (('message:contains:',), None, {}, 'empty value'),
        (('message:eq:done',), None, {}, 'eq on the whole message'),
        (('message:ne:done',), None, {}, 'ne on the whole message'),
        (('message:starts_with:GET',), None, {}, 'starts_with'),
        (('message:regex:(a|b)',), None, {}, 'parentheses'),
        (('message:regex:a b',), None, {}, 'syntax'),
        ((), ['error'], {}, 'case-insensitively'),
        ((), ['error'], {'message_format': 'json'}, 'case-insensitively'),
        (('@logStream:eq:web-1',), None, {}, '@logStream'),
        (
            ('message:regex:a', 'message:regex:b', 'message:regex:c'),
            None,
            {},
            'at most two',
        ),
        (
            ('@message:contains:x', 'level:eq:ERROR'),
            None,
            {'message_format': 'json'},
            'cannot mix',
        ),
        (('path:eq:a*',), None, {'message_format': 'json'}, 'cannot hold'),
        (('path:regex:(x)',), None, {'message_format': 'json'}, 'syntax'),
        (
            ('message:contains:' + 'x' * 1100,),
            None,
            {},
            '1024',
        ),
    ],
)
def test_untranslatable(
    filters: tuple[str, ...],
    levels: list[str] | None,
    raw: dict[str, str],
    why: str,
) -> None:
    with pytest.raises(q.Untranslatable, match=why):
        pattern(*filters, levels=levels, **raw)


def test_old_start_goes_to_insights() -> None:
    early = datetime.datetime(2023, 12, 31, tzinfo=datetime.UTC)
    translation = q.translate(log_query(start=early), opts())
    with pytest.raises(q.Untranslatable, match='2024-01-01'):
        q.filter_pattern(translation)


def test_newest_first_boundary_is_exactly_2024_01_01() -> None:
    """FilterLogEvents returns newest first from 2024-01-01T00:00Z on:
    that very millisecond is a filter pattern, one before is not."""
    boundary = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    assert q.to_ms(boundary) == q.NEWEST_FIRST_SINCE_MS
    at = q.translate(log_query('message:contains:x', start=boundary), opts())
    assert q.filter_pattern(at) == '"x"'
    before = q.translate(
        log_query(
            'message:contains:x',
            start=boundary - datetime.timedelta(milliseconds=1),
        ),
        opts(),
    )
    with pytest.raises(q.Untranslatable, match='2024-01-01'):
        q.filter_pattern(before)


def test_insights_escapes_carriage_returns_and_tabs() -> None:
    assert q.insights_string('a\rb\tc\nd') == '"a\\rb\\tc\\nd"'
    assert q.insights_regex('a\rb\nc/d\te') == '/a\\rb\\nc\\/d\te/'
    assert q.insights_regex('a\\/b') == '/a\\/b/'
    assert q.insights_regex('trailing\\') == '/trailing\\/'
    text = _insights('message:eq:a\r\tb', 'message:regex:x\ry')
    assert '@message = "a\\r\\tb"' in text
    assert '@message like /x\\ry/' in text
    compile_insights(text)


@pytest.mark.parametrize(
    ('prefix', 'condition'),
    [
        ('web-', '@logStream like /^web\\-/'),
        ('a.b[1]*', '@logStream like /^a\\.b\\[1\\]\\*/'),
        ('x/y', '@logStream like /^x\\/y/'),
    ],
)
def test_insights_stream_prefix_is_anchored_and_escaped(
    prefix: str, condition: str
) -> None:
    translation = q.translate(
        log_query(levels=['error']),
        opts(log_stream_prefix_template=prefix),
    )
    text = q.search_query(translation, translation.end_ms, 10)
    assert f'{BOUNDS} and {condition} and' in text
    compile_insights(text)


def _insights(
    *filters: str, levels: list[str] | None = None, **raw: str
) -> str:
    translation = q.translate(log_query(*filters, levels=levels), opts(**raw))
    return q.search_query(translation, translation.end_ms, 101)


BOUNDS = (
    f'toMillis(@timestamp) >= {START_MS} and toMillis(@timestamp) <= {END_MS}'
)


@pytest.mark.parametrize(
    ('filters', 'levels', 'raw', 'condition'),
    [
        ((), None, {}, ''),
        (
            ('message:contains:a"b\\c',),
            None,
            {},
            ' and @message like "a\\"b\\\\c"',
        ),
        (('message:eq:done',), None, {}, ' and @message = "done"'),
        (('message:ne:done',), None, {}, ' and @message != "done"'),
        (
            ('message:starts_with:GET /x',),
            None,
            {},
            ' and @message like /^GET\\ \\/x/',
        ),
        (('message:regex:a/b',), None, {}, ' and @message like /a\\/b/'),
        (('message:regex:a\\/b',), None, {}, ' and @message like /a\\/b/'),
        (('@logStream:eq:web-1',), None, {}, ' and @logStream = "web-1"'),
        (
            (),
            ['ERROR'],
            {},
            f' and @message like /{TEXT_LEVEL}(?:error|err)\\b/',
        ),
        (
            (),
            ['warning', 'Info'],
            {'message_format': 'json'},
            ' and `level` like '
            '/(?i)^\\s*(?:information|warning|notice|info|warn)\\s*$/',
        ),
        (
            ('user.id:eq:42', 'message:contains:x\ny'),
            None,
            {'message_format': 'json'},
            ' and `user.id` = "42" and `message` like "x\\ny"',
        ),
        (
            (),
            ['custom'],
            {},
            f' and @message like /{TEXT_LEVEL}(?:custom)\\b/',
        ),
    ],
)
def test_insights_queries(
    filters: tuple[str, ...],
    levels: list[str] | None,
    raw: dict[str, str],
    condition: str,
) -> None:
    text = _insights(*filters, levels=levels, **raw)
    assert text == (
        'fields @timestamp, @message, @logStream, @log, @ptr,'
        ' @ingestionTime'
        f' | filter {BOUNDS}{condition}'
        ' | sort @timestamp desc | limit 101'
    )
    compile_insights(text)  # the stand-in parses what we generate


def test_histogram_queries() -> None:
    # [start, end): the upper bound is one millisecond before the end
    bounds = BOUNDS.replace(f'<= {END_MS}', f'<= {END_MS - 1}')
    bucket = (
        f' | fields floor((toMillis(@timestamp) - {START_MS}) / 60000)'
        ' as imbi_bucket'
    )
    text_mode = q.translate(log_query(), opts())
    text = q.histogram_query(text_mode, 60_000)
    assert text.startswith(
        f'filter {bounds} | parse @message /{TEXT_LEVEL}(?<imbi_level>'
    )
    assert '(?<imbi_level>information|critical|' in text
    assert text.endswith(
        f'{bucket} | stats count(*) as n by imbi_bucket, imbi_level'
    )
    compile_insights(text)
    json_mode = q.translate(
        log_query('a:eq:1'), opts(message_format='json', level_field='lvl')
    )
    assert q.histogram_query(json_mode, 60_000) == (
        f'filter {bounds} and `a` = "1"{bucket}'
        ' | stats count(*) as n by imbi_bucket, `lvl`'
    )
    compile_insights(q.histogram_query(json_mode, 60_000))


@pytest.mark.parametrize(
    ('message', 'level'),
    [
        ('ERROR boom', 'error'),
        ('[warn] disk', 'warn'),
        ('level=info started', 'info'),
        ('Level: DEBUG x', 'debug'),
        ('WARNING: careful', 'warn'),
        ('  <crit> down', 'critical'),
        ('"fatal" oops', 'critical'),
        # Python logging (default and asctime layouts), log4j, syslog-ish
        ('2026-11-25 12:00:00,123 ERROR boom', 'error'),
        ('2026-11-25 12:00:00,123 - app - WARNING - careful', 'warn'),
        ('2026-11-25T12:00:00.123Z [INFO] started', 'info'),
        ('[2026-11-25 12:00:00] DEBUG: x', 'debug'),
        ('2026-11-25T12:00:00+01:00 | notice | y', 'info'),
        # log4j / logback with the thread: %d [%t] %-5p, and logback's
        # default %d{HH:mm:ss.SSS} [%thread] %-5level
        ('2026-11-25 12:00:00,123 [main] ERROR c.e.Foo - boom', 'error'),
        ('12:00:00.123 [http-nio-8080-exec-1] WARN c.e.Foo - slow', 'warn'),
        ('12:00:00 INFO started', 'info'),
        # Node.js on Lambda: timestamp, request id, level, message
        (
            '2026-11-25T12:00:00.123Z\t6bc28136-xmpl-4365-b021-0ce6b2e64ab0'
            '\tERROR\tboom',
            'error',
        ),
        (
            '2026-11-25T12:00:00.123Z\tc0ffee00-0000-4000-8000-00000000abcd'
            '\tWARN\tslow',
            'warn',
        ),
        # logrus / logfmt / key-value anywhere in the head
        ('level=error msg=boom', 'error'),
        ('time="2026-11-25T12:00:00Z" level=warning msg="slow"', 'warn'),
        ('ts=1 lvl=dbg caller=x.go:1', 'debug'),
        ('{"time": 1, "level": "panic"}', 'critical'),
        ('severity: notice', 'info'),
        ('  \n\t ERROR after whitespace', 'error'),
        ('novel level=info', 'info'),
        ('sublevel=info', None),
        ('2026-11-25 12:00:00,123 user logged in', None),
        ('Errors happen', None),
        ('hello', None),
        ('', None),
    ],
)
def test_text_levels(message: str, level: str | None) -> None:
    assert q.text_level(message) == level


@pytest.mark.parametrize(
    ('value', 'expected'),
    [('WARNING', 'warn'), ('Err', 'error'), ('custom', 'custom'), ('', None)],
)
def test_normalize_level(value: str, expected: str | None) -> None:
    assert q.normalize_level(value) == expected


@pytest.mark.parametrize(
    ('filters', 'levels', 'raw', 'message'),
    [
        (('message:regex:(',), None, {}, 'invalid regular expression'),
        (('level:eq:x',), None, {}, 'text logs have only message'),
        (('@ingestionTime:eq:x',), None, {'message_format': 'json'}, 'cannot'),
        (('a b:eq:x',), None, {'message_format': 'json'}, 'letters, digits'),
        (('a\n:eq:x',), None, {'message_format': 'json'}, 'letters, digits'),
        (('a.:eq:x',), None, {'message_format': 'json'}, 'letters, digits'),
        (('-a:eq:x',), None, {'message_format': 'json'}, 'letters, digits'),
        ((), ['err-or'], {}, 'not a level name'),
    ],
)
def test_invalid_input(
    filters: tuple[str, ...],
    levels: list[str] | None,
    raw: dict[str, str],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        q.translate(log_query(*filters, levels=levels), opts(**raw))


def test_reversed_range_and_limit() -> None:
    bad = LogQuery(start_time=END, end_time=START)
    with pytest.raises(ValueError, match='start_time'):
        q.translate(bad, opts())
    zero = LogQuery(start_time=START, end_time=END, limit=0)
    with pytest.raises(ValueError, match='limit'):
        q.translate(zero, opts())


def test_naive_times_are_utc() -> None:
    naive = LogQuery(
        start_time=START.replace(tzinfo=None),
        end_time=END.replace(tzinfo=None),
    )
    translation = q.translate(naive, opts())
    assert (translation.start_ms, translation.end_ms) == (START_MS, END_MS)


def test_fingerprint_binds_query_and_options() -> None:
    base = q.translate(log_query('message:contains:a'), opts())
    other = q.translate(log_query('message:contains:b'), opts())
    assert q.fingerprint(base, opts()) == q.fingerprint(base, opts())
    assert q.fingerprint(base, opts()) != q.fingerprint(other, opts())
    assert q.fingerprint(base, opts()) != q.fingerprint(
        base, opts(log_group_template='/other')
    )


@pytest.mark.parametrize(
    'message',
    [
        ' ' * 200_000 + 'ERROR boom',
        ' ' * 200_000,
        '\t' * 100_000 + '[' + ' ' * 100_000 + 'x',
        'x' + ' ' * 200_000 + 'level=',
        '2026-11-25 12:00:00' + '-' * 200_000,
    ],
)
def test_text_level_is_linear_on_hostile_messages(
    message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: the old pattern backtracked quadratically on leading
    whitespace (10,000 spaces took ~6 s on the event loop). The level
    regex now only ever sees a bounded head of the message (no wall
    clock here: speed is for the benchmarks, and a timed test flakes on
    a loaded machine)."""
    real = q.TEXT_LEVEL

    class Bounded:
        def match(self, text: str) -> typing.Any:
            # fail at once rather than run the backtracking match
            assert len(text) <= q.TEXT_LEVEL_HEAD
            return real.match(text)

    monkeypatch.setattr(q, 'TEXT_LEVEL', Bounded())
    q.text_level(message)


def test_text_level_only_reads_the_head() -> None:
    assert q.TEXT_LEVEL_HEAD == 256
    # a level key is looked for in the first 200 characters
    assert q.text_level('x' * 199 + ' level=error') == 'error'
    assert q.text_level('x' * 201 + ' level=error') is None
    # whatever the whitespace before the message
    assert q.text_level(' ' * 5000 + 'x' * 199 + ' level=error') == 'error'


@pytest.mark.parametrize(
    ('pattern', 'construct'),
    [
        ('(?=admin)', 'lookaround'),
        ('a(?!b)', 'lookaround'),
        ('(?<=x)y', 'lookaround'),
        ('(?<!x)y', 'lookaround'),
        ('(a)\\1', 'backreferences'),
        ('(?P<n>a)(?P=n)', 'backreferences'),
        ('(?>a)', 'atomic groups'),
        ('a++', 'possessive quantifiers'),
        ('(a)?(?(1)b|c)', 'conditionals'),
    ],
)
def test_regexes_aws_refuses_are_value_errors(
    pattern: str, construct: str
) -> None:
    with pytest.raises(ValueError, match=f'does not support {construct}'):
        q.translate(log_query(f'message:regex:{pattern}'), opts())


@pytest.mark.parametrize(
    'pattern',
    ['[(?=]x', '\\(\\?=x\\)', '(?:a)b', '[+]+', 'a{2}', '\\d+:'],
)
def test_regexes_aws_accepts_pass(pattern: str) -> None:
    q.translate(log_query(f'message:regex:{pattern}'), opts())


def test_colons_are_allowed_in_filter_pattern_regexes() -> None:
    """AWS documents : among the characters a %regex% may hold."""
    translation = q.translate(log_query('message:regex:\\d{2}:\\d{2}'), opts())
    assert q.filter_pattern(translation) == '%\\d{2}:\\d{2}%'


def test_translation_edges() -> None:
    """An empty range and a limit of 1 are valid queries."""
    same = LogQuery(start_time=END, end_time=END, limit=1)
    translation = q.translate(same, opts())
    assert translation.start_ms == translation.end_ms == END_MS


def test_filter_pattern_limits_are_inclusive() -> None:
    two = q.translate(
        log_query('message:regex:a+', 'message:regex:b+'), opts()
    )
    assert q.filter_pattern(two) == '%a+% %b+%'
    value = 'x' * (q.MAX_PATTERN_LENGTH - 2)
    exact = q.translate(log_query(f'message:contains:{value}'), opts())
    assert len(q.filter_pattern(exact)) == q.MAX_PATTERN_LENGTH
    over = q.translate(log_query(f'message:contains:{value}x'), opts())
    with pytest.raises(q.Untranslatable, match='1024'):
        q.filter_pattern(over)


def test_insights_regex_keeps_an_escaped_slash_at_the_end() -> None:
    assert q.insights_regex('a\\/') == '/a\\//'
    assert q.insights_regex('\\') == '/\\/'


def test_json_field_names_with_hyphens_go_to_insights() -> None:
    translation = q.translate(
        log_query('user-agent:eq:curl', 'http.x-id:ne:1'),
        opts(message_format='json'),
    )
    with pytest.raises(q.Untranslatable, match='hyphen'):
        q.filter_pattern(translation)
    text = q.search_query(translation, translation.end_ms, 10)
    assert '`user-agent` = "curl" and `http.x-id` != "1"' in text
    compile_insights(text)
