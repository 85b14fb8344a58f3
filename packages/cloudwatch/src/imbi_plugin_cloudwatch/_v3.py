"""The v3 plugin (imbi-common 2.12+), reached only through ``PLUGIN``.

The AWS account side is Integration options and the per-project log
groups and formats capability options (see ``spec``). An Integration on
the host's own AWS identity stores ``auth_mode`` only: v3 hosts refuse
an empty credential blob.
"""

from imbi_plugin_cloudwatch import _host, spec
from imbi_plugin_cloudwatch.handler import CloudWatchHandler

p = _host.api()


class CloudWatchLogs(CloudWatchHandler, p.LogsCapability):  # type: ignore[misc,name-defined]
    """The ``logs`` capability: search, schema and histogram."""


class CloudWatchPluginV3(p.Plugin):  # type: ignore[misc,name-defined]
    """AWS CloudWatch Logs for v3 hosts."""

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
                handler=CloudWatchLogs,
                options=[p.PluginOption(**o) for o in spec.CAPABILITY_OPTIONS],
                hints=dict(spec.HINTS),
            )
        ],
    )


PLUGIN = CloudWatchPluginV3
