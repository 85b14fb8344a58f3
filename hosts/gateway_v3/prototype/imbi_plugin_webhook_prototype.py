"""A tiny v3 webhook-actions plugin, for the gateway v3 host tests only.

It proves the gateway's stand-ins (graph, event recorder) and the test
wiring independently of our real plugin: found by the real registry's
convention scan (``imbi_plugin_*`` on ``sys.path``, as an installed
plugin is), dispatched by the gateway's own delivery route. Its one
action does what ours does in miniature: read the analysed project's
coverage from SonarQube and write it onto the Imbi project with one
JSON Patch, taking the URLs from the Integration's options and the
capability's options and the tokens from the Integration's credentials.
"""

import typing

import httpx
import pydantic
from imbi.common.plugins import (
    ActionDescriptor,
    Capability,
    CredentialField,
    Plugin,
    PluginContext,
    PluginManifest,
    PluginOption,
    WebhookActionsCapability,
)

SLUG = 'webhook-prototype'
ACTION = 'write_coverage'


class CoverageConfig(pydantic.BaseModel):
    """The rule's ``handler_config``: where the coverage goes."""

    model_config = pydantic.ConfigDict(extra='forbid')

    path: str = pydantic.Field(pattern=r'^/[a-z_]+$')


def _options(ctx: PluginContext) -> dict[str, typing.Any]:
    # The gateway leaves assignment_options empty and does not merge the
    # Integration's options with the capability's: both are read here.
    return {
        **(ctx.integration_options or {}),
        **(ctx.capability_options or {}),
    }


async def write_coverage(
    *,
    ctx: PluginContext,
    credentials: dict[str, str],
    external_identifier: str,
    action_config: CoverageConfig,
    event: dict[str, typing.Any],
    **_later: object,
) -> None:
    """Copy the project's SonarQube coverage to ``action_config.path``."""
    options = _options(ctx)
    branch = event['payload']['branch']['name']
    async with httpx.AsyncClient(timeout=5) as client:
        measures = await client.get(
            f'{options["sonarqube_url"]}/api/measures/component',
            params={
                'component': external_identifier,
                'metricKeys': 'coverage',
                'branch': branch,
            },
            headers={'Authorization': f'Bearer {credentials["api_token"]}'},
        )
        _check(measures, 'SonarQube')
        value = measures.json()['component']['measures'][0]['value']
        patched = await client.patch(
            f'{options["imbi_url"]}/organizations/{ctx.org_slug}'
            f'/projects/{ctx.project_id}',
            json=[
                {
                    'op': 'add',
                    'path': action_config.path,
                    'value': float(value),
                }
            ],
            headers={'Authorization': f'Bearer {credentials["imbi_api_key"]}'},
        )
        _check(patched, 'the Imbi API')


def _check(response: httpx.Response, upstream: str) -> None:
    # Not raise_for_status(): its exception carries the request, and the
    # request its Authorization header, to whatever reports the error.
    if response.is_error:
        raise RuntimeError(f'{upstream} answered {response.status_code}')


class PrototypeActions(WebhookActionsCapability):
    @classmethod
    def actions(cls) -> list[ActionDescriptor]:
        return [
            ActionDescriptor(
                name=ACTION,
                label='Write coverage',
                description='Copies SonarQube coverage onto the project.',
                callable=typing.cast(typing.Any, f'{__name__}:write_coverage'),
                config_model=typing.cast(
                    typing.Any, f'{__name__}:CoverageConfig'
                ),
            )
        ]


class PrototypePlugin(Plugin):
    manifest = PluginManifest(
        slug=SLUG,
        name='Webhook prototype',
        options=[
            PluginOption(
                name='sonarqube_url', label='SonarQube URL', type='string'
            ),
            PluginOption(name='imbi_url', label='Imbi API URL', type='string'),
        ],
        credentials=[
            CredentialField(name='api_token', label='SonarQube token'),
            CredentialField(name='imbi_api_key', label='Imbi API key'),
        ],
        capabilities=[
            Capability(
                kind='webhook-actions',
                label='Webhook actions',
                handler=PrototypeActions,
            )
        ],
    )


PLUGIN = PrototypePlugin
