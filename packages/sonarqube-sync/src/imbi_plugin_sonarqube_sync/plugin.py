"""SonarQube webhook plugin: manifest and handler class.

Loads on imbi-common 2.3.0 through 2.11.x: ``run_action`` is the abstract
method up to 2.5.0, the classmethod ``actions()`` from 2.5.1 on. Both
lead to :mod:`imbi_plugin_sonarqube_sync.actions`.
"""

import typing

from imbi_common.plugins import (
    CredentialField,
    PluginContext,
    PluginManifest,
    PluginOption,
    WebhookActionPlugin,
)

ACTION = 'update_project_from_webhook'

MANIFEST = PluginManifest(
    slug='sonarqube',
    name='SonarQube',
    description=(
        'Writes SonarQube measures and the quality gate status onto the '
        'Imbi project when SonarQube reports a finished analysis.'
    ),
    plugin_type='webhook',
    api_version=1,
    options=[
        PluginOption(
            name='imbi_url',
            label='Imbi API URL',
            description=(
                'Imbi API base URL; defaults to the imbi_url credential'
            ),
            type='string',
        ),
        PluginOption(
            name='sonarqube_url',
            label='SonarQube URL',
            description=(
                "SonarQube base URL; defaults to the gateway's "
                'service_endpoint. Never taken from the payload.'
            ),
            type='string',
        ),
        PluginOption(
            name='sonarqube_auth',
            label='SonarQube authentication',
            description='bearer (SonarQube 10+) or basic (9.9 and older)',
            type='string',
            default='bearer',
            choices=['bearer', 'basic'],
        ),
        PluginOption(
            name='timeout_seconds',
            label='Timeout (seconds)',
            description='Budget of one whole action',
            type='integer',
            default=8,
        ),
        PluginOption(
            name='allow_plain_http',
            label='Allow plain http',
            type='boolean',
            default=False,
            description='Send tokens to an http:// sonarqube_url or '
            'imbi_url (loopback addresses are always allowed)',
        ),
    ],
    credentials=[
        CredentialField(
            name='api_token',
            label='SonarQube user token',
            description=(
                'A user token (squ_...) with Browse on the projects; '
                'analysis tokens cannot read measures'
            ),
        ),
        CredentialField(
            name='imbi_api_key',
            label='Imbi API key',
            description='An Imbi API key allowed to update projects',
        ),
        CredentialField(
            name='imbi_url',
            label='Imbi API URL',
            description=(
                'Imbi API base URL, for gateways that pass no plugin options'
            ),
            required=False,
        ),
    ],
)


class SonarQubePlugin(WebhookActionPlugin):
    """Keeps Imbi projects in step with SonarQube analyses."""

    manifest = MANIFEST

    @classmethod
    def actions(cls) -> list[typing.Any]:
        """The action catalog imbi-common 2.5.1+ reads at load."""
        try:
            from imbi_common.plugins.base import (  # type: ignore[attr-defined,unused-ignore]
                ActionDescriptor,
            )
        except ImportError:
            raise NotImplementedError(
                'actions() needs imbi-common 2.5.1 or later; older hosts '
                'call run_action'
            ) from None
        return [
            ActionDescriptor(
                name=ACTION,
                label='Update project from SonarQube webhook',
                description=(
                    "Reads the analysed branch's measures (and quality "
                    'gate) from SonarQube and writes them onto the Imbi '
                    'project with one JSON Patch.'
                ),
                callable=(
                    'imbi_plugin_sonarqube_sync.actions:update_project_from_webhook'
                ),
                config_model='imbi_plugin_sonarqube_sync.config:UpdateProjectConfig',
            )
        ]

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
        if action != ACTION:
            raise ValueError(
                f'sonarqube has no action {action!r}; it offers {ACTION!r}'
            )
        from imbi_plugin_sonarqube_sync import actions

        await actions.run(
            ctx, credentials, external_identifier, action_config, payload
        )
