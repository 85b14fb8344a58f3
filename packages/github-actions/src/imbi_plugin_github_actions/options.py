"""Options, credentials and the repository of one call.

The host passes the merged option layers as saved (``'8'`` or ``8``) and
never applies the manifest defaults, so :func:`read_options` is the one
place that does.
"""

import dataclasses
import ipaddress
import re
import typing
import urllib.parse

from imbi_plugin_github_actions import spec
from imbi_plugin_github_actions._host import (
    PluginContext,
    PluginCredentialsMissing,
)

DEFAULTS: dict[str, typing.Any] = spec.defaults()
MAX_TIMEOUT_SECONDS = 300
LINK_KEY = 'github-repository'
_OWNER = re.compile(r'[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})')
_NAME = re.compile(r'[A-Za-z0-9._-]{1,100}')
_INPUT_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_-]{0,99}')


@dataclasses.dataclass(frozen=True)
class Options:
    """Validated options of one call."""

    api_url: str
    repository: str | None
    workflow: str | None
    sha_input: str
    correlation_input: str | None
    timeout_seconds: int

    @property
    def web_url(self) -> str:
        """The browser base: github.com, GHE.com's SUBDOMAIN.ghe.com (API
        on api.SUBDOMAIN.ghe.com), or the GHES host."""
        parts = urllib.parse.urlsplit(self.api_url)
        host = (parts.hostname or '').lower()
        if parts.path.strip('/') == '' and (
            host == 'api.github.com'
            or (host.startswith('api.') and host.endswith('.ghe.com'))
        ):
            netloc = host.removeprefix('api.')
            if parts.port is not None:
                netloc += f':{parts.port}'
            return f'{parts.scheme}://{netloc}'
        return self.api_url.removesuffix('/api/v3')

    @property
    def graphql_url(self) -> str:
        if self.api_url.endswith('/api/v3'):
            return self.api_url.removesuffix('/v3') + '/graphql'
        return self.api_url + '/graphql'


def _raw(options: dict[str, typing.Any], name: str) -> typing.Any:
    value = options.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULTS.get(name)
    return value.strip() if isinstance(value, str) else value


def _string(options: dict[str, typing.Any], name: str) -> str | None:
    value = _raw(options, name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f'option {name!r} must be a string')
    return str(value)


def _integer(options: dict[str, typing.Any], name: str, top: int) -> int:
    value = _raw(options, name)
    if isinstance(value, bool):
        raise ValueError(f'option {name!r} must be an integer')
    try:
        number = int(value)
    except TypeError, ValueError:
        raise ValueError(f'option {name!r} must be an integer') from None
    if not 1 <= number <= top:
        raise ValueError(f'option {name!r} must be between 1 and {top}')
    return number


def _input_name(options: dict[str, typing.Any], name: str) -> str | None:
    value = _string(options, name)
    if value is not None and not _INPUT_NAME.fullmatch(value):
        raise ValueError(
            f'option {name!r} must be a workflow input name (letters, '
            'digits, "_" and "-")'
        )
    return value


def _loopback(host: str) -> bool:
    if host.lower() == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _flag(options: dict[str, typing.Any], name: str) -> bool:
    value = options.get(name, DEFAULTS[name])
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('true', '1', 'yes', 'on'):
        return True
    if text in ('false', '0', 'no', 'off', ''):
        return False
    raise ValueError(f'option {name!r} must be true or false')


def raw(ctx: PluginContext) -> dict[str, typing.Any]:
    """The option layers of ``ctx``, as saved (no defaults).

    v3 hosts pass Integration options and capability options apart (and
    the gateway leaves ``assignment_options`` empty); v1 hosts pass the
    merged layers in ``assignment_options``. ``ctx`` itself is never
    copied: hosts read what a plugin writes back from the object they
    passed.
    """
    return {
        **(getattr(ctx, 'integration_options', None) or {}),
        **(getattr(ctx, 'capability_options', None) or {}),
        **(ctx.assignment_options or {}),
    }


def read_options(ctx: PluginContext) -> Options:
    """The options of ``ctx`` with defaults applied; ValueError if bad."""
    layers = raw(ctx)
    api_url = typing.cast(str, _string(layers, 'api_url')).rstrip('/')
    parts = urllib.parse.urlsplit(api_url)
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise ValueError(
            "option 'api_url' must be an http(s) URL such as "
            'https://api.github.com or https://HOST/api/v3'
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            "option 'api_url' must not carry a query, fragment or user info"
        )
    if (
        parts.scheme == 'http'
        and not _loopback(parts.hostname)
        and not _flag(layers, 'allow_plain_http')
    ):
        # The token travels in a header: over plain http anyone on the
        # path reads it. Loopback never leaves the machine.
        raise ValueError(
            "option 'api_url' is plain http://, which would send the "
            'token unencrypted: use https://, or set option '
            "'allow_plain_http' to true (loopback addresses are allowed)"
        )
    repository = _string(layers, 'repository')
    if repository is not None:
        split_repository(repository, "option 'repository'")
    workflow = _string(layers, 'workflow')
    if workflow is not None:
        check_workflow(workflow, "option 'workflow'")
    return Options(
        api_url=api_url,
        repository=repository,
        workflow=workflow,
        sha_input=typing.cast(str, _input_name(layers, 'sha_input')),
        correlation_input=_input_name(layers, 'correlation_input'),
        timeout_seconds=_integer(
            layers, 'timeout_seconds', MAX_TIMEOUT_SECONDS
        ),
    )


def check_workflow(value: str, what: str) -> str:
    """A workflow id or file name (``deploy.yml``)."""
    if is_workflow_id(value) or re.fullmatch(r'[A-Za-z0-9._-]+\.ya?ml', value):
        return value
    raise ValueError(
        f'{what} must be a workflow file name such as deploy.yml or a '
        'numeric workflow id'
    )


def is_workflow_id(value: str) -> bool:
    """A numeric workflow id (ASCII digits: str.isdigit takes others)."""
    return value.isascii() and value.isdigit()


@dataclasses.dataclass(frozen=True)
class AppCredentials:
    """A GitHub App's id and private key (PEM text, unchecked yet)."""

    app_id: str
    private_key: str = dataclasses.field(repr=False)


def _text(credentials: dict[str, str], field: str) -> str | None:
    value = (credentials or {}).get(field)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def credential(credentials: dict[str, str]) -> str | AppCredentials:
    """What to call GitHub with: a token (the user's wins over the stored
    one), else a GitHub App's id and key to make an installation token.

    v3 hosts pass ``app_id`` and ``private_key`` on service paths, where
    no user is acting.
    """
    for field in ('access_token', 'token'):
        token = _text(credentials, field)
        if token is not None:
            return token
    app_id = _text(credentials, 'app_id')
    private_key = _text(credentials, 'private_key')
    if app_id is not None and private_key is not None:
        if not (app_id.isascii() and app_id.isdigit() and len(app_id) < 21):
            # Not echoed: an operator who pasted the key into the wrong
            # field would see it in the error.
            raise PluginCredentialsMissing(
                "credential 'app_id' is not a GitHub App id: give the "
                "App's numeric id (its settings page, 'App ID'), not the "
                'client id or the name'
            )
        return AppCredentials(app_id, private_key)
    if app_id is not None or private_key is not None:
        absent = 'private_key' if app_id is not None else 'app_id'
        raise PluginCredentialsMissing(
            f'credential {absent!r} is missing: a GitHub App needs both '
            'app_id and private_key'
        )
    raise PluginCredentialsMissing(
        "credential 'token' is missing: store a GitHub token, or a GitHub "
        "App's app_id and private_key, or bind a GitHub identity (its "
        "'access_token')"
    )


def split_repository(value: str, what: str) -> tuple[str, str]:
    """``owner/name`` -> (owner, name); ValueError naming ``what``."""
    owner, sep, name = value.strip().removesuffix('.git').partition('/')
    if (
        not sep
        or not _OWNER.fullmatch(owner)
        or not _NAME.fullmatch(name)
        or name in ('.', '..')
    ):
        raise ValueError(f'{what} must be "owner/name", got {value!r}')
    return owner, name


def repository(options: Options, ctx: PluginContext) -> tuple[str, str]:
    """The repository: option, else the project link, else the one link
    on the GitHub host."""
    if options.repository:
        return split_repository(options.repository, "option 'repository'")
    links = dict(ctx.project_links or {})
    if links.get(LINK_KEY):
        return _from_url(links[LINK_KEY], f'project link {LINK_KEY!r}')
    host = urllib.parse.urlsplit(options.web_url).netloc.lower()
    candidates = sorted(
        {
            url
            for url in links.values()
            if isinstance(url, str)
            and urllib.parse.urlsplit(url).netloc.lower() == host
        }
    )
    if len(candidates) == 1:
        return _from_url(candidates[0], 'the project link on ' + host)
    if not candidates:
        raise ValueError(
            f'no repository: set option "repository", or give the project a '
            f'{LINK_KEY!r} link or one link on {host}'
        )
    raise ValueError(
        f'the project has {len(candidates)} links on {host}; set option '
        f'"repository" or a {LINK_KEY!r} link to choose one'
    )


def _from_url(url: str, what: str) -> tuple[str, str]:
    path = urllib.parse.urlsplit(url).path.strip('/').split('/')
    if len(path) < 2:
        raise ValueError(f'{what} is not a repository URL: {url!r}')
    return split_repository('/'.join(path[:2]), what)
