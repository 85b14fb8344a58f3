"""The LogQL translation, as a table."""

import typing

import pytest
from imbi_plugin_loki import options as plugin_options
from imbi_plugin_loki import query
from imbi_plugin_loki._host import LogFilter
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
        '| logfmt | path=~"(?s:.*)/api/v1(?s:.*)"',
    ),
    (['path:contains:a+b'], [], 'raw', '| path=~"(?s:.*)a\\\\+b(?s:.*)"'),
    (['user:starts_with:adm'], [], 'json', '| json | user=~"adm(?s:.*)"'),
    (
        ['user:regex:ad?m'],
        [],
        'json',
        '| json | user=~"(?s:.*)(?:ad?m)(?s:.*)"',
    ),
    (
        ['user:regex:^adm$'],
        [],
        'json',
        '| json | user=~"(?s:.*)(?:^adm$)(?s:.*)"',
    ),
    # levels: case-insensitive, with synonyms, anchored by Loki
    ([], ['WARN'], 'raw', '| level=~"(?i)(?:warn|warning)"'),
    (
        [],
        ['error', 'Fatal'],
        'raw',
        '| level=~"(?i)(?:alert|crit|critical|emerg|err|error|fatal|panic)"',
    ),
    (
        [],
        ['Info', 'info'],
        'raw',
        '| level=~"(?i)(?:info|information|notice)"',
    ),
    ([], ['DBG'], 'raw', '| level=~"(?i)(?:dbg|debug)"'),
    ([], ['custom'], 'raw', '| level=~"(?i)(?:custom)"'),
    ([], ['a.b'], 'raw', '| level=~"(?i)(?:a\\\\.b)"'),
    # line filters first, then the parser, label filters, the level
    (
        ['status:eq:500', 'message:contains:boom'],
        ['error'],
        'json',
        '|= "boom" | json | status="500" | message=~"(?s:.*)boom(?s:.*)" '
        '| level=~"(?i)(?:err|error)"',
    ),
    ([], [], 'raw', ''),
    ([], [], 'logfmt', '| logfmt'),
    # with a parser, message is the parsed message_field the entry shows
    (
        ['message:eq:payment failed'],
        [],
        'json',
        '|= "payment failed" | json | message="payment failed"',
    ),
    (
        ['message:contains:say "hi"'],
        [],
        'logfmt',
        '| logfmt | message=~"(?s:.*)say \\"hi\\"(?s:.*)"',
    ),
    # field names as Loki's parsers sanitize them
    (['user-agent:eq:curl'], [], 'json', '| json | user_agent="curl"'),
    (['1st:eq:x'], [], 'json', '| json | _1st="x"'),
    (['a b:ne:x'], [], 'json', '| json | a_b!="x"'),
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
        ('a\nb:eq:x', 'not a field name'),
        ('  :eq:x', 'not a field name'),
        ('message:regex:a\\Cb', 'not supported by Go'),
        ('user:regex:[\\C]', 'not supported by Go'),
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
    # variables in !~ matchers are regex-escaped too
    (
        '{app="x", env!~"${project_slug}"}',
        {'project_slug': 'a.b|c'},
        '{app="x", env!~"a\\\\.b\\\\|c"}',
    ),
    # a !~ matcher that cannot match the empty value is enough on its own
    ('{app!~".*"}', {}, '{app!~".*"}'),
    # two backtick values, and an empty one beside a non-empty matcher
    ('{a=`x`, b=`y`}', {}, '{a="x", b="y"}'),
    ('{a=``, b="y"}', {}, '{a="", b="y"}'),
    # the escaper's code-point edges: the last code point, after the
    # surrogates
    ('{a="\\U0010FFFF"}', {}, '{a="\U0010ffff"}'),
    ('{a="\\uE000"}', {}, '{a="\ue000"}'),
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
        ('{app!~"x"}', {}, 'excludes the empty value'),
        ('{a=``}', {}, 'excludes the empty value'),
        ('{a="\\U00110000"}', {}, 'invalid escape'),
        ('{a="\\uDFFF"}', {}, 'invalid escape'),
        ('{app="x", env!~"(?=${project_slug})"}', {}, 'selector matcher env'),
        ('{app', {}, 'expected one of = != =~ !~ at column 5'),
        ('{ap-p="x"}', {}, 'expected one of = != =~ !~ at column 4'),
        ('{a="b" c="d"}', {}, "expected ',' at column 8"),
        ('{a="b"} x', {}, 'unexpected text after the selector at column 9'),
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


def test_metric_pipeline_drops_lines_the_parser_could_not_read() -> None:
    """Loki refuses a metric query whose pipeline produced __error__."""
    for line_format in ('json', 'logfmt'):
        options = _options(line_format=line_format)
        assert (
            query.build_pipeline(
                options, _filters('status:eq:500'), [], metric=True
            )
            == f'| {line_format} | __error__="" | status="500"'
        )
    raw = _options()
    assert query.build_pipeline(raw, [], ['warn'], metric=True) == (
        '| level=~"(?i)(?:warn|warning)"'
    )
    based = _options(pipeline='| logfmt')
    assert query.build_pipeline(based, [], [], metric=True) == (
        '| logfmt | __error__=""'
    )


@pytest.mark.parametrize(
    ('pipeline', 'expected'),
    [
        ('', ''),
        ('!= "healthcheck"', '!= "healthcheck"'),
        (
            '|= `say "hi"` | json | app=~"web|api"',
            '|= "say \\"hi\\"" | json | app=~"web|api"',
        ),
        ('|~"a.c"!~"x"', '|~ "a.c" !~ "x"'),
        ('| logfmt | __error__=""', '| logfmt | __error__=""'),
    ],
)
def test_pipeline_option_is_parsed_and_rendered(
    pipeline: str, expected: str
) -> None:
    options = _options(pipeline=pipeline)
    assert query.build_pipeline(options, [], []) == expected
    assert query.build_pipeline(options, _filters('status:eq:1'), []) == (
        f'{expected} | status="1"'.lstrip()
    )


@pytest.mark.parametrize(
    ('pipeline', 'reason'),
    [
        ('| json | app=~"(?=x)"', 'RE2'),
        (r'|~ `a\Cb`', 'not supported by Go'),
        ('| line_format "{{.x}}"', 'expected one of'),
        ('|= "x', 'unterminated string'),
        ('} |= "x"', "expected '|'"),
        ('| json | 1a="x"', 'expected a label name'),
        ('|= "x" or "y"', "expected '|'"),
    ],
)
def test_bad_pipeline_option_is_a_value_error(
    pipeline: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        query.build_pipeline(_options(pipeline=pipeline), [], [])
    assert "option 'pipeline'" in str(caught.value)


@pytest.mark.parametrize(
    ('spelling', 'level'),
    [
        ('WARNING', 'warn'),
        ('warn', 'warn'),
        ('Information', 'info'),
        ('notice', 'info'),
        ('dbg', 'debug'),
        ('panic', 'critical'),
        ('FATAL', 'critical'),
        ('err', 'error'),
        ('custom', 'custom'),
        (' ', None),
        (None, None),
    ],
)
def test_levels_are_normalized_as_cloudwatch_does(
    spelling: str | None, level: str | None
) -> None:
    assert query.normalize_level(spelling) == level


def test_project_type_slug_expands_to_the_first_type() -> None:
    """${project_type_slug} (imbi-common 2.11+) is the project's first
    type; older imbi-common refuses the variable itself."""
    from imbi_plugin_loki._host import expand_template

    template = '{app="x", type="${project_type_slug}"}'
    try:
        expand_template('${project_type_slug}', {'project_type_slug': 'a'})
    except ValueError:
        with pytest.raises(ValueError, match='Unknown template variable'):
            query.build_selector(template, _ctx())
        return
    typed = _ctx(project_type_slugs=['apis', 'web'])
    assert query.build_selector(template, typed) == ('{app="x", type="apis"}')
    untyped = _ctx(project_type_slugs=[])
    assert query.build_selector(template, untyped) == '{app="x", type=""}'


@pytest.mark.parametrize(
    ('pattern', 'refused'),
    [
        ('\\Cx', True),
        ('a\\C', True),
        ('a\\\\C', False),  # an escaped backslash, then a literal C
        ('[\\\\]C', False),
        ('\\\\\\C', True),
    ],
)
def test_go_refuses_only_a_real_backslash_c(
    pattern: str, refused: bool
) -> None:
    spec = f'message:regex:{pattern}'
    if refused:
        with pytest.raises(ValueError, match='not supported by Go'):
            query.build_pipeline(_options(), _filters(spec), [])
    else:
        assert query.build_pipeline(_options(), _filters(spec), [])


@pytest.mark.parametrize(
    'pipeline', ['!~ "(?=x)"', '| json | app!~"(?<=x)y"', '|~ "a\\\\1"']
)
def test_every_regex_of_the_pipeline_option_is_checked(pipeline: str) -> None:
    with pytest.raises(ValueError, match="option 'pipeline'"):
        query.build_pipeline(_options(pipeline=pipeline), [], [])


def test_message_filters_use_the_message_field_option() -> None:
    options = _options(line_format='json', message_field='msg')
    assert (
        query.build_pipeline(
            options, _filters('message:eq:x', 'message.x:eq:y'), []
        )
        == '|= "x" | json | msg="x" | message_x="y"'
    )


@pytest.mark.parametrize(
    'spec',
    [
        'message:contains:boom',
        'message:starts_with:first',
        'message:regex:bo+m',
        'error:contains:boom',
    ],
)
def test_label_filters_match_multi_line_values(spec: str) -> None:
    """A json message often holds a stack trace. Loki anchors a label
    regex as ``^(?:…)$`` (Prometheus 2; 3 adds ``s``): without an
    explicit ``s`` flag its ``.*`` stops at the first newline."""
    import json

    import re2

    pipeline = query.build_pipeline(
        _options(line_format='json'), _filters(spec), []
    )
    rendered = pipeline.rsplit('=~', 1)[1]
    pattern = json.loads(rendered)
    regex = re2.compile(f'^(?:{pattern})$')
    assert regex.search('first line\nboom\n  at main.go:12')


@pytest.mark.parametrize(
    ('spec', 'prefilter'),
    [
        ('message:contains:timeout', '|= "timeout"'),
        ('message:eq:payment failed', '|= "payment failed"'),
        ('message:starts_with:GET /', None),  # / may be written \/
        ('message:contains:say "hi"', None),  # written say \"hi\"
        ('message:contains:caf\u00e9', None),  # may be written caf\u00e9
        ('message:contains:a<b', None),  # Go writes \u003c
        ('message:contains:a\\b', None),
        ('message:eq:', None),
        ('message:ne:timeout', None),
        ('message:regex:time.?out', None),
    ],
)
@pytest.mark.parametrize('line_format', ['json', 'logfmt'])
def test_message_filters_keep_a_line_prefilter(
    spec: str, prefilter: str | None, line_format: str
) -> None:
    """Loki reads line filters before parsing any line (chunk and bloom
    filtering): a message filter on the parsed field keeps a line filter
    in front when the value is written verbatim by every JSON and logfmt
    encoder, so a search does not parse every line of the range."""
    pipeline = query.build_pipeline(
        _options(line_format=line_format), _filters(spec), []
    )
    head = pipeline.split(f'| {line_format}')[0].strip()
    assert head == (prefilter or '')


@pytest.mark.parametrize(
    'message', ['timeout after 3s', 'x: 1, y [2] {ok}', '100% done; #2!']
)
def test_the_prefilter_keeps_every_line_the_label_filter_keeps(
    message: str,
) -> None:
    """Values of the verbatim set appear as is in every encoding."""
    import json

    assert query.verbatim_in_lines(message)
    for line in (
        json.dumps({'message': message}),
        json.dumps({'message': message}, ensure_ascii=False),
        json.dumps({'message': message}).replace('/', '\\/'),
        'level=info message=' + json.dumps(message),
    ):
        assert message in line
