"""The translation table: LogQuery -> filter pattern or Insights query."""

import datetime
import typing

import pytest
from imbi_common.plugins import LogFilter, LogQuery
from imbi_plugin_cloudwatch import options as options_module
from imbi_plugin_cloudwatch import query as q
from imbi_plugin_testing import make_context
from imbi_plugin_testing.fakes.cloudwatch import compile_insights

END = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)
START = END - datetime.timedelta(minutes=30)
START_MS = int(START.timestamp() * 1000)
END_MS = int(END.timestamp() * 1000)
TEXT_LEVEL = r'(?i)^\s*[\[(<]?\s*(?:level\s*[=:]\s*)?' + '["\']?'


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
        'fields @timestamp, @message, @logStream, @ptr, @ingestionTime'
        f' | filter {BOUNDS}{condition}'
        ' | sort @timestamp desc | limit 101'
    )
    compile_insights(text)  # the stand-in parses what we generate


def test_histogram_queries() -> None:
    text_mode = q.translate(log_query(), opts())
    text = q.histogram_query(text_mode, 60)
    assert text.startswith(f'filter {BOUNDS} | parse @message /')
    assert '(?<imbi_level>information|critical|' in text
    assert text.endswith(' | stats count(*) as n by bin(60s) as t, imbi_level')
    compile_insights(text)
    json_mode = q.translate(
        log_query('a:eq:1'), opts(message_format='json', level_field='lvl')
    )
    assert q.histogram_query(json_mode, 5) == (
        f'filter {BOUNDS} and `a` = "1"'
        ' | stats count(*) as n by bin(5s) as t, `lvl`'
    )


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
        (('a-b:eq:x',), None, {'message_format': 'json'}, 'letters, digits'),
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
