"""The v1 entry point (imbi-common 2.3-2.11): manifest and plugin class.

Only v1 hosts import this module (entry point ``imbi.plugins``), so it
takes the v1 API from ``imbi_common.plugins`` directly.
"""

from imbi_common.plugins import (
    ConfigurationPlugin,
    CredentialField,
    DataType,
    PluginManifest,
    PluginOption,
)

from imbi_plugin_vault import spec
from imbi_plugin_vault.handler import VaultHandler

MANIFEST = PluginManifest(
    slug=spec.SLUG_V1,
    name=spec.NAME,
    description=spec.DESCRIPTION,
    plugin_type='configuration',
    api_version=1,
    cacheable=spec.CACHEABLE,
    options=[PluginOption(**option) for option in spec.options()],
    credentials=[CredentialField(**field) for field in spec.CREDENTIALS],
    data_types=[DataType(**data_type) for data_type in spec.DATA_TYPES],
)


class VaultPlugin(VaultHandler, ConfigurationPlugin):
    """Configuration keys of a project as secrets in a Vault KV mount."""

    manifest = MANIFEST
