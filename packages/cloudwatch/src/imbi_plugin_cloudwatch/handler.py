"""The CloudWatch Logs handler, shared by the v1 plugin and v3.

Only ``_host`` (imbi-common) and the standard library are imported
here; the modules that talk to AWS (and boto3 itself) load on the first
call. The methods take the host's models from ``_host``, so each
generation's host gets its own classes back.
"""

import typing

from imbi_plugin_cloudwatch._host import (
    LogHistogramBucket,
    LogQuery,
    LogResult,
    PluginContext,
)


class CloudWatchHandler:
    """Project logs from AWS CloudWatch Logs, with a histogram."""

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
