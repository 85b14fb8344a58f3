"""The Vault configuration plugin: manifest and handler."""

import datetime
import typing

from imbi_common.plugins import (
    ConfigKey,
    ConfigKeyWithValue,
    ConfigurationPlugin,
    ConfigValue,
    CredentialField,
    DataType,
    PluginContext,
    PluginCredentialsMissing,
    PluginManifest,
    PluginOption,
)
from imbi_common.plugins.errors import PluginAuthenticationFailed

from imbi_plugin_vault import keys
from imbi_plugin_vault import options as plugin_options

if typing.TYPE_CHECKING:
    import collections.abc
    import contextlib

    from imbi_plugin_vault import client

MANIFEST = PluginManifest(
    slug='vault',
    name='HashiCorp Vault',
    description=(
        'Project configuration stored in a HashiCorp Vault KV (v1 or v2) '
        'mount, one secret per key.'
    ),
    plugin_type='configuration',
    api_version=1,
    cacheable=False,
    options=[
        PluginOption(
            name='url',
            label='Vault address',
            description='e.g. https://vault.example.com:8200',
            type='string',
            required=True,
        ),
        PluginOption(
            name='mount_path',
            label='KV mount',
            description=(
                'Path of the KV secrets engine, e.g. secret or teams/kv'
            ),
            type='string',
            default='secret',
        ),
        PluginOption(
            name='kv_version',
            label='KV engine version',
            description=(
                'Empty: read from Vault. Set it for tokens that may not '
                'look the mount up; a mismatch is an error'
            ),
            type='string',
            choices=list(plugin_options.KV_VERSIONS),
        ),
        PluginOption(
            name='path_template',
            label='Project folder',
            description=(
                'Folder under the mount holding the project keys; '
                'variables: ${org_slug}, ${project_slug}, ${team_slug}, '
                '${environment}, ${project_id}'
            ),
            type='string',
            default='${org_slug}/${project_slug}',
        ),
        PluginOption(
            name='namespace',
            label='Vault Enterprise namespace',
            description='Sent as X-Vault-Namespace',
            type='string',
        ),
        PluginOption(
            name='delete_mode',
            label='Delete mode (KV v2)',
            description=(
                'soft: delete the latest version (recoverable); destroy: '
                'delete the key with all its versions'
            ),
            type='string',
            default='soft',
            choices=list(plugin_options.DELETE_MODES),
        ),
        PluginOption(
            name='max_concurrency',
            label='Parallel requests',
            description='Vault requests at once within one call (1-64)',
            type='integer',
            default=8,
        ),
        PluginOption(
            name='timeout_seconds',
            label='Budget of one call (seconds)',
            description=(
                'Whole call, retries included (1-300); the host may stop '
                'waiting sooner'
            ),
            type='integer',
            default=8,
        ),
        PluginOption(
            name='verify_tls',
            label='Verify TLS certificates',
            description=(
                'Against REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE or certifi'
            ),
            type='boolean',
            default=True,
        ),
        PluginOption(
            name='redirect_hosts',
            label='Other Vault nodes',
            description=(
                'host:port of cluster nodes a redirect may lead to, '
                'comma-separated; the token follows no other redirect'
            ),
            type='string',
        ),
        PluginOption(
            name='allow_plain_http',
            label='Allow plain http',
            type='boolean',
            default=False,
            description='Send the token to an http:// url (loopback '
            'addresses are always allowed)',
        ),
    ],
    credentials=[
        CredentialField(
            name='token',
            label='Vault token',
            description='Sent only in the X-Vault-Token header',
            required=True,
        ),
    ],
    data_types=[
        DataType(name='string', label='String'),
        DataType(name='secret', label='Secret', secret=True),
    ],
)


def _data_types() -> dict[str, bool]:
    return {dt.name: dt.secret for dt in MANIFEST.data_types}


def _token(credentials: dict[str, str]) -> str:
    token = (credentials or {}).get('token')
    if not isinstance(token, str) or not token.strip():
        raise PluginCredentialsMissing("credential 'token' is missing")
    token = token.strip()
    # It travels in a header: a line break would end up in http.client's
    # error message, token included.
    if not plugin_options.header_safe(token):
        raise PluginAuthenticationFailed(
            "the 'token' credential is not a Vault token: it holds control "
            'or non-ASCII characters'
        )
    return token


def _connect(
    ctx: PluginContext, credentials: dict[str, str]
) -> contextlib.AbstractAsyncContextManager[client.VaultClient]:
    """Options, folder and token checked; then a client for one call."""
    # Imported per call: hvac and urllib3 are not needed to load the
    # plugin registry.
    from imbi_plugin_vault import client

    options = plugin_options.read_options(ctx)
    folder = plugin_options.project_folder(options, ctx)
    token = _token(credentials)
    return client.connect(options, token, folder, _data_types())


def _config_key(
    key: str, data_type: str, last_modified: datetime.datetime | None
) -> ConfigKey:
    return ConfigKey(
        key=key,
        data_type=data_type,
        last_modified=last_modified,
        secret=_data_types()[data_type],
    )


def _with_value(
    key: str,
    data_type: str,
    last_modified: datetime.datetime | None,
    value: str,
) -> ConfigKeyWithValue:
    return ConfigKeyWithValue(
        key=key,
        data_type=data_type,
        last_modified=last_modified,
        secret=_data_types()[data_type],
        value=value,
    )


def _requested(
    requested: collections.abc.Iterable[str] | None,
) -> list[str] | None:
    if requested is None:
        return None
    unique: dict[str, None] = {}
    for key in requested:
        unique[keys.validate_key(key)] = None
    return list(unique)


class VaultPlugin(ConfigurationPlugin):
    """Configuration keys of a project as secrets in a Vault KV mount."""

    manifest = MANIFEST

    async def list_keys(
        self, ctx: PluginContext, credentials: dict[str, str]
    ) -> list[ConfigKey]:
        async with _connect(ctx, credentials) as vault:
            listed = await vault.list_keys()
        return [
            _config_key(item.key, item.data_type, item.last_modified)
            for item in listed
        ]

    async def get_values(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        keys: list[str] | None = None,
    ) -> list[ConfigKeyWithValue]:
        requested = _requested(keys)
        connection = _connect(ctx, credentials)
        if requested == []:
            return []
        async with connection as vault:
            stored = await vault.get_values(requested)
        return [
            _with_value(
                item.key, item.data_type, item.last_modified, item.value
            )
            for item in stored
        ]

    async def set_value(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        key: str,
        value: ConfigValue,
    ) -> ConfigKey:
        keys.validate_key(key)
        if value.data_type not in _data_types():
            raise ValueError(
                f'unknown data type {value.data_type!r}; expected one of '
                f'{", ".join(_data_types())}'
            )
        async with _connect(ctx, credentials) as vault:
            stored = await vault.set_value(key, value.value, value.data_type)
        return _config_key(stored.key, stored.data_type, stored.last_modified)

    async def delete_key(
        self, ctx: PluginContext, credentials: dict[str, str], key: str
    ) -> None:
        keys.validate_key(key)
        async with _connect(ctx, credentials) as vault:
            await vault.delete_key(key)
