"""The v3 plugin (imbi-common 2.12+): one ``webhook-actions`` capability.

Imported only through ``imbi_plugin_sonarqube_sync.PLUGIN``, which v3
registries read; v1 hosts never import it. Every class comes from the
host's own plugin API through ``_host``.
"""

from imbi_plugin_sonarqube_sync import _host, spec
from imbi_plugin_sonarqube_sync.handler import SonarQubeHandler

p = _host.api()


class SonarQubeWebhookActions(SonarQubeHandler, p.WebhookActionsCapability):  # type: ignore[misc,name-defined]
    """The gateway's ``sonarqube-sync#update_project_from_webhook``."""


class SonarQubePluginV3(p.Plugin):  # type: ignore[misc,name-defined]
    """The plugin as v3 registries list it (slug ``sonarqube-sync``)."""

    manifest = p.PluginManifest(
        slug=spec.SLUG_V3,
        name=spec.NAME,
        description=spec.DESCRIPTION,
        api_version=2,
        auth_type=spec.AUTH_TYPE,
        options=[p.PluginOption(**o) for o in spec.INTEGRATION_OPTIONS],
        credentials=[p.CredentialField(**c) for c in spec.CREDENTIALS],
        capabilities=[
            p.Capability(
                kind='webhook-actions',
                label=spec.CAPABILITY_LABEL,
                description=spec.DESCRIPTION,
                handler=SonarQubeWebhookActions,
                options=[p.PluginOption(**o) for o in spec.CAPABILITY_OPTIONS],
            )
        ],
    )


PLUGIN = SonarQubePluginV3
