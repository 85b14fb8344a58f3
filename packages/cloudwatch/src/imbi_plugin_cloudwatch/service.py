"""search, histogram and schema: translation, AWS calls and conversion.

Imported by the plugin's methods on first use (it pulls in the client
module, which imports boto3 lazily in turn).
"""

import asyncio
import dataclasses
import datetime
import json
import math
import time
import typing

from imbi_plugin_cloudwatch import cursor, query
from imbi_plugin_cloudwatch._host import (
    CursorExpiredError,
    LogEntry,
    LogHistogramBucket,
    LogQuery,
    LogResult,
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_cloudwatch.client import AwsKeys, Calls

if typing.TYPE_CHECKING:
    import collections.abc

    from imbi_plugin_cloudwatch.options import Options

#: FilterLogEvents' and Insights' largest page.
MAX_ROWS = 10000
#: Stop paging FilterLogEvents (and hand out a cursor) with this share of
#: the budget left, so the answer still arrives in time.
SOFT_BUDGET_SHARE = 0.15
BUDGET_WARNING = (
    'CloudWatch Logs was still searching when the time budget ran low: '
    'more entries may follow; continue with next_cursor'
)
OLD_BOTOCORE = (
    "the installed botocore's FilterLogEvents has no startFromHead "
    '(added in botocore 1.44.0), so CloudWatch would answer oldest first'
)
_INSIGHTS_TIME = '%Y-%m-%d %H:%M:%S.%f'
_FILTER_OPS = list(query.OPS)
_STANDARD_FIELDS: list[dict[str, typing.Any]] = [
    {
        'name': '@timestamp',
        'label': 'Timestamp',
        'kind': 'timestamp',
        'ops': [],
    },
    {
        'name': '@message',
        'label': 'Message',
        'kind': 'message',
        'ops': _FILTER_OPS,
    },
    {
        'name': '@logStream',
        'label': 'Log stream',
        'kind': 'label',
        'ops': _FILTER_OPS,
    },
]


async def within_budget[T](
    options: Options, work: collections.abc.Awaitable[T]
) -> T:
    """Run ``work`` inside the ``timeout_seconds`` budget."""
    try:
        async with asyncio.timeout(options.timeout_seconds):
            return await work
    except TimeoutError:
        raise PluginTimeoutError(
            f'CloudWatch Logs did not finish within {options.timeout_seconds}'
            ' s (timeout_seconds)'
        ) from None


#: Deeper JSON messages stay text: pydantic (the host's serialiser)
#: refuses structures much deeper than this.
MAX_JSON_DEPTH = 64


def _depth(value: typing.Any) -> int:
    """How deeply ``value`` nests lists and objects (iteratively)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: typing.Iterable[typing.Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _datetime(ms: int) -> datetime.datetime:
    try:
        return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    except OverflowError, ValueError, OSError:
        raise PluginUnavailableError(
            'CloudWatch Logs answered a time out of range'
        ) from None


def _insights_ms(value: str) -> int:
    moment = datetime.datetime.strptime(value, _INSIGHTS_TIME)
    return query.to_ms(moment.replace(tzinfo=datetime.UTC))


def _lookup(fields: dict[str, typing.Any], path: str) -> typing.Any:
    value: typing.Any = fields
    for part in path.split('.'):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _entry(
    options: Options,
    timestamp_ms: int,
    message: str,
    raw: dict[str, typing.Any],
) -> LogEntry:
    level: str | None
    shown = message
    if options.message_format == 'json':
        try:
            parsed = json.loads(message)
        except ValueError, RecursionError:
            parsed = None
        if isinstance(parsed, dict) and _depth(parsed) > MAX_JSON_DEPTH:
            # The host could not serialise it back: shown as text.
            parsed = None
        if isinstance(parsed, dict):
            raw['fields'] = parsed
            found = _lookup(parsed, options.level_field)
            level = query.normalize_level(
                found if isinstance(found, str) else None
            )
            text = _lookup(parsed, options.message_field)
            shown = text if isinstance(text, str) else message
        else:
            level = None
    else:
        level = query.text_level(message)
    return LogEntry(
        timestamp=_datetime(timestamp_ms), message=shown, level=level, raw=raw
    )


def _plan(
    translation: query.Translation, options: Options, newest_first: bool
) -> str | None:
    """The filter pattern to use, or None for Logs Insights.

    ``newest_first``: whether the loaded botocore can ask FilterLogEvents
    for the newest events first.
    """
    if options.query_mode == 'insights':
        return None
    try:
        if len(options.log_groups) > 1:
            raise query.Untranslatable(
                'FilterLogEvents searches one log group at a time and '
                'log_group_template names several'
            )
        pattern = query.filter_pattern(translation)
        if not newest_first:
            raise query.Untranslatable(OLD_BOTOCORE)
        return pattern
    except query.Untranslatable as exc:
        if options.query_mode == 'filter':
            raise ValueError(
                f"query_mode is 'filter' but {exc}; use query_mode 'auto' "
                "or 'insights' for this query"
            ) from None
        return None


async def search(
    options: Options, keys: AwsKeys | None, log_query: LogQuery
) -> LogResult:
    translation = query.translate(log_query, options)
    async with Calls(options, keys) as calls:
        # The botocore check is local: a query FilterLogEvents cannot
        # run under query_mode 'filter' is refused before any AWS call.
        newest_first = await calls.filter_sorts_newest_first()
        pattern = _plan(translation, options, newest_first)
        if options.log_group_prefixes:
            options = await calls.resolve_log_groups()
            pattern = _plan(translation, options, newest_first)
        fingerprint = query.fingerprint(translation, options)
        if pattern is not None:
            filter_position = (
                cursor.decode(
                    log_query.cursor, fingerprint, cursor.FilterPosition
                )
                if log_query.cursor
                else None
            )
            if filter_position is not None:
                translation = _window_of(translation, filter_position)
            return await _filter_search(
                calls,
                options,
                translation,
                pattern,
                log_query.limit,
                filter_position,
                fingerprint,
            )
        insights_position = (
            cursor.decode(
                log_query.cursor, fingerprint, cursor.InsightsPosition
            )
            if log_query.cursor
            else None
        )
        if insights_position is not None:
            # The check is not keyed (the plugin keeps no secret): a
            # forged position must not move the search outside its range.
            if not (
                insights_position.start_ms
                <= insights_position.timestamp_ms
                <= insights_position.end_ms
            ):
                raise CursorExpiredError(
                    "the cursor points outside the query's time range; "
                    'start the search again'
                )
            translation = _window_of(translation, insights_position)
        return await _insights_search(
            calls,
            options,
            translation,
            log_query.limit,
            insights_position,
            fingerprint,
        )


def _window_of(
    translation: query.Translation, position: cursor.Position
) -> query.Translation:
    """The translation in the window of the search a cursor continues
    (the host recomputes its default window on every request)."""
    return dataclasses.replace(
        translation, start_ms=position.start_ms, end_ms=position.end_ms
    )


async def _filter_search(
    calls: Calls,
    options: Options,
    translation: query.Translation,
    pattern: str,
    limit: int,
    position: cursor.FilterPosition | None,
    fingerprint: str,
) -> LogResult:
    params: dict[str, typing.Any] = {
        'logGroupName': options.log_group,
        'startTime': translation.start_ms,
        'endTime': translation.end_ms,
        'startFromHead': False,
    }
    if pattern:
        params['filterPattern'] = pattern
    if options.log_stream_prefix:
        params['logStreamNamePrefix'] = options.log_stream_prefix
    token = position.next_token if position else None
    soft = max(0.5, SOFT_BUDGET_SHARE * options.timeout_seconds)
    entries: list[LogEntry] = []
    while True:
        page = dict(params, limit=min(limit - len(entries), MAX_ROWS))
        if token:
            page['nextToken'] = token
        answer = await calls.call('FilterLogEvents', **page)
        events = answer.get('events')
        if not isinstance(events, list):
            raise PluginUnavailableError(
                'FilterLogEvents answered without events'
            )
        for event in events:
            if not isinstance(event, dict) or 'timestamp' not in event:
                raise PluginUnavailableError(
                    'FilterLogEvents answered an event without a timestamp'
                )
            message = event.get('message', '')
            if not isinstance(message, str):
                raise PluginUnavailableError(
                    'FilterLogEvents answered an event whose message is '
                    'not text'
                )
            entries.append(
                _entry(
                    options,
                    int(event['timestamp']),
                    message,
                    {
                        'log_stream': event.get('logStreamName'),
                        'log_group': options.log_group,
                        'event_id': event.get('eventId'),
                        'ingestion_time': _datetime(
                            int(event.get('ingestionTime', 0))
                        ).isoformat(),
                    },
                )
            )
        token = answer.get('nextToken') or None
        if token is None:
            return LogResult(entries=entries)
        next_cursor = cursor.encode(
            cursor.FilterPosition(
                token, translation.start_ms, translation.end_ms
            ),
            fingerprint,
        )
        if len(entries) >= limit:
            return LogResult(entries=entries, next_cursor=next_cursor)
        if calls.remaining() < soft:
            return LogResult(
                entries=entries,
                next_cursor=next_cursor,
                warnings=[BUDGET_WARNING],
            )


def _rows(
    raw_rows: list[list[dict[str, str]]],
) -> list[tuple[int, dict[str, str]]]:
    rows = []
    for raw_row in raw_rows:
        try:
            fields = {f['field']: f['value'] for f in raw_row}
            rows.append((_insights_ms(fields['@timestamp']), fields))
        except KeyError, TypeError, ValueError:
            raise PluginUnavailableError(
                'Logs Insights returned a row that could not be read'
            ) from None
    # Insights sorts by @timestamp already; ties keep no stable order.
    rows.sort(key=lambda row: row[0], reverse=True)
    return rows


async def _insights_search(
    calls: Calls,
    options: Options,
    translation: query.Translation,
    limit: int,
    position: cursor.InsightsPosition | None,
    fingerprint: str,
) -> LogResult:
    seen = position.seen if position else frozenset()
    end_ms = position.timestamp_ms if position else translation.end_ms
    # Enough rows to get past those already returned at end_ms, plus one
    # to know whether more follow.
    ask = limit + len(seen) + 1
    if ask > MAX_ROWS:
        raise PluginUnavailableError(
            'too many events share one millisecond to page through with '
            'Logs Insights; narrow the search'
        )
    raw_rows, matched = await calls.insights_matched(
        query.search_query(translation, end_ms, ask),
        translation.start_ms // 1000,
        math.ceil(end_ms / 1000),
        ask,
    )
    # recordsMatched counts the whole range only on the first page; later
    # pages search what is left of it.
    total = matched if position is None else None
    fresh = [
        (ts, fields)
        for ts, fields in _rows(raw_rows)
        if ts < end_ms or cursor.ptr_digest(fields.get('@ptr', '')) not in seen
    ]
    page = fresh[:limit]
    entries = [
        _entry(
            options,
            ts,
            fields.get('@message', ''),
            {
                'log_stream': fields.get('@logStream'),
                # @log is <account id>:<log group>
                'log_group': fields.get('@log', '').partition(':')[2]
                or options.log_group,
                'ptr': fields.get('@ptr'),
                'ingestion_time': _datetime(
                    _insights_ms(fields['@ingestionTime'])
                ).isoformat()
                if '@ingestionTime' in fields
                else None,
            },
        )
        for ts, fields in page
    ]
    if len(fresh) <= limit:
        return LogResult(entries=entries, total=total)
    last = page[-1][0]
    at_last = {
        cursor.ptr_digest(f.get('@ptr', '')) for ts, f in page if ts == last
    }
    if last == end_ms:
        at_last |= seen
    return LogResult(
        entries=entries,
        next_cursor=cursor.encode(
            cursor.InsightsPosition(
                last,
                frozenset(at_last),
                translation.start_ms,
                translation.end_ms,
            ),
            fingerprint,
        ),
        total=total,
    )


async def histogram(
    options: Options,
    keys: AwsKeys | None,
    log_query: LogQuery,
    bucket_count: int,
) -> list[LogHistogramBucket]:
    if not 1 <= bucket_count <= 1440:
        raise ValueError('bucket_count must be between 1 and 1440')
    translation = query.translate(log_query, options)
    span = translation.end_ms - translation.start_ms
    step = max(1, math.ceil(span / 1000 / bucket_count)) * 1000
    # Bucket k is [start + k*step, start + (k+1)*step): its timestamps
    # depend only on the query, so the host can sum environments.
    buckets = [
        LogHistogramBucket(
            timestamp=_datetime(translation.start_ms + k * step), count=0
        )
        for k in range(bucket_count)
    ]
    level_key = (
        options.level_field if translation.json_mode else query.PARSED_LEVEL
    )
    async with Calls(options, keys) as calls:
        await calls.resolve_log_groups()
        raw_rows = await calls.insights(
            query.histogram_query(translation, step),
            translation.start_ms // 1000,
            math.ceil(translation.end_ms / 1000),
            MAX_ROWS,
        )
    for raw_row in raw_rows:
        try:
            fields = {f['field']: f['value'] for f in raw_row}
            index = int(float(fields[query.BUCKET_FIELD]))
            number = int(fields['n'])
        except KeyError, TypeError, ValueError, OverflowError:
            raise PluginUnavailableError(
                'Logs Insights returned a histogram row that could not be read'
            ) from None
        if not 0 <= index < bucket_count:
            continue
        bucket = buckets[index]
        bucket.count += number
        level = query.normalize_level(fields.get(level_key))
        if level is not None:
            bucket.levels[level] = bucket.levels.get(level, 0) + number
    return buckets


def _label(name: str) -> str:
    words = name.lstrip('@').replace('.', ' ').replace('_', ' ')
    spaced = ''.join(f' {c.lower()}' if c.isupper() else c for c in words)
    text = ' '.join(spaced.split())
    return text[:1].upper() + text[1:]


async def schema(
    options: Options, keys: AwsKeys | None
) -> list[dict[str, typing.Any]]:
    async with Calls(options, keys) as calls:
        # The fields of the first group: one call, whatever the number of
        # groups.
        options = await calls.resolve_log_groups()
        answer = await calls.call(
            'GetLogGroupFields',
            logGroupName=options.log_group,
            time=int(time.time()),
        )
    found = answer.get('logGroupFields')
    if not isinstance(found, list):
        raise PluginUnavailableError(
            'GetLogGroupFields answered without logGroupFields'
        )
    entries = [
        {**entry, 'ops': list(entry['ops'])} for entry in _STANDARD_FIELDS
    ]
    standard = {entry['name'] for entry in entries}
    json_mode = options.message_format == 'json'
    for field in found:
        name = str(field.get('name', ''))
        if not name or name in standard:
            continue
        filterable = json_mode and not name.startswith('@')
        entries.append(
            {
                'name': name,
                'label': _label(name),
                'kind': 'field',
                'ops': list(_FILTER_OPS) if filterable else [],
                'percent': field.get('percent'),
            }
        )
    return entries
