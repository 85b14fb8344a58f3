"""The LogQL translation, as a table."""

import typing

import pytest
from imbi_common.plugins import LogFilter
from imbi_plugin_loki import options as plugin_options
from imbi_plugin_loki import query
from imbi_plugin_testing import make_context


def _options(**overrides: typing.Any) -> plugin_options.Options:
    return plugin_options.read_options(
        {'url': 'https://loki:3100', **overrides}
    )


def _filters(*specs: str) -> list[LogFilter]:
    out = []
    for spec in specs:
        field, op, value = spec.split(':', 2)
        out.append(LogFilter(field=field, op=op, value=value))
    return out


PIPELINES = [
    # message means the log line
    (['message:eq:GET /health'], [], 'raw', '|~ "^GET /health$"'),
    (['message:ne:a.b'], [], 'raw', '!~ "^a\\\\.b$"'),
    (['message:contains:say "hi"'], [], 'raw', '|= "say \\"hi\\""'),
    (['message:starts_with:[WARN]'], [], 'raw', '|~ "^\\\\[WARN\\\\]"'),
    (['message:regex:timeout|refused'], [], 'raw', '|~ "timeout|refused"'),
    (['message:contains:C:\\temp'], [], 'raw', '|= "C:\\\\temp"'),
    (['message:contains:a\nb\tc'], [], 'raw', '|= "a\\nb\\tc"'),
    (['message:contains:\x01'], [], 'raw', '|= "\\x01"'),
    (['message:eq:'], [], 'raw', '|~ "^$"'),
    # any other field is a label filter after the parser
    (['status:eq:500'], [], 'json', '| json | status="500"'),
    (['http.method:ne:GET'], [], 'json', '| json | http_method!="GET"'),
    (
        ['path:contains:/api/v1'],
        [],
        'logfmt',
        '| logfmt | path=~".*/api/v1.*"',
    ),
    (['path:contains:a+b'], [], 'raw', '| path=~".*a\\\\+b.*"'),
    (['user:starts_with:adm'], [], 'json', '| json | user=~"adm.*"'),
    (['user:regex:ad?m'], [], 'json', '| json | user=~".*(?:ad?m).*"'),
    (['user:regex:^adm$'], [], 'json', '| json | user=~".*(?:^adm$).*"'),
    # levels: case-insensitive, with synonyms, anchored by Loki
    ([], ['WARN'], 'raw', '| level=~"(?i)(?:warn|warning)"'),
    (
        [],
        ['error', 'Fatal'],
        'raw',
        '| level=~"(?i)(?:crit|critical|err|error|fatal)"',
    ),
    ([], ['Info', 'info'], 'raw', '| level=~"(?i)(?:info)"'),
    ([], ['a.b'], 'raw', '| level=~"(?i)(?:a\\\\.b)"'),
    # line filters first, then the parser, label filters, the level
    (
        ['status:eq:500', 'message:contains:boom'],
        ['error'],
        'json',
        '|= "boom" | json | status="500" | level=~"(?i)(?:err|error)"',
    ),
    ([], [], 'raw', ''),
    ([], [], 'logfmt', '| logfmt'),
]


@pytest.mark.parametrize(
    ('filters', 'levels', 'line_format', 'expected'), PIPELINES
)
def test_pipeline_table(
    filters: list[str], levels: list[str], line_format: str, expected: str
) -> None:
    options = _options(line_format=line_format)
    assert query.build_pipeline(options, _filters(*filters), levels) == (
        expected
    )


def test_level_field_option_is_used() -> None:
    options = _options(level_field='detected_level')
    assert query.build_pipeline(options, [], ['warn']) == (
        '| detected_level=~"(?i)(?:warn|warning)"'
    )


@pytest.mark.parametrize(
    ('spec', 'reason'),
    [
        ('message:regex:(?=admin)', 'lookaround'),
        ('message:regex:(a)\\1', 'invalid escape'),
        ('user:regex:(?<=x)y', 'RE2'),
        ('user:regex:[', 'missing ]'),
        ('bad-name:eq:x', 'not a valid Loki label name'),
        ('1abc:eq:x', 'not a valid Loki label name'),
        ('a b:eq:x', 'not a valid Loki label name'),
    ],
)
def test_invalid_filters_are_value_errors(spec: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        query.build_pipeline(_options(), _filters(spec), [])


def test_empty_level_is_rejected() -> None:
    with pytest.raises(ValueError, match='empty level'):
        query.build_pipeline(_options(), [], [' '])


def _ctx(**fields: typing.Any) -> typing.Any:
    return make_context('logs', **fields)


SELECTORS = [
    ('{service_name="${project_slug}"}', {}, '{service_name="billing-api"}'),
    (
        '{service_name="${project_slug}", env="${environment}"}',
        {'environment': 'staging'},
        '{service_name="billing-api", env="staging"}',
    ),
    (
        '{service_name="${project_slug}"}',
        {'project_slug': 'evil"} |= "x'},
        '{service_name="evil\\"} |= \\"x"}',
    ),
    (
        '{app=~"${project_slug}-.*"}',
        {'project_slug': 'a.b'},
        '{app=~"a\\\\.b-.*"}',
    ),
    ('{app=`raw\\n`}', {}, '{app="raw\\\\n"}'),
    ('{ a = "x\\ty" , b!="" }', {}, '{a="x\\ty", b!=""}'),
    ('{a="\\x41\\u00e9\\101"}', {}, '{a="AéA"}'),
    (
        '{team="${team_slug}", org="${org_slug}", id="${project_id}"}',
        {},
        '{team="payments", org="aweber", id="prj-0001"}',
    ),
    ('{a!~"x", b=~".+"}', {}, '{a!~"x", b=~".+"}'),
]


@pytest.mark.parametrize(('template', 'fields', 'expected'), SELECTORS)
def test_selector_table(
    template: str, fields: dict[str, str], expected: str
) -> None:
    assert query.build_selector(template, _ctx(**fields)) == expected


@pytest.mark.parametrize(
    ('template', 'fields', 'reason'),
    [
        ('{app=${project_slug}}', {}, 'expected a quoted string'),
        ('{app=~".*"}', {}, 'excludes the empty value'),
        ('{team="${team_slug}"}', {'team_slug': None}, 'excludes the empty'),
        ('{a!="x"}', {}, 'excludes the empty value'),
        ('{a="${nope}"}', {}, 'Unknown template variable'),
        ('{a="b"} |= "x"', {}, 'unexpected text after the selector'),
        ('{a=~"(?=x)"}', {}, 'lookaround'),
        ('{a="b"', {}, "expected ','"),
        ('{}', {}, 'expected a label name'),
        ('a="b"', {}, "expected '{'"),
        ('{a="b\\q"}', {}, 'invalid escape'),
        ('{a="\\x4"}', {}, 'invalid escape'),
        ('{a="\\ud800"}', {}, 'invalid escape'),
        ('{a="b}', {}, 'unterminated string'),
        ('{a="b\n"}', {}, 'unterminated string'),
        ('{a=`b}', {}, 'unterminated string'),
        ('{a~"b"}', {}, 'expected one of'),
        ('{9a="b"}', {}, 'expected a label name'),
    ],
)
def test_invalid_selectors(
    template: str, fields: dict[str, str | None], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        query.build_selector(template, _ctx(**fields))


def test_go_string_escapes_every_control_character() -> None:
    assert query.go_string('\x00\x7f\a\b\f\v\r') == (
        '"\\x00\\x7f\\a\\b\\f\\v\\r"'
    )


def test_regex_literal_escapes_re2_metacharacters() -> None:
    import re2

    text = 'a.b*c+d?e(f)g|h[i]j{k}l^m$n\\o'
    assert re2.fullmatch(query.regex_literal(text), text)


def test_histogram_query_shape() -> None:
    options = _options()
    assert query.histogram_query(options, '{a="b"}', '|= "x"', 60) == (
        'sum by (level) (count_over_time({a="b"} |= "x" [60s]))'
    )
    assert query.histogram_query(options, '{a="b"}', '', 5, 7) == (
        'sum by (level) (count_over_time({a="b"} [5s] offset 7ns))'
    )
