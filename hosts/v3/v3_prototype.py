"""A small v3 plugin that proves the 2.41 host fixtures.

Loaded through ``IMBI_PLUGINS`` (``v3_prototype:PrototypePlugin``), not
the ``imbi_plugin_*`` convention, so it never joins a real registry
scan. It keeps its state in memory (module-level ``STORE`` and
``CALLS``) so a test can see what the host handed it: the context, the
decrypted credentials, the options on each tier.
"""

import datetime
import typing

from imbi.common.plugins import base, errors

#: Configuration values per (org, project, environment): key -> value.
STORE: dict[tuple[str, str, str | None], dict[str, base.ConfigValue]] = {}
#: Environments whose log search fails.
FAILING: set[str] = set()
#: Every call the host made: (method, ctx, credentials).
CALLS: list[tuple[str, base.PluginContext, dict[str, str]]] = []


def _record(
    method: str, ctx: base.PluginContext, credentials: dict[str, str]
) -> None:
    CALLS.append((method, ctx, dict(credentials)))


def _values(
    ctx: base.PluginContext,
) -> dict[str, base.ConfigValue]:
    return STORE.setdefault(
        (ctx.org_slug, ctx.project_slug, ctx.environment), {}
    )


class PrototypeConfiguration(base.ConfigurationCapability):
    async def list_keys(
        self, ctx: base.PluginContext, credentials: dict[str, str]
    ) -> list[base.ConfigKey]:
        _record('list_keys', ctx, credentials)
        return [
            base.ConfigKey(key=k, data_type=v.data_type, secret=v.secret)
            for k, v in sorted(_values(ctx).items())
        ]

    async def get_values(
        self,
        ctx: base.PluginContext,
        credentials: dict[str, str],
        keys: list[str] | None = None,
    ) -> list[base.ConfigKeyWithValue]:
        _record('get_values', ctx, credentials)
        return [
            base.ConfigKeyWithValue(
                key=k, data_type=v.data_type, secret=v.secret, value=v.value
            )
            for k, v in sorted(_values(ctx).items())
            if keys is None or k in keys
        ]

    async def set_value(
        self,
        ctx: base.PluginContext,
        credentials: dict[str, str],
        key: str,
        value: base.ConfigValue,
    ) -> base.ConfigKey:
        _record('set_value', ctx, credentials)
        _values(ctx)[key] = value
        return base.ConfigKey(
            key=key, data_type=value.data_type, secret=value.secret
        )

    async def delete_key(
        self, ctx: base.PluginContext, credentials: dict[str, str], key: str
    ) -> None:
        _record('delete_key', ctx, credentials)
        _values(ctx).pop(key, None)

    def describe_prefix(self, ctx: base.PluginContext) -> str | None:
        return f'{ctx.org_slug}/{ctx.project_slug}/{ctx.environment}'


class PrototypeLogs(base.LogsCapability):
    async def search(
        self,
        ctx: base.PluginContext,
        credentials: dict[str, str],
        query: base.LogQuery,
    ) -> base.LogResult:
        _record('search', ctx, credentials)
        if query.cursor == 'expired':
            raise errors.CursorExpiredError('that cursor has expired')
        if ctx.environment in FAILING:
            raise RuntimeError(f'{ctx.environment} is down')
        return base.LogResult(
            entries=[
                base.LogEntry(
                    timestamp=query.end_time - datetime.timedelta(seconds=1),
                    message=f'hello from {ctx.environment}',
                    level='INFO',
                )
            ],
            total=1,
        )

    async def schema(
        self, ctx: base.PluginContext, credentials: dict[str, str]
    ) -> list[dict[str, typing.Any]]:
        _record('schema', ctx, credentials)
        return [{'name': 'level', 'type': 'string'}]

    async def histogram(
        self,
        ctx: base.PluginContext,
        credentials: dict[str, str],
        query: base.LogQuery,
        bucket_count: int = 60,
    ) -> list[base.LogHistogramBucket]:
        _record('histogram', ctx, credentials)
        return [
            base.LogHistogramBucket(
                timestamp=query.start_time, count=2, levels={'INFO': 2}
            )
        ]


class PrototypeLifecycle(base.LifecycleCapability):
    """Only archive is implemented: the host reports the rest skipped."""

    async def on_project_archived(
        self, ctx: base.PluginContext, credentials: dict[str, str]
    ) -> base.LifecycleResult:
        _record('on_project_archived', ctx, credentials)
        return base.LifecycleResult(status='ok', message='archived')


SHA = 'a' * 40


class PrototypeDeployment(base.DeploymentCapability):
    """Read paths only; a deploy is not the prototype's business."""

    async def list_refs(
        self,
        ctx: base.PluginContext,
        credentials: dict[str, str],
        kind: typing.Literal['default', 'branch', 'tag', 'all'] = 'all',
        query: str | None = None,
    ) -> list[base.Ref]:
        _record('list_refs', ctx, credentials)
        return [base.Ref(name='main', kind='default', sha=SHA)]

    async def list_commits(
        self,
        ctx: base.PluginContext,
        credentials: dict[str, str],
        ref: str,
        limit: int = 25,
    ) -> list[base.Commit]:
        _record('list_commits', ctx, credentials)
        return [base.Commit(sha=SHA, short_sha=SHA[:7], message=ref)]

    async def resolve_committish(
        self,
        ctx: base.PluginContext,
        credentials: dict[str, str],
        committish: str,
    ) -> base.Commit:
        raise NotImplementedError

    async def compare(
        self,
        ctx: base.PluginContext,
        credentials: dict[str, str],
        base: str,
        head: str,
    ) -> base.CompareResult:
        raise NotImplementedError

    async def trigger_deployment(
        self,
        ctx: base.PluginContext,
        credentials: dict[str, str],
        ref_or_sha: str,
        inputs: dict[str, str] | None = None,
    ) -> base.DeploymentRun:
        _record('trigger_deployment', ctx, credentials)
        DISPATCHED.append((ref_or_sha, dict(inputs or {})))
        return base.DeploymentRun(run_id=str(len(DISPATCHED)), status='queued')

    async def get_deployment_status(
        self, ctx: base.PluginContext, credentials: dict[str, str], run_id: str
    ) -> base.DeploymentRun:
        _record('get_deployment_status', ctx, credentials)
        return base.DeploymentRun(run_id=run_id, status='success')


#: (ref, inputs) of every deployment the host triggered.
DISPATCHED: list[tuple[str, dict[str, str]]] = []


class PrototypeIdentity(base.IdentityCapability):
    """An OAuth-shaped flow whose IdP is this module: any code is good
    once (``CODES``)."""

    async def authorization_request(
        self,
        ctx: base.PluginContext,
        credentials: dict[str, str],
        redirect_uri: str,
        scopes: list[str] | None = None,
    ) -> base.AuthorizationRequest:
        _record('authorization_request', ctx, credentials)
        return base.AuthorizationRequest(
            authorization_url=f'https://idp.example.com/authorize?'
            f'redirect_uri={redirect_uri}',
            state='plugin-state',
            code_verifier='v' * 43,
        )

    async def exchange_code(
        self,
        ctx: base.PluginContext,
        credentials: dict[str, str],
        code: str,
        redirect_uri: str,
        code_verifier: str | None = None,
    ) -> tuple[base.IdentityProfile, base.IdentityCredentials]:
        _record('exchange_code', ctx, credentials)
        CODES.append((code, code_verifier))
        return (
            base.IdentityProfile(subject='42', raw_claims={'login': 'dev'}),
            base.IdentityCredentials(access_token=f'at-{code}'),
        )

    async def refresh(
        self,
        ctx: base.PluginContext,
        credentials: dict[str, str],
        refresh_token: str,
    ) -> base.IdentityCredentials:
        raise NotImplementedError


#: (code, code_verifier) of every exchange.
CODES: list[tuple[str, str | None]] = []


class PrototypePlugin(base.Plugin):
    manifest = base.PluginManifest(
        slug='prototype',
        name='Prototype',
        options=[base.PluginOption(name='url', label='URL')],
        credentials=[
            base.CredentialField(
                name='auth_mode',
                label='Authentication',
                required=False,
                secret=False,
            ),
            base.CredentialField(name='token', label='Token', required=False),
        ],
        capabilities=[
            base.Capability(
                kind='configuration',
                label='Configuration',
                options=[base.PluginOption(name='path', label='Path')],
                handler=PrototypeConfiguration,
            ),
            base.Capability(
                kind='logs',
                label='Logs',
                hints={'supports_histogram': True},
                handler=PrototypeLogs,
            ),
            base.Capability(
                kind='deployment',
                label='Deployment',
                handler=PrototypeDeployment,
            ),
            base.Capability(
                kind='identity',
                label='Identity',
                project_scoped=False,
                default_enabled=False,
                handler=PrototypeIdentity,
            ),
            base.Capability(
                kind='lifecycle',
                label='Lifecycle',
                hints={'lifecycle_events': ['archived']},
                handler=PrototypeLifecycle,
            ),
        ],
    )
