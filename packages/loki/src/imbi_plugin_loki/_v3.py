"""The v3 plugin (imbi-common 2.12+), reached only through ``PLUGIN``.

Connection settings are Integration options and the per-project ones
capability options (see ``spec``). The credential blob of an open Loki
holds ``auth_mode`` only: v3 hosts refuse an empty blob.
"""

from imbi_plugin_loki import _host, spec
from imbi_plugin_loki.handler import LokiHandler

p = _host.api()


class LokiLogs(LokiHandler, p.LogsCapability):  # type: ignore[misc,name-defined]
    """The ``logs`` capability: search, schema and histogram."""


class LokiPluginV3(p.Plugin):  # type: ignore[misc,name-defined]
    """Grafana Loki for v3 hosts."""

    manifest = p.PluginManifest(
        slug=spec.SLUG_V3,
        name=spec.NAME,
        description=spec.DESCRIPTION,
        api_version=2,
        auth_type='api_token',
        options=[p.PluginOption(**o) for o in spec.INTEGRATION_OPTIONS],
        credentials=[
            p.CredentialField(**field)
            for field in [*spec.CREDENTIALS, spec.AUTH_MODE]
        ],
        capabilities=[
            p.Capability(
                kind='logs',
                label=spec.CAPABILITY_LABEL,
                handler=LokiLogs,
                options=[p.PluginOption(**o) for o in spec.CAPABILITY_OPTIONS],
                hints=dict(spec.HINTS),
            )
        ],
    )


PLUGIN = LokiPluginV3
