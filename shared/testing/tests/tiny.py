"""Tiny plugin classes the harness tests drive (one per plugin type)."""

import asyncio
import types
import typing

import httpx
from imbi_common.plugins import (
    AuthorizationRequest,
    ConfigKey,
    ConfigKeyWithValue,
    ConfigurationPlugin,
    ConfigValue,
    CredentialField,
    CursorExpiredError,
    DataType,
    IdentityCredentials,
    IdentityPlugin,
    IdentityProfile,
    LogEntry,
    LogHistogramBucket,
    LogQuery,
    LogResult,
    LogsPlugin,
    PluginContext,
    PluginCredentialsMissing,
    PluginManifest,
    PluginOption,
    PluginTimeoutError,
    WebhookActionPlugin,
    base,
)
from imbi_common.plugins.errors import PluginAuthenticationFailed

TIMEOUT = PluginOption(name='timeout_seconds', label='Timeout', type='integer')
URL = PluginOption(name='url', label='URL')
TOKEN = CredentialField(name='token', label='Token')


def _budget(ctx: PluginContext) -> int:
    return int(ctx.assignment_options.get('timeout_seconds', 8))


class TinyConfig(ConfigurationPlugin):
    """A configuration plugin over an HTTP upstream with a /keys route."""

    manifest = PluginManifest(
        slug='tiny-config',
        name='Tiny',
        plugin_type='configuration',
        options=[URL, TIMEOUT],
        credentials=[TOKEN],
        data_types=[
            DataType(name='string', label='String'),
            DataType(name='secret', label='Secret', secret=True),
        ],
    )
    store: typing.ClassVar[dict[str, str]] = {}

    async def list_keys(
        self, ctx: PluginContext, credentials: dict[str, str]
    ) -> list[ConfigKey]:
        if not credentials.get('token'):
            raise PluginCredentialsMissing('token')
        try:
            async with asyncio.timeout(_budget(ctx)):
                async with httpx.AsyncClient() as client:
                    response = await client.get(
                        ctx.assignment_options['url'] + '/keys',
                        headers={'X-Token': credentials['token']},
                    )
        except TimeoutError as exc:
            raise PluginTimeoutError('upstream did not answer') from exc
        return [
            ConfigKey(key=key, data_type='string')
            for key in response.json()['keys']
        ]

    async def get_values(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        keys: list[str] | None = None,
    ) -> list[ConfigKeyWithValue]:
        return [
            ConfigKeyWithValue(key=k, value=v, data_type='string')
            for k, v in self.store.items()
            if keys is None or k in keys
        ]

    async def set_value(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        key: str,
        value: ConfigValue,
    ) -> ConfigKey:
        self.store[key] = value.value
        return ConfigKey(key=key, data_type=value.data_type)

    async def delete_key(
        self, ctx: PluginContext, credentials: dict[str, str], key: str
    ) -> None:
        self.store.pop(key, None)


class TinyLogs(LogsPlugin):
    """Logs whose entries and buckets come from class attributes."""

    manifest = PluginManifest(
        slug='tiny-logs',
        name='Tiny logs',
        plugin_type='logs',
        supports_histogram=True,
        options=[TIMEOUT],
    )
    failing: typing.ClassVar[set[str]] = set()
    entries: typing.ClassVar[dict[str, list[LogEntry]]] = {}
    buckets: typing.ClassVar[dict[str, list[LogHistogramBucket]]] = {}

    async def search(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        query: LogQuery,
    ) -> LogResult:
        env = ctx.environment or ''
        if env in self.failing:
            raise RuntimeError(f'{env} is down')
        if query.cursor == 'expired':
            raise CursorExpiredError('cursor expired')
        entries = self.entries.get(env, [])
        return LogResult(entries=entries[: query.limit], next_cursor='next')

    async def schema(
        self, ctx: PluginContext, credentials: dict[str, str]
    ) -> list[dict[str, typing.Any]]:
        return [{'name': 'message', 'label': 'Message', 'kind': 'message'}]

    async def histogram(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        query: LogQuery,
        bucket_count: int = 60,
    ) -> list[LogHistogramBucket]:
        env = ctx.environment or ''
        if env in self.failing:
            raise RuntimeError(f'{env} is down')
        return self.buckets.get(env, [])


class TinyIdentity(IdentityPlugin):
    manifest = PluginManifest(
        slug='tiny-identity',
        name='Tiny identity',
        plugin_type='identity',
        auth_type='oauth2',
        default_scopes=['read'],
        options=[TIMEOUT],
        credentials=[
            CredentialField(name='client_id', label='Client id'),
            CredentialField(name='client_secret', label='Client secret'),
        ],
    )

    async def authorization_request(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        redirect_uri: str,
        scopes: list[str] | None = None,
    ) -> AuthorizationRequest:
        return AuthorizationRequest(
            authorization_url=(
                'https://idp.example/authorize?client_id=abc&state=mine'
                f'&scope={"+".join(scopes or [])}'
            ),
            state='mine',
            code_verifier='verifier-' + redirect_uri[-4:],
        )

    async def exchange_code(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        code: str,
        redirect_uri: str,
        code_verifier: str | None = None,
    ) -> tuple[IdentityProfile, IdentityCredentials]:
        if code == 'bad':
            raise ValueError('The code passed is incorrect or expired.')
        return (
            IdentityProfile(subject='42', raw_claims={'v': code_verifier}),
            IdentityCredentials(
                access_token='access-' + code, refresh_token='refresh-1'
            ),
        )

    async def refresh(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        refresh_token: str,
    ) -> IdentityCredentials:
        if refresh_token == 'dead':
            raise PluginAuthenticationFailed('bad_refresh_token')
        return IdentityCredentials(
            access_token='access-2', refresh_token='refresh-2'
        )


class TinyDeploy(base.DeploymentPlugin):
    """Deployment plugin recording what the host passed it."""

    manifest = PluginManifest(
        slug='tiny-deploy',
        name='Tiny deploy',
        plugin_type='deployment',
        options=[TIMEOUT],
        credentials=[CredentialField(name='token', label='T', required=False)],
    )
    seen: typing.ClassVar[list[typing.Any]] = []
    valid_tokens: typing.ClassVar[set[str]] = set()

    async def list_refs(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        kind: typing.Literal['default', 'branch', 'tag', 'all'] = 'all',
        query: str | None = None,
    ) -> list[base.Ref]:
        token = credentials.get('access_token') or credentials.get('token')
        if self.valid_tokens and token not in self.valid_tokens:
            raise PluginAuthenticationFailed('401 Bad credentials')
        self.seen.append((dict(credentials), ctx))
        return [base.Ref(name='main', kind='default', sha='a' * 40)]

    async def list_commits(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        ref: str,
        limit: int = 25,
    ) -> list[base.Commit]:
        raise NotImplementedError

    async def resolve_committish(
        self, ctx: PluginContext, credentials: dict[str, str], committish: str
    ) -> base.Commit:
        raise NotImplementedError

    async def compare(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        base_ref: str,
        head: str,
    ) -> base.CompareResult:
        raise NotImplementedError

    async def trigger_deployment(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        ref_or_sha: str,
        inputs: dict[str, str] | None = None,
    ) -> base.DeploymentRun:
        self.seen.append((ref_or_sha, inputs))
        return base.DeploymentRun(run_id='1')

    async def get_deployment_status(
        self, ctx: PluginContext, credentials: dict[str, str], run_id: str
    ) -> base.DeploymentRun:
        raise NotImplementedError


class TinyLifecycle(base.LifecyclePlugin):
    manifest = PluginManifest(
        slug='tiny-lifecycle',
        name='Tiny lifecycle',
        plugin_type='lifecycle',
        options=[TIMEOUT],
    )
    behaviour: typing.ClassVar[str] = 'ok'

    async def on_project_archived(
        self, ctx: PluginContext, credentials: dict[str, str]
    ) -> base.LifecycleResult:
        if self.behaviour == 'raise':
            raise RuntimeError('GitHub is down')
        if self.behaviour == 'not-implemented':
            raise NotImplementedError('no archive')
        return base.LifecycleResult(status='ok', message='archived')


class TinyWebhook(WebhookActionPlugin):
    """Both webhook styles: run_action and an actions() catalog."""

    manifest = PluginManifest(
        slug='tiny-webhook',
        name='Tiny webhook',
        plugin_type='webhook',
        options=[TIMEOUT],
        credentials=[TOKEN],
    )
    calls: typing.ClassVar[list[dict[str, typing.Any]]] = []

    async def run_action(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        external_identifier: str,
        action: str,
        action_config: str,
        payload: object,
    ) -> None:
        if action != 'sync':
            raise ValueError(
                f'unknown action {action!r} for {external_identifier}'
            )
        self.calls.append({'id': external_identifier, 'config': action_config})

    @classmethod
    def actions(cls) -> list[typing.Any]:
        descriptor = getattr(base, 'ActionDescriptor', None)
        if descriptor is None:
            # Before 2.5.1 there is no ActionDescriptor; the host model
            # reads the same attributes from a resolved stand-in.
            import tiny_actions

            return [
                types.SimpleNamespace(
                    name='sync',
                    callable=tiny_actions.sync,
                    config_model=tiny_actions.SyncConfig,
                )
            ]
        return [
            descriptor(
                name='sync',
                label='Sync',
                callable='tiny_actions:sync',
                config_model='tiny_actions:SyncConfig',
            )
        ]
