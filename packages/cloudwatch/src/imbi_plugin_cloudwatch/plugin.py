"""The CloudWatch Logs plugin: manifest and handler.

Only imbi_common and the standard library are imported here; the
modules that talk to AWS (and boto3 itself) load on the first call.
"""

import typing

from imbi_common.plugins import (
    CredentialField,
    LogHistogramBucket,
    LogQuery,
    LogResult,
    LogsPlugin,
    PluginContext,
    PluginManifest,
    PluginOption,
)

_LEVEL_FIELD = 'JSON field holding the level (message_format json)'
_MESSAGE_FIELD = 'JSON field holding the message (message_format json)'


class CloudWatchPlugin(LogsPlugin):
    """Project logs from AWS CloudWatch Logs, with a histogram."""

    manifest = PluginManifest(
        slug='cloudwatch',
        name='AWS CloudWatch Logs',
        description=(
            "Search a project's logs in CloudWatch Logs: FilterLogEvents "
            'where the query is a filter pattern, Logs Insights otherwise.'
        ),
        plugin_type='logs',
        api_version=1,
        supports_histogram=True,
        options=[
            PluginOption(
                name='region',
                label='AWS region',
                required=True,
                description='e.g. us-east-1',
            ),
            PluginOption(
                name='log_group_template',
                label='Log group template',
                default='/${org_slug}/${project_slug}',
                description='Log group name; ${project_slug}, ${org_slug}, '
                '${team_slug}, ${environment} and ${project_id} expand',
            ),
            PluginOption(
                name='log_stream_prefix_template',
                label='Log stream prefix template',
                description='Only streams starting with this (optional)',
            ),
            PluginOption(
                name='message_format',
                label='Message format',
                default='text',
                choices=['text', 'json'],
                description='json: fields inside messages are filterable '
                'and shown',
            ),
            PluginOption(
                name='level_field',
                label='Level field',
                default='level',
                description=_LEVEL_FIELD,
            ),
            PluginOption(
                name='message_field',
                label='Message field',
                default='message',
                description=_MESSAGE_FIELD,
            ),
            PluginOption(
                name='query_mode',
                label='Query mode',
                default='auto',
                choices=['auto', 'filter', 'insights'],
                description='auto: FilterLogEvents when the query '
                'translates exactly, else Logs Insights',
            ),
            PluginOption(
                name='base_filter',
                label='Base filter',
                description='Logs Insights expression every query of the '
                'project is narrowed by, e.g. @logStream like /^web-/ and '
                'not @message like /healthcheck/ (searches use Insights)',
            ),
            PluginOption(
                name='role_arn',
                label='Role ARN',
                description='Assume this IAM role (STS) before calling Logs',
            ),
            PluginOption(
                name='external_id',
                label='External ID',
                description="External ID the role's trust policy requires",
            ),
            PluginOption(
                name='endpoint_url',
                label='Endpoint URL',
                description='A stand-in or private endpoint for CloudWatch '
                'Logs',
            ),
            PluginOption(
                name='sts_endpoint_url',
                label='STS endpoint URL',
                description='With role_arn: a stand-in or private STS '
                "endpoint (default: AWS's STS endpoint of the region)",
            ),
            PluginOption(
                name='use_host_credentials',
                label='Use host credentials',
                type='boolean',
                default=False,
                description="Allow the host's own AWS credential chain "
                'when no keys are stored',
            ),
            PluginOption(
                name='allow_plain_http',
                label='Allow plain http',
                type='boolean',
                default=False,
                description='Use an http:// endpoint_url (loopback '
                'addresses are always allowed)',
            ),
            PluginOption(
                name='timeout_seconds',
                label='Timeout (seconds)',
                type='integer',
                default=8,
                description='Budget of one whole call',
            ),
        ],
        credentials=[
            CredentialField(
                name='access_key_id',
                label='Access key ID',
                required=False,
                description=(
                    'Access key ID of an IAM user (or of temporary keys); '
                    'with secret_access_key, or leave both empty to use '
                    "the host's AWS identity (use_host_credentials)"
                ),
            ),
            CredentialField(
                name='secret_access_key',
                label='Secret access key',
                required=False,
                description='The secret of access_key_id',
            ),
            CredentialField(
                name='session_token',
                label='Session token',
                required=False,
                description='Only for temporary keys',
            ),
        ],
    )

    async def search(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        query: LogQuery,
    ) -> LogResult:
        from imbi_plugin_cloudwatch import client, options, service

        opts = options.read_options(ctx)
        keys = client.resolve_keys(credentials, opts)
        return await service.within_budget(
            opts, service.search(opts, keys, query)
        )

    async def histogram(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        query: LogQuery,
        bucket_count: int = 60,
    ) -> list[LogHistogramBucket]:
        from imbi_plugin_cloudwatch import client, options, service

        opts = options.read_options(ctx)
        keys = client.resolve_keys(credentials, opts)
        return await service.within_budget(
            opts, service.histogram(opts, keys, query, bucket_count)
        )

    async def schema(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
    ) -> list[dict[str, typing.Any]]:
        from imbi_plugin_cloudwatch import client, options, service

        opts = options.read_options(ctx)
        keys = client.resolve_keys(credentials, opts)
        return await service.within_budget(opts, service.schema(opts, keys))
