"""The configuration handler both generations serve.

:class:`VaultHandler` is a plain mixin: ``plugin.VaultPlugin`` (v1)
adds it to ``ConfigurationPlugin`` and ``_v3.VaultConfiguration`` to
``ConfigurationCapability``. Models and errors come from ``_host``, so
the host receives its own classes. The models in annotations are
imported at run time too: tools resolve them (``typing.get_type_hints``,
as the harness's command does).
"""

import datetime
import typing

from imbi_plugin_vault import _host, spec
from imbi_plugin_vault._host import (
    ConfigKey,
    ConfigKeyWithValue,
    ConfigValue,
    PluginAuthenticationFailed,
    PluginContext,
    PluginCredentialsMissing,
)

if typing.TYPE_CHECKING:
    import collections.abc
    import contextlib

    from imbi_plugin_vault import client, keys
    from imbi_plugin_vault import options as plugin_options
else:
    # Loaded by the first call, not at the host's start-up.
    keys = _host.deferred('imbi_plugin_vault.keys')
    plugin_options = _host.deferred('imbi_plugin_vault.options')


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
    return client.connect(options, token, folder, spec.data_types())


def _config_key(
    key: str, data_type: str, last_modified: datetime.datetime | None
) -> ConfigKey:
    return ConfigKey(
        key=key,
        data_type=data_type,
        last_modified=last_modified,
        secret=spec.data_types()[data_type],
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
        secret=spec.data_types()[data_type],
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


class VaultHandler:
    """Configuration keys of a project as secrets in a Vault KV mount."""

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
        data_types = spec.data_types()
        if value.data_type not in data_types:
            raise ValueError(
                f'unknown data type {value.data_type!r}; expected one of '
                f'{", ".join(data_types)}'
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

    def describe_prefix(self, ctx: PluginContext) -> str | None:
        """The location of the project's keys, for display (v3 hosts).

        Synchronous and without a request: imbi-api 2.22+ calls it for
        ``GET .../configuration/prefix`` with the literal environment
        ``${environment}``, which stays in the answer as it is.
        """
        return plugin_options.describe_prefix(ctx)
