"""The plugin's options and credentials, typed, with the manifest defaults.

The host never applies ``PluginOption.default`` and hands options over as
str or int, so every read goes through :func:`read`; where the options
come from depends on the host, see :func:`raw`.
"""

import dataclasses
import ipaddress
import re
import typing
import urllib.parse

from imbi_plugin_sonarqube_sync import spec
from imbi_plugin_sonarqube_sync._host import PluginCredentialsMissing

AuthScheme = typing.Literal['bearer', 'basic']
_AUTH_SCHEMES: tuple[AuthScheme, ...] = ('bearer', 'basic')
#: The same upper bound in every plugin (root README, shared options).
MAX_TIMEOUT_SECONDS = 300
#: An optional ``scheme:`` then ``//``: what precedes a URL's authority.
_SCHEME_PREFIX = re.compile(r'^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//')
#: Where an authority ends (RFC 3986 section 3.2).
_AUTHORITY_END = re.compile(r'[/?#]')


@dataclasses.dataclass(frozen=True)
class Options:
    """Everything one action needs besides its config and payload."""

    imbi_url: str
    sonarqube_url: str
    sonarqube_auth: AuthScheme
    timeout_seconds: int


@dataclasses.dataclass(frozen=True)
class Secrets:
    """The two secret credentials; kept out of reprs."""

    api_token: str = dataclasses.field(repr=False)
    imbi_api_key: str = dataclasses.field(repr=False)


def raw(ctx: typing.Any) -> dict[str, typing.Any]:
    """The options the host passed, whichever host it is.

    v1 hosts put every option in ``assignment_options``; v3 hosts pass
    the Integration's options and the capability's apart, and the v3
    gateway leaves ``assignment_options`` empty. Later layers win.
    ``ctx`` itself is never copied or changed.
    """
    return {
        **(getattr(ctx, 'integration_options', None) or {}),
        **(getattr(ctx, 'capability_options', None) or {}),
        **(getattr(ctx, 'assignment_options', None) or {}),
    }


def require_credentials(
    credentials: typing.Mapping[str, typing.Any],
) -> Secrets:
    """The required credentials, or PluginCredentialsMissing naming one."""
    for name in spec.required_credentials():
        if not _text(credentials.get(name)):
            raise PluginCredentialsMissing(f'credential {name!r} is missing')
    return Secrets(
        api_token=_text(credentials['api_token']),
        imbi_api_key=_text(credentials['imbi_api_key']),
    )


def read(
    given: typing.Mapping[str, typing.Any],
    credentials: typing.Mapping[str, typing.Any],
) -> Options:
    """Typed options: manifest defaults applied, values validated.

    ``imbi_url`` falls back to the credential of that name and
    ``sonarqube_url`` to the gateway's ``service_endpoint``; a bad or
    missing value raises ValueError naming the option.
    """
    defaults = spec.defaults()

    def value(name: str) -> typing.Any:
        set_to = given.get(name)
        if set_to is None or set_to == '':
            return defaults.get(name)
        return set_to

    imbi_url, imbi_source = value('imbi_url'), 'the imbi_url option'
    if not imbi_url:
        imbi_url = _text(credentials.get('imbi_url'))
        imbi_source = 'the imbi_url credential'
    if not imbi_url:
        raise ValueError(
            "imbi_url: set the 'imbi_url' option or the 'imbi_url' "
            'credential to the Imbi API base URL'
        )
    sonarqube_url = value('sonarqube_url')
    sonarqube_source = 'the sonarqube_url option'
    if not sonarqube_url:
        sonarqube_url = given.get('service_endpoint')
        sonarqube_source = "the gateway's service_endpoint"
    if not sonarqube_url:
        raise ValueError(
            "sonarqube_url: set the 'sonarqube_url' option (or the "
            "SonarQube service's endpoint on the gateway)"
        )
    auth = value('sonarqube_auth')
    if not isinstance(auth, str) or auth.strip().lower() not in _AUTH_SCHEMES:
        raise ValueError(
            f'sonarqube_auth: expected one of {", ".join(_AUTH_SCHEMES)}, '
            f'got {auth!r}'
        )
    plain_http = _flag('allow_plain_http', value('allow_plain_http'))
    return Options(
        imbi_url=_base_url('imbi_url', imbi_url, imbi_source, plain_http),
        sonarqube_url=_base_url(
            'sonarqube_url', sonarqube_url, sonarqube_source, plain_http
        ),
        sonarqube_auth=typing.cast(AuthScheme, auth.strip().lower()),
        timeout_seconds=_timeout(value('timeout_seconds')),
    )


def _text(value: typing.Any) -> str:
    return value.strip() if isinstance(value, str) else ''


def _flag(name: str, raw: typing.Any) -> bool:
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in ('true', '1', 'yes', 'on'):
        return True
    if text in ('false', '0', 'no', 'off', ''):
        return False
    raise ValueError(f'{name}: expected true or false')


def _loopback(host: str) -> bool:
    if host.lower() == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _base_url(
    name: str, raw: typing.Any, source: str, plain_http: bool = False
) -> str:
    """The URL without a trailing slash, or ValueError naming ``name``.

    The value is never echoed: a URL may carry a password in its user
    part (``admin:s3cret@sonar...``, with or without a scheme) or a token
    in its query. The messages say what is wrong and, once the user part
    is known to be absent, at most the host.
    """
    if not isinstance(raw, str):
        raise ValueError(
            f'{name}: expected a URL string, got {type(raw).__name__} '
            f'({source})'
        )
    text = raw.strip()
    if _has_userinfo(text):
        raise ValueError(
            f'{name}: credentials do not belong in the URL; use the '
            f'plugin credentials ({source})'
        )
    parts = _split(text)
    if parts is None:
        raise ValueError(
            f'{name}: not a valid URL (bad IPv6 host or port) ({source})'
        )
    if parts.scheme not in ('http', 'https'):
        raise ValueError(
            f'{name}: expected an http(s) base URL; the value does not '
            f'start with http:// or https:// ({source})'
        )
    if not parts.hostname:
        raise ValueError(
            f'{name}: expected an http(s) base URL; the value names no '
            f'host ({source})'
        )
    if parts.query or parts.fragment:
        raise ValueError(
            f'{name}: a base URL has no query or fragment; drop what '
            f'follows ? or # (host {parts.hostname}, {source})'
        )
    if (
        parts.scheme == 'http'
        and not plain_http
        and not _loopback(parts.hostname)
    ):
        # Tokens travel in headers: over plain http anyone on the path
        # reads them. Loopback never leaves the machine.
        raise ValueError(
            f'{name}: plain http:// would send the token unencrypted; use '
            "https://, or set option 'allow_plain_http' to true (loopback "
            f'addresses are allowed) ({source})'
        )
    return urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, parts.path.rstrip('/'), '', '')
    )


def _split(text: str) -> urllib.parse.SplitResult | None:
    """The URL's parts, or None where urlsplit refuses it.

    urlsplit's own messages quote the host or the port, so its error is
    not raised, not even as the context of another.
    """
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        return None
    return parts


def _has_userinfo(text: str) -> bool:
    """Whether the URL's authority has a user part (``user:pw@``).

    Looked for by hand, not with urlsplit: without ``//`` urlsplit reads
    ``admin:s3cret@host`` as scheme ``admin`` and finds no user part.
    """
    authority = _SCHEME_PREFIX.sub('', text, count=1)
    return '@' in _AUTHORITY_END.split(authority, maxsplit=1)[0]


def _timeout(raw: typing.Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise ValueError(f'timeout_seconds: expected an integer, got {raw!r}')
    try:
        seconds = int(raw)
    except TypeError, ValueError:
        raise ValueError(
            f'timeout_seconds: expected an integer, got {raw!r}'
        ) from None
    if not 1 <= seconds <= MAX_TIMEOUT_SECONDS:
        raise ValueError(
            f'timeout_seconds: expected 1..{MAX_TIMEOUT_SECONDS}, '
            f'got {seconds}'
        )
    return seconds
