"""Loki answers -> LogResult, histogram buckets and schema entries."""

import dataclasses
import datetime
import typing

from imbi_plugin_loki import cursor
from imbi_plugin_loki._host import (
    LogEntry,
    LogHistogramBucket,
    LogResult,
    PluginUnavailableError,
)
from imbi_plugin_loki.query import normalize_level

#: Loki's default max_entries_limit_per_query.
MAX_ENTRIES = 5000
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_NS_PER_SECOND = 1_000_000_000


def to_ns(value: datetime.datetime) -> int:
    """An aware (or naive UTC) datetime as Unix epoch nanoseconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return (value - EPOCH) // datetime.timedelta(microseconds=1) * 1000


def from_ns(ns: int) -> datetime.datetime:
    return EPOCH + datetime.timedelta(microseconds=ns // 1000)


def _unexpected(what: str) -> PluginUnavailableError:
    return PluginUnavailableError(f'Loki returned an unexpected {what}')


def _result(data: typing.Any, result_type: str) -> list[typing.Any]:
    if (
        not isinstance(data, dict)
        or data.get('resultType') != result_type
        or not isinstance(data.get('result'), list)
    ):
        raise _unexpected(f'answer (expected {result_type})')
    return typing.cast(list[typing.Any], data['result'])


@dataclasses.dataclass(frozen=True)
class Page:
    """Where a page starts: the request and the entries to skip."""

    key: bytes
    limit: int
    start: int
    boundary: int | None = None
    seen: frozenset[bytes] = frozenset()

    @property
    def request_limit(self) -> int:
        # The entries skipped at the boundary come back too: ask for them
        # on top of a full page (logcli's rule), within Loki's maximum.
        return min(self.limit + len(self.seen), MAX_ENTRIES)


_Row = tuple[int, str, str, dict[str, str], str]


def _rows(data: typing.Any) -> list[_Row]:
    rows: list[_Row] = []
    try:
        for stream in _result(data, 'streams'):
            labels = stream['stream']
            if not isinstance(labels, dict):
                raise TypeError(labels)
            key = '\x1f'.join(f'{k}={v}' for k, v in sorted(labels.items()))
            for ts, line, *_ in stream['values']:
                if not isinstance(line, str):
                    raise TypeError('line')
                rows.append((int(ts), key, line, labels, ts))
    except KeyError, TypeError, ValueError:
        raise _unexpected('stream in the answer') from None
    rows.sort(key=lambda row: (-row[0], row[1], row[2]))
    return rows


def search_result(
    data: typing.Any,
    page: Page,
    level_field: str,
    message_field: str | None,
) -> LogResult:
    """Merge the streams newest-first and cut the page.

    Ties (one nanosecond, several entries) are ordered by stream labels
    then line, so the order is the same whatever order Loki used.
    """
    received = _rows(data)
    rows = received
    if page.boundary is not None:
        rows = [
            row
            for row in received
            if row[0] != page.boundary
            or cursor.entry_id(row[1], row[2]) not in page.seen
        ]
    chosen = rows[: page.limit]
    entries = []
    for ns, _, line, labels, ts in chosen:
        message = (labels.get(message_field) if message_field else None) or (
            line
        )
        level = labels.get(level_field)
        entries.append(
            LogEntry(
                timestamp=from_ns(ns),
                message=message,
                level=normalize_level(level),
                raw={'labels': dict(labels), 'timestamp_ns': ts, 'line': line},
            )
        )
    result = LogResult(entries=entries)
    if len(received) < page.request_limit and len(rows) <= page.limit:
        return result
    if chosen:
        last = chosen[-1][0]
        seen = {cursor.entry_id(r[1], r[2]) for r in chosen if r[0] == last}
        if last == page.boundary:
            seen |= page.seen
        result.next_cursor = cursor.encode(page.key, page.start, last, seen)
        return result
    # Every entry Loki can return at the boundary was already shown: more
    # than its entry limit share that nanosecond. Step past it.
    boundary = typing.cast(int, page.boundary)
    result.next_cursor = cursor.encode(
        page.key, page.start, boundary - 1, set()
    )
    result.warnings.append(
        f'More than {MAX_ENTRIES} entries share the timestamp '
        f'{from_ns(boundary).isoformat()} ({boundary} ns); Loki cannot page '
        'through them, so some of them may be missing.'
    )
    return result


@dataclasses.dataclass(frozen=True)
class Grid:
    """Buckets ``start + k*step`` and the points that count them."""

    start_ns: int
    first_point_ns: int
    step_ns: int
    count: int


def histogram_buckets(
    data: typing.Any, grid: Grid, level: str
) -> list[LogHistogramBucket]:
    """Zero-filled buckets from a matrix answer.

    Point ``first_point + k*step`` counts bucket k. Loki reports points
    in (float) seconds with millisecond precision; a point outside the
    grid (a frontend that widened the range) is ignored.
    """
    buckets = [
        LogHistogramBucket(
            timestamp=from_ns(grid.start_ns + k * grid.step_ns), count=0
        )
        for k in range(grid.count)
    ]
    try:
        for series in _result(data, 'matrix'):
            metric = series['metric']
            name = metric.get(level) if isinstance(metric, dict) else None
            for when, value in series['values']:
                point = round(float(when) * 1000) * 1_000_000
                index = round((point - grid.first_point_ns) / grid.step_ns)
                if not 0 <= index < grid.count:
                    continue
                number = round(float(value))
                bucket = buckets[index]
                bucket.count += number
                key = normalize_level(name)
                if key:
                    bucket.levels[key] = bucket.levels.get(key, 0) + number
    except AttributeError, KeyError, TypeError, ValueError:
        raise _unexpected('series in the histogram answer') from None
    return buckets


def label_names(data: typing.Any) -> list[str]:
    if data is None:  # an empty label list may come as null
        return []
    if not isinstance(data, list) or not all(
        isinstance(name, str) for name in data
    ):
        raise _unexpected('label list')
    return [name for name in data if not name.startswith('__')]


def sampled_fields(data: typing.Any, known: set[str]) -> list[str]:
    """Names parsed out of sampled lines that are not ``known`` already."""
    names: set[str] = set()
    try:
        for stream in _result(data, 'streams'):
            names.update(stream['stream'])
    except KeyError, TypeError:
        raise _unexpected('stream in the sample') from None
    return sorted(n for n in names - known if not n.startswith('__'))


def humanize(name: str) -> str:
    return name.replace('_', ' ').strip().capitalize() or name


def schema_entry(
    name: str, kind: str, ops: list[str]
) -> dict[str, typing.Any]:
    return {
        'name': name,
        'label': humanize(name),
        'kind': kind,
        'type': 'string',
        'ops': list(ops),
    }
