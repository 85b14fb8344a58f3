"""The Grafana Loki logs handler, shared by the v1 plugin and v3.

The methods take the host's models and errors from ``_host``, so each
generation's host gets its own classes back.
"""

import asyncio
import collections.abc
import datetime
import math
import typing

from imbi_plugin_loki import _host
from imbi_plugin_loki._host import (
    LogHistogramBucket,
    LogQuery,
    LogResult,
    PluginContext,
    PluginTimeoutError,
)

if typing.TYPE_CHECKING:
    from imbi_plugin_loki import auth, cursor, options, results
    from imbi_plugin_loki import query as translate
    from imbi_plugin_loki.client import LokiClient
else:
    # Loaded by the first call, not at the host's start-up.
    auth = _host.deferred('imbi_plugin_loki.auth')
    cursor = _host.deferred('imbi_plugin_loki.cursor')
    options = _host.deferred('imbi_plugin_loki.options')
    results = _host.deferred('imbi_plugin_loki.results')
    translate = _host.deferred('imbi_plugin_loki.query')

_SCHEMA_WINDOW = datetime.timedelta(hours=1)
_SCHEMA_SAMPLE = 200
_NS_PER_SECOND = 1_000_000_000


class LokiHandler:
    """Search, describe and chart a project's logs in Grafana Loki."""

    async def search(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        query: LogQuery,
    ) -> LogResult:
        opts, authorization = _prepare(ctx, credentials)
        selector = _selector(opts, ctx)
        logql = _logql(opts, selector, query)
        start_ns, end_ns = _window(query)
        if not 1 <= query.limit <= results.MAX_ENTRIES:
            raise ValueError(f'limit must be 1..{results.MAX_ENTRIES}')
        key = cursor.fingerprint(logql, opts.tenant, opts.url)
        page = results.Page(key=key, limit=query.limit, start=start_ns)
        if query.cursor:
            # The cursor's own start, not this request's: see cursor.py.
            position = cursor.decode(key, query.cursor)
            start_ns = position.start_ns
            page = results.Page(
                key,
                query.limit,
                start_ns,
                position.boundary_ns,
                position.seen,
            )
            if position.boundary_ns < start_ns:
                # Stepped past the first instant of the range: nothing left.
                return LogResult(entries=[])
        params = {
            'query': logql,
            'start': str(start_ns),
            # Loki excludes ``end``; after a page, one past the boundary.
            'end': str(end_ns if page.boundary is None else page.boundary + 1),
            'limit': str(page.request_limit),
            'direction': 'backward',
        }

        async def call(client: LokiClient) -> typing.Any:
            return await client.get('/loki/api/v1/query_range', params)

        data = await _within_budget(opts, authorization, call)
        return results.search_result(
            data,
            page,
            opts.level_field,
            None if opts.line_format == 'raw' else opts.message_field,
        )

    async def schema(
        self, ctx: PluginContext, credentials: dict[str, str]
    ) -> list[dict[str, typing.Any]]:
        opts, authorization = _prepare(ctx, credentials)
        selector = _selector(opts, ctx)
        end = datetime.datetime.now(datetime.UTC)
        window = {
            'start': str(results.to_ns(end - _SCHEMA_WINDOW)),
            'end': str(results.to_ns(end)),
        }

        async def call(client: LokiClient) -> list[typing.Any]:
            answers = [
                await client.get(
                    '/loki/api/v1/labels', {'query': selector, **window}
                )
            ]
            if opts.line_format != 'raw':
                sample = translate.log_query(selector, f'| {opts.line_format}')
                answers.append(
                    await client.get(
                        '/loki/api/v1/query_range',
                        {
                            'query': sample,
                            'limit': str(_SCHEMA_SAMPLE),
                            'direction': 'backward',
                            **window,
                        },
                    )
                )
            return answers

        answers = await _within_budget(opts, authorization, call)
        labels = results.label_names(answers[0])
        fields = (
            results.sampled_fields(answers[1], {'message', *labels})
            if len(answers) > 1
            else []
        )
        ops = translate.schema_ops()
        return (
            [results.schema_entry('message', 'message', ops)]
            + [results.schema_entry(n, 'label', ops) for n in sorted(labels)]
            + [results.schema_entry(n, 'field', ops) for n in fields]
        )

    async def histogram(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        query: LogQuery,
        bucket_count: int = 60,
    ) -> list[LogHistogramBucket]:
        opts, authorization = _prepare(ctx, credentials)
        if not 1 <= bucket_count <= 1440:
            raise ValueError('bucket_count must be 1..1440')
        selector = _selector(opts, ctx)
        pipeline = _pipeline(opts, query, metric=True)
        start_ns, end_ns = _window(query)
        step_s = max(
            1, math.ceil((end_ns - start_ns) / (bucket_count * _NS_PER_SECOND))
        )
        step_ns = step_s * _NS_PER_SECOND
        # Loki counts (t - offset - step, t - offset] at each point t; the
        # points go on multiples of step (where Loki's query frontend
        # moves them anyway) and the offset shifts each window onto
        # [start + k*step, start + (k+1)*step), whose last instant is
        # start + (k+1)*step - 1ns.
        first_end = start_ns + step_ns - 1
        first_point = -(-first_end // step_ns) * step_ns
        params = {
            'query': translate.histogram_query(
                opts, selector, pipeline, step_s, first_point - first_end
            ),
            'start': str(first_point),
            'end': str(first_point + bucket_count * step_ns - 1),
            'step': str(step_s),
        }

        async def call(client: LokiClient) -> typing.Any:
            return await client.get('/loki/api/v1/query_range', params)

        data = await _within_budget(opts, authorization, call)
        return results.histogram_buckets(
            data,
            results.Grid(start_ns, first_point, step_ns, bucket_count),
            opts.level_field,
        )


def _prepare(
    ctx: PluginContext, credentials: dict[str, str]
) -> tuple[options.Options, str | None]:
    authorization = auth.authorization(credentials)
    return options.read_options(options.raw(ctx)), authorization


def _selector(opts: options.Options, ctx: PluginContext) -> str:
    """The project's selector; a ``ValueError`` names the option."""
    try:
        return translate.build_selector(opts.selector_template, ctx)
    except ValueError as exc:
        raise ValueError(f"option 'selector_template': {exc}") from None


def _pipeline(
    opts: options.Options, log_query: LogQuery, *, metric: bool = False
) -> str:
    return translate.build_pipeline(
        opts, log_query.filters, log_query.levels, metric=metric
    )


def _logql(opts: options.Options, selector: str, log_query: LogQuery) -> str:
    return translate.log_query(selector, _pipeline(opts, log_query))


def _window(log_query: LogQuery) -> tuple[int, int]:
    start_ns = results.to_ns(log_query.start_time)
    end_ns = results.to_ns(log_query.end_time)
    if start_ns >= end_ns:
        raise ValueError('the start time must be before the end time')
    return start_ns, end_ns


async def _within_budget[T](
    opts: options.Options,
    authorization: str | None,
    call: collections.abc.Callable[[LokiClient], collections.abc.Awaitable[T]],
) -> T:
    """Run ``call`` with a client, the whole of it inside the budget."""
    from imbi_plugin_loki.client import LokiClient

    budget = float(opts.timeout_seconds)
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(budget):
            async with LokiClient(
                opts, authorization, loop.time() + budget
            ) as client:
                return await call(client)
    except TimeoutError:
        raise PluginTimeoutError(
            f'Loki did not answer within {opts.timeout_seconds}s'
        ) from None
