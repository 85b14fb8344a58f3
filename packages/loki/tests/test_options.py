"""Options: manifest defaults applied, values coerced, bad ones named."""

import re
import typing

import pytest
from imbi_plugin_loki import spec
from imbi_plugin_loki.options import Options, raw, read_options

URL = 'https://logs.example.com/'


def test_defaults_match_the_manifest() -> None:
    options = read_options({'url': URL})
    assert options == Options(
        url='https://logs.example.com',
        tenant=None,
        selector_template='{service_name="${project_slug}"}',
        line_format='raw',
        level_field='level',
        message_field='message',
        timeout_seconds=8,
        verify_tls=True,
    )
    # Both generations' manifests are built from spec.
    defaults = {
        o['name']: o['default'] for o in spec.options() if 'default' in o
    }
    assert defaults == {
        'selector_template': options.selector_template,
        'line_format': options.line_format,
        'level_field': options.level_field,
        'message_field': options.message_field,
        'timeout_seconds': options.timeout_seconds,
        'verify_tls': options.verify_tls,
        # Checked when the url is read; nothing else needs it.
        'allow_plain_http': False,
    }


def test_values_are_coerced() -> None:
    options = read_options(
        {
            'url': URL,
            'tenant': ' a|b ',
            'line_format': 'json',
            'level_field': 'log.level',
            'message_field': 'msg',
            'timeout_seconds': '5',
            'verify_tls': 'false',
        }
    )
    assert options.tenant == 'a|b'
    assert options.level_field == 'log_level'
    assert options.timeout_seconds == 5
    assert options.verify_tls is False
    assert read_options({'url': URL, 'verify_tls': True}).verify_tls is True
    assert read_options({'url': URL, 'verify_tls': 'Yes'}).verify_tls is True
    assert (
        read_options({'url': URL, 'timeout_seconds': 3}).timeout_seconds == 3
    )
    assert (
        read_options({'url': URL, 'timeout_seconds': ''}).timeout_seconds == 8
    )


@pytest.mark.parametrize(
    ('overrides', 'message'),
    [
        ({'url': None}, "'url' is required"),
        ({'url': 'ftp://logs'}, "'url' must be an http(s) URL"),
        ({'url': 'https://'}, "'url' must be an http(s) URL"),
        ({'url': 'https://u:p@logs'}, "'url' must not carry"),
        ({'url': 'https://logs?x=1'}, "'url' must not carry"),
        ({'url': ['https://logs']}, "'url' must be a string"),
        ({'url': True}, "'url' must be a string"),
        ({'line_format': 'xml'}, "'line_format' must be one of"),
        ({'timeout_seconds': 'soon'}, "'timeout_seconds' must be an integer"),
        ({'timeout_seconds': True}, "'timeout_seconds' must be an integer"),
        ({'timeout_seconds': 0}, "'timeout_seconds' must be a whole number"),
        ({'timeout_seconds': 301}, 'from 1 to 300'),
        ({'verify_tls': 'maybe'}, "'verify_tls' must be a boolean"),
        ({'url': 'http://logs:3100'}, "set option 'allow_plain_http'"),
        (
            {'url': 'http://logs', 'allow_plain_http': 'maybe'},
            "'allow_plain_http' must be a boolean",
        ),
        ({'tenant': 'a\nb'}, "'tenant' must be one line"),
        ({'level_field': 'log\tlevel'}, "option 'level_field'"),
        ({'message_field': 'a\x00b'}, "option 'message_field'"),
    ],
)
def test_bad_options_are_named(
    overrides: dict[str, typing.Any], message: str
) -> None:
    raw = {k: v for k, v in {'url': URL, **overrides}.items() if v is not None}
    with pytest.raises(ValueError, match=re.escape(message)):
        read_options(raw)


@pytest.mark.parametrize(
    'raw',
    [
        {'url': 'http://logs:3100', 'allow_plain_http': 'true'},
        {'url': 'http://127.0.0.1:3100'},
        {'url': 'http://localhost:3100'},
        {'url': 'http://[::1]:3100'},
    ],
)
def test_plain_http_only_when_allowed_or_loopback(
    raw: dict[str, typing.Any],
) -> None:
    assert read_options(raw).url == raw['url']


class _V3Context:
    """What a v3 host passes: options in three places, none merged."""

    def __init__(
        self,
        integration: dict[str, typing.Any] | None,
        capability: dict[str, typing.Any] | None,
        assignment: dict[str, typing.Any] | None,
    ) -> None:
        self.integration_options = integration
        self.capability_options = capability
        self.assignment_options = assignment


class _V1Context:
    def __init__(self, assignment: dict[str, typing.Any] | None) -> None:
        self.assignment_options = assignment


def test_raw_layers_integration_capability_and_assignment() -> None:
    ctx = _V3Context(
        {'url': URL, 'tenant': 'a', 'line_format': 'json'},
        {'line_format': 'logfmt', 'pipeline': '| json'},
        {'pipeline': '|= "x"'},
    )
    assert raw(ctx) == {  # type: ignore[arg-type]
        'url': URL,
        'tenant': 'a',
        'line_format': 'logfmt',
        'pipeline': '|= "x"',
    }
    # The gateway and identity flows leave assignment_options empty.
    assert raw(_V3Context({'url': URL}, None, None)) == {  # type: ignore[arg-type]
        'url': URL
    }
    assert raw(_V1Context({'url': URL})) == {'url': URL}  # type: ignore[arg-type]
    assert raw(_V1Context(None)) == {}  # type: ignore[arg-type]
