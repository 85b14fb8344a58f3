"""A small v3 plugin that proves the 2.41 host fixtures.

Loaded through ``IMBI_PLUGINS`` (``v3_prototype:PrototypePlugin``), not
the ``imbi_plugin_*`` convention, so it never joins a real registry
scan. It keeps its state in memory (module-level ``STORE`` and
``CALLS``) so a test can see what the host handed it: the context, the
decrypted credentials, the options on each tier.
"""

import datetime
import typing

from imbi.common.plugins import base

#: Configuration values per (org, project, environment): key -> value.
STORE: dict[tuple[str, str, str | None], dict[str, base.ConfigValue]] = {}
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
                kind='lifecycle',
                label='Lifecycle',
                hints={'lifecycle_events': ['archived']},
                handler=PrototypeLifecycle,
            ),
        ],
    )
