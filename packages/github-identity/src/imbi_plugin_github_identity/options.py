"""The plugin options, read once per call with the manifest's defaults.

The host never applies ``PluginOption.default`` and may hand values over
as str or int, so every option is coerced and validated here. Where the
options come from depends on the host: see :func:`raw`.
"""

import collections.abc
import dataclasses
import ipaddress
import re
import typing
import urllib.parse

from imbi_plugin_github_identity import spec

DEFAULT_GITHUB_URL = spec.DEFAULT_GITHUB_URL
DEFAULT_TIMEOUT_SECONDS = spec.DEFAULT_TIMEOUT_SECONDS
_DEFAULTS = spec.defaults()
#: The same upper bound in every plugin (root README, shared options).
MAX_TIMEOUT_SECONDS = 300
_TRUE = {'true', '1', 'yes', 'on'}
_FALSE = {'false', '0', 'no', 'off', ''}
#: A URI as RFC 3986 spells it: unreserved and reserved characters and
#: percent-encoded octets, nothing else.
_URI = re.compile(r"(?:[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+")


@dataclasses.dataclass(frozen=True)
class Options:
    github_url: str
    api_url: str
    use_pkce: bool
    allow_signup: bool
    include_organizations: bool
    timeout_seconds: int


def raw(ctx: typing.Any) -> dict[str, typing.Any]:
    """The options the host passed, whichever host it is.

    v1 hosts put every option in ``assignment_options``; v3 hosts pass
    the Integration's options and the capability's apart, and their
    identity flows leave ``assignment_options`` empty. Later layers win.
    ``ctx`` itself is never copied or changed.
    """
    return {
        **(getattr(ctx, 'integration_options', None) or {}),
        **(getattr(ctx, 'capability_options', None) or {}),
        **(getattr(ctx, 'assignment_options', None) or {}),
    }


def read_options(raw: collections.abc.Mapping[str, typing.Any]) -> Options:
    """Options with defaults applied; ValueError names a bad option."""
    github_url = _url(raw, 'github_url', DEFAULT_GITHUB_URL)
    return Options(
        github_url=github_url,
        api_url=_url(raw, 'api_url', derive_api_url(github_url)),
        use_pkce=_boolean(raw, 'use_pkce', _DEFAULTS['use_pkce']),
        allow_signup=_boolean(raw, 'allow_signup', _DEFAULTS['allow_signup']),
        include_organizations=_boolean(
            raw, 'include_organizations', _DEFAULTS['include_organizations']
        ),
        timeout_seconds=_timeout(raw),
    )


def derive_api_url(github_url: str) -> str:
    """REST base of a web host: github.com, GHE.com data residency, GHES."""
    host = urllib.parse.urlsplit(github_url).hostname or ''
    if host in ('github.com', 'www.github.com'):
        return 'https://api.github.com'
    if host.endswith('.ghe.com'):
        return f'https://api.{host}'
    return f'{github_url}/api/v3'


def is_http_url(value: str) -> bool:
    """True for an absolute http(s) URL with a host and a usable port,
    written only with the characters RFC 3986 allows.

    ``urlsplit`` alone is too lenient: it drops tabs and newlines
    silently, keeps spaces, quotes, backticks and braces, and leaves an
    out-of-range port for httpx to fail on at request time.
    """
    if _URI.fullmatch(value) is None:
        return False
    try:
        parts = urllib.parse.urlsplit(value)
        port = parts.port  # ValueError: not a number or out of range
    except ValueError:
        return False
    return (
        parts.scheme in ('http', 'https')
        and bool(parts.hostname)
        and port != 0
    )


def _loopback(host: str) -> bool:
    if host.lower() == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(
    raw: collections.abc.Mapping[str, typing.Any], name: str, default: str
) -> str:
    """The URL option ``name``; a ValueError never echoes the value, which
    may hold a secret."""
    value = raw.get(name)
    if value is None or value == '':
        return default
    if not isinstance(value, str) or not is_http_url(value.strip()):
        raise ValueError(
            f'option {name!r} must be an absolute http(s) URL (RFC 3986 '
            'characters only, port 1..65535)'
        )
    parts = urllib.parse.urlsplit(value.strip())
    if '@' in parts.netloc:
        # Userinfo would end up in the authorize URL sent to the browser,
        # in logs and in the Options repr; GitHub takes no credentials
        # there anyway.
        raise ValueError(
            f'option {name!r} must not carry a username or password'
        )
    if parts.query or parts.fragment:
        raise ValueError(f'option {name!r} must not have a query or fragment')
    if (
        parts.scheme == 'http'
        and not _loopback(parts.hostname or '')
        and not _boolean(
            raw, 'allow_plain_http', _DEFAULTS['allow_plain_http']
        )
    ):
        # The client secret, codes and tokens would cross the network in
        # clear. Loopback never leaves the machine.
        raise ValueError(
            f'option {name!r} is plain http://, which would send the client '
            'secret and tokens unencrypted: use https://, or set option '
            "'allow_plain_http' to true (loopback addresses are allowed)"
        )
    return value.strip().rstrip('/')


def _boolean(
    raw: collections.abc.Mapping[str, typing.Any], name: str, default: bool
) -> bool:
    value = raw.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f'option {name!r} must be a boolean, got {value!r}')


def _timeout(raw: collections.abc.Mapping[str, typing.Any]) -> int:
    value = raw.get('timeout_seconds')
    if value is None or value == '':
        return DEFAULT_TIMEOUT_SECONDS
    try:
        if isinstance(value, bool):
            raise TypeError
        seconds = int(value)
    except TypeError, ValueError:
        seconds = 0
    if (
        not 1 <= seconds <= MAX_TIMEOUT_SECONDS
        or str(seconds) != str(value).strip()
    ):
        raise ValueError(
            "option 'timeout_seconds' must be a whole number of seconds "
            f'from 1 to {MAX_TIMEOUT_SECONDS}, got {value!r}'
        )
    return seconds
