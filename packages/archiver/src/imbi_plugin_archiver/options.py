"""Options and credentials of one call: defaults applied, validated.

The host merges the option layers as saved (``8`` or ``'8'``) and never
applies the manifest defaults, so :func:`read_options` does. v3 hosts
pass Integration and capability options apart: :func:`raw` merges them.
"""

import dataclasses
import ipaddress
import re
import typing
import urllib.parse

from imbi_plugin_archiver import spec
from imbi_plugin_archiver._host import PluginContext, PluginCredentialsMissing

DEFAULT_API_URL = spec.DEFAULT_API_URL
DEFAULT_TIMEOUT_SECONDS = spec.DEFAULT_TIMEOUT_SECONDS
MAX_TIMEOUT_SECONDS = 300
#: GitHub's rules for account logins and repository names. ``\Z``, not
#: ``$``: a trailing newline must not pass (it would end up in the URL).
OWNER = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\Z')
NAME = re.compile(r'^[A-Za-z0-9._-]{1,100}\Z')
#: A DNS host name: dot-separated letter-digit-hyphen labels.
_HOST_NAME = re.compile(
    r'^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
    r'(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?\Z'
)


if typing.TYPE_CHECKING:
    from imbi_plugin_archiver.app import AppCredentials


class OptionError(ValueError):
    """An option's value is unusable; the message names the option."""


@dataclasses.dataclass(frozen=True)
class Options:
    """Validated options of one call."""

    api_url: str
    #: ``(owner, name)`` from the ``repository`` option, if set.
    repository: tuple[str, str] | None
    archive_owner: str | None
    timeout_seconds: int

    @property
    def web_host(self) -> str:
        """The host of repository web URLs (project links) for api_url."""
        parts = urllib.parse.urlsplit(self.api_url)
        host = parts.netloc.lower()
        # api.github.com and GHE.com's api.SUBDOMAIN.ghe.com serve the
        # API on a subdomain; GHES serves it under /api/v3 on the host.
        if host.startswith('api.') and not parts.path:
            return host.removeprefix('api.')
        return host


def raw(ctx: PluginContext) -> dict[str, typing.Any]:
    """The options of one call, whichever host passed them.

    v1 hosts merge everything into ``assignment_options``; v3 hosts pass
    ``integration_options`` and ``capability_options`` (and copy the
    latter into ``assignment_options``), the gateway no assignment
    options at all. ``ctx`` itself is never copied or replaced: the host
    reads ``link_writeback`` from the object it passed.
    """
    return {
        **(getattr(ctx, 'integration_options', None) or {}),
        **(getattr(ctx, 'capability_options', None) or {}),
        **(ctx.assignment_options or {}),
    }


def split_repository(text: str) -> tuple[str, str] | None:
    """``(owner, name)`` of an ``owner/name`` text, None if malformed."""
    owner, _, name = text.strip().partition('/')
    name = name.removesuffix('.git')
    if OWNER.match(owner) and NAME.match(name) and name not in ('.', '..'):
        return owner, name
    return None


def _text(options: dict[str, typing.Any], name: str) -> str | None:
    value = options.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise OptionError(f'option {name!r} must be a string')
    return value.strip() or None


def _api_url(options: dict[str, typing.Any]) -> str:
    value = _text(options, 'api_url') or DEFAULT_API_URL
    # The value is not echoed: it may carry credentials.
    if not _is_api_url(value):
        raise OptionError(
            "option 'api_url' must be an http(s) URL of a valid host and "
            'port, without spaces, credentials, query or fragment, such as '
            'https://api.github.com or https://github.example.com/api/v3'
        )
    host = urllib.parse.urlsplit(value).hostname or ''
    if (
        value.lower().startswith('http:')
        and not _loopback(host)
        and not _flag(options, 'allow_plain_http')
    ):
        # The token travels in a header: over plain http anyone on the
        # path reads it. Loopback never leaves the machine.
        raise OptionError(
            "option 'api_url' is plain http://, which would send the "
            'token unencrypted: use https://, or set option '
            "'allow_plain_http' to true (loopback addresses are allowed)"
        )
    return value.rstrip('/')


def _flag(options: dict[str, typing.Any], name: str) -> bool:
    value = options.get(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ('true', '1', 'yes', 'on'):
        return True
    if text in ('false', '0', 'no', 'off', ''):
        return False
    raise OptionError(f'option {name!r} must be true or false')


def _loopback(host: str) -> bool:
    if host.lower() == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_api_url(value: str) -> bool:
    """An http(s) URL a request can go to, with nothing it would drop."""
    if any(c.isspace() or not c.isprintable() for c in value):
        return False
    try:
        parts = urllib.parse.urlsplit(value)
        port = parts.port  # ValueError when not a number in 0..65535
    except ValueError:
        return False
    host = parts.hostname or ''
    return (
        parts.scheme in ('http', 'https')
        and (_HOST_NAME.match(host) is not None or _is_ip(host))
        and port != 0
        and parts.username is None
        and not parts.query
        and not parts.fragment
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _timeout(options: dict[str, typing.Any]) -> int:
    value = options.get('timeout_seconds')
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_TIMEOUT_SECONDS
    try:
        if isinstance(value, bool):
            raise ValueError
        seconds = int(value.strip() if isinstance(value, str) else value)
    except TypeError, ValueError:
        seconds = 0
    if not 1 <= seconds <= MAX_TIMEOUT_SECONDS:
        raise OptionError(
            "option 'timeout_seconds' must be a whole number of seconds "
            f'from 1 to {MAX_TIMEOUT_SECONDS}'
        )
    return seconds


def read_options(options: dict[str, typing.Any]) -> Options:
    """The validated options; :class:`OptionError` names a bad one."""
    repository = None
    text = _text(options, 'repository')
    if text is not None:
        repository = split_repository(text)
        if repository is None or text.count('/') != 1:
            raise OptionError(
                "option 'repository' must be owner/name, such as "
                f'acme/billing-api (got {text[:100]!r})'
            )
    archive_owner = _text(options, 'archive_owner')
    if archive_owner is not None and not OWNER.match(archive_owner):
        raise OptionError(
            "option 'archive_owner' must be a GitHub organization login, "
            f'such as acme-archive (got {archive_owner[:100]!r})'
        )
    return Options(
        api_url=_api_url(options),
        repository=repository,
        archive_owner=archive_owner,
        timeout_seconds=_timeout(options),
    )


def _filled(credential: typing.Any) -> bool:
    return isinstance(credential, str) and bool(credential.strip())


def credential(credentials: dict[str, str]) -> str | AppCredentials:
    """The token to send, or the GitHub App to get one from.

    A bound identity's ``access_token`` wins, then a stored ``token``,
    then the App's ``app_id`` and ``private_key``. Raises
    ``PluginCredentialsMissing`` when none is usable, before any request,
    and :class:`~imbi_plugin_archiver.app.CredentialError` for an
    unusable ``app_id``.
    """
    # Secret values stay in names error trackers scrub (token, ...):
    # a traceback's locals must not carry them.
    for field in ('access_token', 'token'):
        token = credentials.get(field)
        if isinstance(token, str) and token.strip():
            return token.strip()
    present = {
        field
        for field in ('app_id', 'private_key')
        if _filled(credentials.get(field))
    }
    if len(present) == 2:
        from imbi_plugin_archiver import app

        return app.parse(credentials['app_id'], credentials['private_key'])
    if present:
        (missing,) = {'app_id', 'private_key'} - present
        raise PluginCredentialsMissing(
            f'credential {missing!r} is missing: a GitHub App needs both '
            "'app_id' and 'private_key' (or store a 'token')"
        )
    raise PluginCredentialsMissing(
        "credential 'token' is missing: store a token with admin rights "
        "on the repositories or a GitHub App's 'app_id' and "
        "'private_key', or bind a GitHub identity"
    )
