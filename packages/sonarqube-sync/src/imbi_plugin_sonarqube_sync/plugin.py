"""The v1 entry point (imbi-common 2.3-2.11): manifest and plugin class.

Only v1 hosts import this module (entry point ``imbi.plugins``), so it
takes the v1 classes from ``imbi_common.plugins`` directly. Loads on
imbi-common 2.3.0 through 2.11.x: ``run_action`` is the abstract method
up to 2.5.0, the classmethod ``actions()`` from 2.5.1 on. Both lead to
:mod:`imbi_plugin_sonarqube_sync.actions`.
"""

from imbi_common.plugins import (
    CredentialField,
    PluginContext,
    PluginManifest,
    PluginOption,
    WebhookActionPlugin,
)

from imbi_plugin_sonarqube_sync import spec
from imbi_plugin_sonarqube_sync.handler import SonarQubeHandler

ACTION = spec.ACTION

MANIFEST = PluginManifest(
    slug=spec.SLUG_V1,
    name=spec.NAME,
    description=spec.DESCRIPTION,
    plugin_type='webhook',
    api_version=1,
    options=[PluginOption(**option) for option in spec.options()],
    credentials=[CredentialField(**field) for field in spec.v1_credentials()],
)


class SonarQubePlugin(SonarQubeHandler, WebhookActionPlugin):
    """Keeps Imbi projects in step with SonarQube analyses."""

    manifest = MANIFEST

    async def run_action(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        external_identifier: str,
        action: str,
        action_config: str,
        payload: object,
    ) -> None:
        """The imbi-common 2.3.0-2.5.0 entry: dispatch on ``action``."""
        if action != spec.ACTION:
            raise ValueError(
                f'sonarqube has no action {action!r}; it offers '
                f'{spec.ACTION!r}'
            )
        from imbi_plugin_sonarqube_sync import actions

        await actions.run(
            ctx, credentials, external_identifier, action_config, payload
        )
