"""The plugin's options, read once per call with the manifest's defaults.

The host never applies ``PluginOption.default`` and may pass integers and
booleans as strings, so every value is coerced and checked here.
"""

import dataclasses
import ipaddress
import re
import typing
import urllib.parse

from imbi_plugin_loki import spec

if typing.TYPE_CHECKING:
    from imbi_plugin_loki._host import PluginContext

LineFormat = typing.Literal['raw', 'json', 'logfmt']

DEFAULT_SELECTOR = spec.DEFAULT_SELECTOR
DEFAULT_TIMEOUT_SECONDS = spec.DEFAULT_TIMEOUT_SECONDS
MAX_TIMEOUT_SECONDS = spec.MAX_TIMEOUT_SECONDS
LINE_FORMATS = typing.cast(tuple[LineFormat, ...], spec.LINE_FORMATS)

# What Loki's json and logfmt parsers turn into ``_`` in a key.
_NOT_LABEL_CHAR = re.compile(r'[^A-Za-z0-9_]')
_TRUE = frozenset({'true', '1', 'yes', 'on'})
_FALSE = frozenset({'false', '0', 'no', 'off'})


@dataclasses.dataclass(frozen=True)
class Options:
    url: str
    tenant: str | None
    selector_template: str
    line_format: LineFormat
    level_field: str
    message_field: str
    timeout_seconds: int
    verify_tls: bool
    pipeline: str = ''


def _string(options: typing.Mapping[str, typing.Any], name: str) -> str:
    value = options.get(name)
    if value is None:
        return ''
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f'option {name!r} must be a string')
    return str(value).strip()


def _integer(
    options: typing.Mapping[str, typing.Any], name: str, default: int
) -> int:
    value = options.get(name)
    if value is None or value == '':
        return default
    if isinstance(value, bool):
        raise ValueError(f'option {name!r} must be an integer')
    try:
        return int(value)
    except TypeError, ValueError:
        raise ValueError(f'option {name!r} must be an integer') from None


def _boolean(
    options: typing.Mapping[str, typing.Any], name: str, default: bool
) -> bool:
    value = options.get(name)
    if value is None or value == '':
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f'option {name!r} must be a boolean')


def field_label(name: str, option: str) -> str:
    """A field name as Loki's json and logfmt parsers name its label.

    They replace every character other than ASCII letters, digits and
    ``_`` with ``_`` (``user-agent`` -> ``user_agent``; nested ``a.b``
    -> ``a_b``) and put ``_`` before a leading digit.
    """
    stripped = name.strip()
    if not stripped or any(not c.isprintable() for c in stripped):
        raise ValueError(
            f'{option} {name!r} is not a field name (empty or holding '
            'control characters)'
        )
    label = _NOT_LABEL_CHAR.sub('_', stripped)
    return f'_{label}' if label[0].isdigit() else label


def _loopback(host: str) -> bool:
    if host.lower() == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def raw(ctx: PluginContext) -> dict[str, typing.Any]:
    """The call's option values, whichever host and context passed them.

    v3 hosts pass the Integration's options and the capability's
    (layered per project) separately, and the gateway and identity
    flows leave ``assignment_options`` empty; v1 hosts have only
    ``assignment_options``. ``ctx`` itself is left as it is.
    """
    return {
        **(getattr(ctx, 'integration_options', None) or {}),
        **(getattr(ctx, 'capability_options', None) or {}),
        **(ctx.assignment_options or {}),
    }


def read_options(options: typing.Mapping[str, typing.Any]) -> Options:
    """Options with defaults applied; ``ValueError`` naming a bad one."""
    url = _string(options, 'url').rstrip('/')
    if not url:
        raise ValueError("option 'url' is required")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ('http', 'https') or not parts.netloc:
        raise ValueError("option 'url' must be an http(s) URL")
    if (
        parts.scheme == 'http'
        and not _loopback(parts.hostname or '')
        and not _boolean(options, 'allow_plain_http', False)
    ):
        # Credentials travel in a header: over plain http anyone on the
        # path reads them. Loopback never leaves the machine.
        raise ValueError(
            "option 'url' is plain http://, which would send the "
            'credentials unencrypted: use https://, or set option '
            "'allow_plain_http' to true (loopback addresses are allowed)"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            "option 'url' must not carry a query, fragment or credentials"
        )
    line_format = _string(options, 'line_format') or 'raw'
    if line_format not in LINE_FORMATS:
        raise ValueError(
            f"option 'line_format' must be one of {list(LINE_FORMATS)}"
        )
    timeout = _integer(options, 'timeout_seconds', DEFAULT_TIMEOUT_SECONDS)
    if not 1 <= timeout <= MAX_TIMEOUT_SECONDS:
        raise ValueError(
            "option 'timeout_seconds' must be a whole number of seconds "
            f'from 1 to {MAX_TIMEOUT_SECONDS}'
        )
    tenant = _string(options, 'tenant') or None
    if tenant is not None and any(c in tenant for c in '\r\n'):
        raise ValueError("option 'tenant' must be one line")
    return Options(
        url=url,
        tenant=tenant,
        selector_template=_string(options, 'selector_template')
        or DEFAULT_SELECTOR,
        line_format=line_format,
        level_field=field_label(
            _string(options, 'level_field') or spec.DEFAULT_LEVEL_FIELD,
            "option 'level_field'",
        ),
        message_field=field_label(
            _string(options, 'message_field') or spec.DEFAULT_MESSAGE_FIELD,
            "option 'message_field'",
        ),
        timeout_seconds=timeout,
        verify_tls=_boolean(options, 'verify_tls', True),
        pipeline=_string(options, 'pipeline'),
    )
