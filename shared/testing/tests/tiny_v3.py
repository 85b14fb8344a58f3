"""Tiny v3 plugins (imbi-common 2.12+) the harness's v3 tests drive.

Imported only by ``test_v3_*`` files: a v1 imbi-common has none of these
classes.
"""

import asyncio
import typing

import httpx
import pydantic
from imbi_plugin_testing import _host

p = _host.api()

TIMEOUT = p.PluginOption(
    name='timeout_seconds', label='Timeout', type='integer'
)
URL = p.PluginOption(name='url', label='URL')
FOLDER = p.PluginOption(name='folder', label='Folder')
TOKEN = p.CredentialField(name='token', label='Token')


def _options(ctx: typing.Any) -> dict[str, typing.Any]:
    return {
        **ctx.integration_options,
        **ctx.capability_options,
        **ctx.assignment_options,
    }


class TinyConfigHandler(p.ConfigurationCapability):  # type: ignore[misc,name-defined]
    """Keys from an HTTP upstream's /keys route; records its contexts."""

    seen: typing.ClassVar[list[typing.Any]] = []

    async def list_keys(
        self, ctx: typing.Any, credentials: dict[str, str]
    ) -> list[typing.Any]:
        self.seen.append(ctx)
        if not credentials.get('token'):
            raise p.PluginCredentialsMissing('token')
        options = _options(ctx)
        try:
            async with asyncio.timeout(int(options['timeout_seconds'])):
                async with httpx.AsyncClient() as client:
                    response = await client.get(
                        options['url'] + '/keys',
                        headers={'X-Token': credentials['token']},
                    )
        except TimeoutError as exc:
            raise p.PluginTimeoutError('upstream did not answer') from exc
        return [
            p.ConfigKey(key=key, data_type='string')
            for key in response.json()['keys']
        ]

    async def get_values(
        self,
        ctx: typing.Any,
        credentials: dict[str, str],
        keys: list[str] | None = None,
    ) -> list[typing.Any]:
        # PluginInstallationMissing came with imbi-common 2.31.
        missing = _host.optional('PluginInstallationMissing')
        if missing is None:
            raise p.PluginUnavailableError('the App is not installed')
        raise missing('the App is not installed')

    async def set_value(
        self,
        ctx: typing.Any,
        credentials: dict[str, str],
        key: str,
        value: typing.Any,
    ) -> typing.Any:
        return p.ConfigKey(key=key, data_type=value.data_type)

    async def delete_key(
        self, ctx: typing.Any, credentials: dict[str, str], key: str
    ) -> None:
        return None


class TinyConfig(p.Plugin):  # type: ignore[misc,name-defined]
    manifest = p.PluginManifest(
        slug='tiny-config',
        name='Tiny',
        options=[URL, TIMEOUT],
        credentials=[TOKEN],
        data_types=[
            p.DataType(name='string', label='String'),
            p.DataType(name='secret', label='Secret', secret=True),
        ],
        capabilities=[
            p.Capability(
                kind='configuration',
                label='Configuration',
                handler=TinyConfigHandler,
                options=[FOLDER],
            )
        ],
    )


class TinyLifecycleHandler(p.LifecycleCapability):  # type: ignore[misc,name-defined]
    """Implements archiving only: the other hooks stay the base's."""

    async def on_project_archived(
        self, ctx: typing.Any, credentials: dict[str, str]
    ) -> typing.Any:
        return p.LifecycleResult(status='ok', message='archived')


class TinyLifecycle(p.Plugin):  # type: ignore[misc,name-defined]
    manifest = p.PluginManifest(
        slug='tiny-lifecycle',
        name='Tiny lifecycle',
        credentials=[TOKEN],
        capabilities=[
            p.Capability(
                kind='lifecycle',
                label='Lifecycle',
                handler=TinyLifecycleHandler,
                hints={'lifecycle_events': ['archived']},
            )
        ],
    )


class TinyWebhookHandler(p.WebhookActionsCapability):  # type: ignore[misc,name-defined]
    @classmethod
    def actions(cls) -> list[typing.Any]:
        return [
            p.ActionDescriptor(
                name='record',
                label='Record',
                description='Records what the gateway passed',
                callable='tiny_v3:record',
                config_model='tiny_v3:RecordConfig',
            )
        ]


class TinyWebhook(p.Plugin):  # type: ignore[misc,name-defined]
    manifest = p.PluginManifest(
        slug='tiny-webhook',
        name='Tiny webhook',
        options=[URL],
        credentials=[TOKEN],
        capabilities=[
            p.Capability(
                kind='webhook-actions',
                label='Webhook actions',
                handler=TinyWebhookHandler,
            )
        ],
    )


class RecordConfig(pydantic.BaseModel):
    label: str = 'x'


RECORDED: list[dict[str, typing.Any]] = []


async def record(**kwargs: typing.Any) -> None:
    RECORDED.append(kwargs)
