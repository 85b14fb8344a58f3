"""The plugin's options and credentials, typed, with the manifest defaults.

The host never applies ``PluginOption.default`` and hands options over as
str or int, so every read goes through :func:`read`.
"""

import dataclasses
import typing
import urllib.parse

from imbi_common.plugins import PluginCredentialsMissing, PluginManifest

AuthScheme = typing.Literal['bearer', 'basic']
_AUTH_SCHEMES: tuple[AuthScheme, ...] = ('bearer', 'basic')
MAX_TIMEOUT_SECONDS = 600


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


def require_credentials(
    manifest: PluginManifest, credentials: typing.Mapping[str, typing.Any]
) -> Secrets:
    """The required credentials, or PluginCredentialsMissing naming one."""
    for field in manifest.credentials:
        if field.required and not _text(credentials.get(field.name)):
            raise PluginCredentialsMissing(
                f'sonarqube: credential {field.name!r} is missing or empty'
            )
    return Secrets(
        api_token=_text(credentials['api_token']),
        imbi_api_key=_text(credentials['imbi_api_key']),
    )


def read(
    manifest: PluginManifest,
    assignment_options: typing.Mapping[str, typing.Any],
    credentials: typing.Mapping[str, typing.Any],
) -> Options:
    """Typed options: manifest defaults applied, values validated.

    ``imbi_url`` falls back to the credential of that name and
    ``sonarqube_url`` to the gateway's ``service_endpoint``; a bad or
    missing value raises ValueError naming the option.
    """
    defaults = {o.name: o.default for o in manifest.options}

    def value(name: str) -> typing.Any:
        given = assignment_options.get(name)
        if given is None or given == '':
            return defaults.get(name)
        return given

    imbi_url = value('imbi_url') or _text(credentials.get('imbi_url'))
    if not imbi_url:
        raise ValueError(
            "imbi_url: set the 'imbi_url' option or the 'imbi_url' "
            'credential to the Imbi API base URL'
        )
    sonarqube_url = value('sonarqube_url') or assignment_options.get(
        'service_endpoint'
    )
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
    return Options(
        imbi_url=_base_url('imbi_url', imbi_url),
        sonarqube_url=_base_url('sonarqube_url', sonarqube_url),
        sonarqube_auth=typing.cast(AuthScheme, auth.strip().lower()),
        timeout_seconds=_timeout(value('timeout_seconds')),
    )


def _text(value: typing.Any) -> str:
    return value.strip() if isinstance(value, str) else ''


def _base_url(name: str, raw: typing.Any) -> str:
    if not isinstance(raw, str):
        raise ValueError(f'{name}: expected a URL string, got {raw!r}')
    parts = urllib.parse.urlsplit(raw.strip())
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise ValueError(
            f'{name}: expected an http(s) base URL, got {raw.strip()!r}'
        )
    if parts.username or parts.password:
        # Never echo the URL: its user part may hold a secret.
        raise ValueError(
            f'{name}: credentials do not belong in the URL; use the '
            'plugin credentials'
        )
    if parts.query or parts.fragment:
        raise ValueError(
            f'{name}: a base URL has no query or fragment, got {raw.strip()!r}'
        )
    return urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, parts.path.rstrip('/'), '', '')
    )


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
