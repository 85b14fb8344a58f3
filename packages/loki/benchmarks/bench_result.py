"""Converting a Loki answer into a LogResult.

A 5000-entry answer (Loki's default maximum) spread over 50 streams, with
crowded nanoseconds, becomes a page of 1000 entries the way ``search``
does it: merge newest-first with the deterministic tie order, skip the
entries of the previous page, build the LogEntry models and the cursor.
Target: at least 100 000 entries/s. The figure with JSON decoding
included is printed too.

    python packages/loki/benchmarks/bench_result.py

With IMBI_BENCH_RESULTS naming a JSON file, the figures are merged into it
under "loki".
"""

import json
import os
import pathlib
import random
import statistics
import time
import typing

from imbi_plugin_loki import cursor, results

ENTRIES = 5000
STREAMS = 50
ROUNDS = 30
TARGET = 100_000
END_NS = 1_795_608_000 * 1_000_000_000


def answer() -> str:
    """A query_range answer as Loki sends it (JSON text)."""
    rng = random.Random(5)
    streams = []
    for number in range(STREAMS):
        labels = {
            'service_name': 'billing-api',
            'env': 'production',
            'pod': f'billing-api-{number:02d}',
            'level': rng.choice(['info', 'warn', 'error', 'debug']),
        }
        values = []
        for index in range(ENTRIES // STREAMS):
            # Millisecond timestamps: several streams share nanoseconds.
            ts = END_NS - (index * STREAMS + rng.randrange(5)) * 1_000_000
            line = json.dumps(
                {'message': f'GET /v1/items/{index}', 'status': 200}
            )
            values.append([str(ts), line])
        values.sort(key=lambda v: -int(v[0]))
        streams.append({'stream': labels, 'values': values})
    return json.dumps(
        {
            'status': 'success',
            'data': {'resultType': 'streams', 'result': streams},
        }
    )


def convert(data: typing.Any, page: results.Page) -> int:
    result = results.search_result(data, page, 'level', None)
    assert result.next_cursor is not None
    return len(result.entries)


def main() -> None:
    text = answer()
    data = json.loads(text)['data']
    key = cursor.fingerprint('{service_name="billing-api"}', None, '')
    # A full page of Loki's maximum: every entry converted, cursor built.
    page = results.Page(key=key, limit=ENTRIES, start=0)
    convert(data, page)  # warm-up
    seconds = []
    with_json = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        assert convert(data, page) == ENTRIES
        seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        convert(json.loads(text)['data'], page)
        with_json.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    median_json = statistics.median(with_json)
    figures = {
        'entries': ENTRIES,
        'streams': STREAMS,
        'median_ms': round(median * 1000, 2),
        'entries_per_second': round(ENTRIES / median),
        'entries_per_second_with_json': round(ENTRIES / median_json),
        'target_entries_per_second': TARGET,
        'meets_target': ENTRIES / median >= TARGET,
    }
    print(
        f'loki: {ENTRIES} entries / {STREAMS} streams -> LogResult in '
        f'{figures["median_ms"]} ms (median of {ROUNDS}): '
        f'{figures["entries_per_second"]:,} entries/s '
        f'({figures["entries_per_second_with_json"]:,} with JSON decoding); '
        f'target {TARGET:,} entries/s: '
        f'{"met" if figures["meets_target"] else "NOT met"}'
    )
    target = os.environ.get('IMBI_BENCH_RESULTS')
    if target:
        path = pathlib.Path(target)
        merged = json.loads(path.read_text()) if path.exists() else {}
        merged['loki'] = figures
        path.write_text(json.dumps(merged, indent=2) + '\n')


if __name__ == '__main__':
    main()
