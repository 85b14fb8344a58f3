"""The plugin's options: defaults applied, coerced and validated.

The host passes the merged option layers as they were saved (``'2'`` or
``2``, ``'true'`` or ``True``) and never applies the manifest defaults,
so :func:`read_options` is the one place that does.
"""

import dataclasses
import re
import typing
import urllib.parse

from imbi_common.plugins import (
    PluginContext,
    expand_template,
    validate_template,
)

from imbi_plugin_vault import keys

DEFAULTS: dict[str, str | int | bool] = {
    'mount_path': 'secret',
    'kv_version': '2',
    'path_template': '${org_slug}/${project_slug}',
    'delete_mode': 'soft',
    'max_concurrency': 8,
    'timeout_seconds': 8,
    'verify_tls': True,
}
KV_VERSIONS = ('1', '2')
DELETE_MODES = ('soft', 'destroy')
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
    kv_version: int
    path_template: str
    namespace: str | None
    delete_mode: typing.Literal['soft', 'destroy']
    max_concurrency: int
    timeout_seconds: int
    verify_tls: bool


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


def _url(options: dict[str, typing.Any]) -> str:
    url = _string(options, 'url').rstrip('/')
    parts = urllib.parse.urlsplit(url)
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


def _mount_path(options: dict[str, typing.Any]) -> str:
    mount = _string(options, 'mount_path').strip('/')
    try:
        keys.validate_path(mount)
    except ValueError as exc:
        raise ValueError(f"option 'mount_path' is invalid: {exc}") from None
    return mount


def read_options(ctx: PluginContext) -> VaultOptions:
    """The options of ``ctx``, defaults applied; ValueError names one."""
    options = dict(ctx.assignment_options or {})
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
    return VaultOptions(
        url=_url(options),
        mount_path=_mount_path(options),
        kv_version=int(_choice(options, 'kv_version', KV_VERSIONS)),
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
    )


def project_folder(options: VaultOptions, ctx: PluginContext) -> str:
    """The folder under the mount holding this project's keys."""
    variables: dict[str, str | None] = {
        'project_slug': ctx.project_slug,
        'org_slug': ctx.org_slug,
        'team_slug': ctx.team_slug,
        'environment': ctx.environment,
        'project_id': ctx.project_id,
    }
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
