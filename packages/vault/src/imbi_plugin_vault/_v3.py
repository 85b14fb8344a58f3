"""The v3 plugin (imbi-common 2.12+), imported only through ``PLUGIN``.

Connection settings are Integration options, asked once per
Integration; the project folder is a capability option, which v3 hosts
layer with per-project-type and per-project overrides.
"""

import typing

from imbi_plugin_vault import _host, spec
from imbi_plugin_vault.handler import VaultHandler

p = _host.api()

if typing.TYPE_CHECKING:
    # mypy checks against v1, which has neither base.
    _Capability = object
    _Plugin = object
else:
    _Capability = p.ConfigurationCapability
    _Plugin = p.Plugin


class VaultConfiguration(VaultHandler, _Capability):
    """The ``configuration`` capability: the shared handler."""


class VaultPluginV3(_Plugin):
    """HashiCorp Vault for v3 hosts."""

    manifest = p.PluginManifest(
        slug=spec.SLUG_V3,
        name=spec.NAME,
        description=spec.DESCRIPTION,
        api_version=2,
        auth_type='api_token',
        options=[p.PluginOption(**o) for o in spec.INTEGRATION_OPTIONS],
        credentials=[p.CredentialField(**c) for c in spec.CREDENTIALS],
        capabilities=[
            p.Capability(
                kind='configuration',
                label=spec.LABEL,
                handler=VaultConfiguration,
                options=[p.PluginOption(**o) for o in spec.CAPABILITY_OPTIONS],
                hints=dict(spec.HINTS),
            )
        ],
        data_types=[p.DataType(**d) for d in spec.DATA_TYPES],
    )


PLUGIN = VaultPluginV3
