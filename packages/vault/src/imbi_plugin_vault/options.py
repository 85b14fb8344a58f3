"""The plugin's options: defaults applied, coerced and validated.

The host passes the merged option layers as they were saved (``'2'`` or
``2``, ``'true'`` or ``True``) and never applies the manifest defaults,
so :func:`read_options` is the one place that does.
"""

import dataclasses
import ipaddress
import re
import typing
import urllib.parse

from imbi_plugin_vault import keys, spec
from imbi_plugin_vault._host import (
    PluginContext,
    expand_template,
    validate_template,
)

DEFAULTS = spec.defaults()
KV_VERSIONS = spec.KV_VERSIONS
DELETE_MODES = spec.DELETE_MODES
MAX_CONCURRENCY = 64
MAX_TIMEOUT_SECONDS = 300
_VARIABLE = re.compile(r'\$\{([^}]+)\}')
_TRUE = frozenset({'true', '1', 'yes', 'on'})
_FALSE = frozenset({'false', '0', 'no', 'off'})


@dataclasses.dataclass(frozen=True)
class VaultOptions:
    """Validated options of one call."""

    url: str
    mount_path: str
    #: None: the mount's own version, read from Vault (else 2).
    kv_version: int | None
    path_template: str
    namespace: str | None
    delete_mode: typing.Literal['soft', 'destroy']
    max_concurrency: int
    timeout_seconds: int
    verify_tls: bool
    #: Other ``host:port`` a redirect may lead to (HA cluster nodes).
    redirect_hosts: frozenset[str] = frozenset()


def _raw(options: dict[str, typing.Any], name: str) -> typing.Any:
    value = options.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULTS.get(name)
    return value.strip() if isinstance(value, str) else value


def _string(options: dict[str, typing.Any], name: str) -> str:
    value = _raw(options, name)
    if value is None:
        raise ValueError(f'option {name!r} is required')
    if not isinstance(value, str):
        raise ValueError(f'option {name!r} must be a string')
    return value


def _choice(
    options: dict[str, typing.Any], name: str, choices: tuple[str, ...]
) -> str:
    value = _raw(options, name)
    text = str(value) if isinstance(value, (str, int)) else ''
    if isinstance(value, bool) or text not in choices:
        raise ValueError(
            f'option {name!r} must be one of {", ".join(choices)}'
        )
    return text


def _integer(
    options: dict[str, typing.Any], name: str, low: int, high: int
) -> int:
    value = _raw(options, name)
    if isinstance(value, bool):
        raise ValueError(f'option {name!r} must be an integer')
    try:
        number = int(value)
    except TypeError, ValueError:
        raise ValueError(f'option {name!r} must be an integer') from None
    if not low <= number <= high:
        raise ValueError(f'option {name!r} must be between {low} and {high}')
    return number


def _boolean(options: dict[str, typing.Any], name: str) -> bool:
    value = _raw(options, name)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise ValueError(f'option {name!r} must be true or false')


def _loopback(host: str) -> bool:
    if host.lower() == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(options: dict[str, typing.Any]) -> str:
    url = _string(options, 'url').rstrip('/')
    parts = urllib.parse.urlsplit(url)
    if (
        parts.scheme == 'http'
        and parts.hostname
        and not _loopback(parts.hostname)
        and not _boolean(options, 'allow_plain_http')
    ):
        # The token travels in a header: over plain http anyone on the
        # path reads it. Loopback (a local Vault agent) never leaves
        # the machine.
        raise ValueError(
            "option 'url' is plain http://, which would send the Vault "
            'token unencrypted: use https://, or set option '
            "'allow_plain_http' to true (loopback addresses are allowed)"
        )
    if (
        parts.scheme not in ('http', 'https')
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
    ):
        raise ValueError(
            "option 'url' must be an http(s) address such as "
            'https://vault.example.com:8200'
        )
    # urlsplit lower-cases the scheme: 'HTTPS://' is https everywhere.
    return urllib.parse.urlunsplit(parts)


def header_safe(value: str) -> bool:
    """Whether ``value`` can travel in an HTTP header as it is."""
    return value.isascii() and value.isprintable()


def _redirect_hosts(
    options: dict[str, typing.Any], url: str
) -> frozenset[str]:
    value = _raw(options, 'redirect_hosts')
    if value is None:
        return frozenset()
    if not isinstance(value, str):
        raise ValueError("option 'redirect_hosts' must be a string")
    scheme = urllib.parse.urlsplit(url).scheme
    hosts = set()
    for item in value.replace(' ', ',').split(','):
        if not item:
            continue
        try:
            hosts.add(node(scheme, item if '://' in item else f'//{item}'))
        except ValueError:
            raise ValueError(
                "option 'redirect_hosts' must list host:port addresses "
                'separated by commas, e.g. vault-2.example.com:8200'
            ) from None
    return frozenset(hosts)


def node(scheme: str, url: str) -> str:
    """``host:port`` of ``url``, the port defaulting to the scheme's.

    ValueError unless ``url`` is a bare ``//host[:port]`` (or with a
    scheme): no user information (even empty), path or query.
    """
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or parts.path or parts.query or '@' in parts.netloc:
        raise ValueError('not a host:port address')
    port = parts.port or (443 if scheme == 'https' else 80)
    host = parts.hostname
    return f'[{host}]:{port}' if ':' in host else f'{host}:{port}'


def _mount_path(options: dict[str, typing.Any]) -> str:
    mount = _string(options, 'mount_path').strip('/')
    try:
        keys.validate_path(mount)
    except ValueError as exc:
        raise ValueError(f"option 'mount_path' is invalid: {exc}") from None
    return mount


def raw(ctx: PluginContext) -> dict[str, typing.Any]:
    """Every option layer of ``ctx`` as one dict, the narrowest last.

    v1 hosts merge all options into ``assignment_options``; v3 hosts
    pass the Integration's options and the capability's (layered per
    project type and project) apart, and set ``assignment_options`` to
    the capability's. ``ctx`` itself is never changed.
    """
    return {
        **(getattr(ctx, 'integration_options', None) or {}),
        **(getattr(ctx, 'capability_options', None) or {}),
        **(ctx.assignment_options or {}),
    }


def read_options(ctx: PluginContext) -> VaultOptions:
    """The options of ``ctx``, defaults applied; ValueError names one."""
    options = raw(ctx)
    template = _string(options, 'path_template')
    try:
        validate_template(template)
    except ValueError as exc:
        raise ValueError(f"option 'path_template': {exc}") from None
    namespace = _raw(options, 'namespace')
    if namespace is not None and not isinstance(namespace, str):
        raise ValueError("option 'namespace' must be a string")
    if namespace and not header_safe(namespace):
        # It travels in the X-Vault-Namespace header.
        raise ValueError(
            "option 'namespace' may only hold printable ASCII characters"
        )
    url = _url(options)
    kv_version = _raw(options, 'kv_version')
    return VaultOptions(
        url=url,
        mount_path=_mount_path(options),
        kv_version=None
        if kv_version is None
        else int(_choice(options, 'kv_version', KV_VERSIONS)),
        path_template=template,
        namespace=namespace.strip('/') or None if namespace else None,
        delete_mode=typing.cast(
            typing.Literal['soft', 'destroy'],
            _choice(options, 'delete_mode', DELETE_MODES),
        ),
        max_concurrency=_integer(
            options, 'max_concurrency', 1, MAX_CONCURRENCY
        ),
        timeout_seconds=_integer(
            options, 'timeout_seconds', 1, MAX_TIMEOUT_SECONDS
        ),
        verify_tls=_boolean(options, 'verify_tls'),
        redirect_hosts=_redirect_hosts(options, url),
    )


def _variables(
    ctx: PluginContext, environment: str | None
) -> dict[str, str | None]:
    return {
        'project_slug': ctx.project_slug,
        'org_slug': ctx.org_slug,
        'team_slug': ctx.team_slug,
        'environment': environment,
        'project_id': ctx.project_id,
    }


def project_folder(options: VaultOptions, ctx: PluginContext) -> str:
    """The folder under the mount holding this project's keys."""
    variables = _variables(ctx, ctx.environment)
    # Variables a newer imbi-common allows but PluginContext lacks
    # (project_type_slug on 2.11) have no value and are rejected here.
    for name in _VARIABLE.findall(options.path_template):
        if name == 'environment' and ctx.environment is None:
            raise ValueError(
                "option 'path_template' uses ${environment} and this "
                'request names no environment: choose an environment'
            )
        if not variables.get(name):
            raise ValueError(
                f"option 'path_template' uses ${{{name}}}, which is empty "
                'for this call'
            )
    folder = expand_template(options.path_template, variables).strip('/')
    try:
        keys.validate_path(folder)
    except ValueError as exc:
        raise ValueError(
            f"option 'path_template' expands to an invalid folder: {exc}"
        ) from None
    return folder


#: What ``describe_prefix`` shows for a folder that varies per
#: environment: the placeholder imbi-api itself passes.
ENVIRONMENT_PLACEHOLDER = '${environment}'


def describe_prefix(ctx: PluginContext) -> str | None:
    """Where the project's keys live: ``[namespace/]mount/folder``.

    No request is made. Without an environment (or with imbi-api's
    literal ``${environment}``) the folder keeps ``${environment}``, the
    segment that varies per environment. None when the options cannot
    say where the keys are (an invalid mount or template, a variable
    empty for this project): the calls themselves report why.
    """
    options = raw(ctx)
    try:
        mount = _mount_path(options)
        template = _string(options, 'path_template')
        validate_template(template)
        namespace = _raw(options, 'namespace')
        if namespace is not None and not isinstance(namespace, str):
            raise ValueError("option 'namespace' must be a string")
    except ValueError:
        return None
    variables = _variables(ctx, ctx.environment or ENVIRONMENT_PLACEHOLDER)
    if any(not variables.get(name) for name in _VARIABLE.findall(template)):
        return None
    folder = expand_template(template, variables).strip('/')
    try:
        keys.validate_path(folder)
    except ValueError:
        return None
    # Vault also takes a namespace as the first segments of a path.
    namespace = namespace.strip('/') if namespace else None
    return '/'.join(filter(None, [namespace, mount, folder]))
