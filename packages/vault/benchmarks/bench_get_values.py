"""get_values(None) over 200 KV v2 keys at max_concurrency 1 and 8.

The Vault stand-in runs in a separate process (its own interpreter and
GIL) and adds 5 ms to every request. A call is one folder listing plus
one read per key. Targets from the issue: at concurrency 8 the wall time
is at most 1.5x the ideal (requests / 8 x 5 ms), and at least 6x faster
than at concurrency 1. Run: ``python packages/vault/benchmarks/
bench_get_values.py`` (or ``nox -s bench -- vault``).

For context it also times the transport floor: the same requests sent
with plain urllib3 (the plugin's transport) from 8 threads, no hvac and
no plugin, so the figures separate the plugin's own cost from the
machine's.
"""

import asyncio
import json
import multiprocessing
import multiprocessing.connection
import os
import pathlib
import secrets
import statistics
import time

KEYS = 200
LATENCY_SECONDS = 0.005
RUNS = 5
CONCURRENCIES = (1, 8)
IDEAL_FACTOR = 1.5
MIN_SPEEDUP = 6.0
FOLDER = 'aweber/billing-api'


def serve(token: str, control: multiprocessing.connection.Connection) -> None:
    """The stand-in's process: serve until the parent says stop.

    Answers ``count`` with the number of requests since the last count.
    """
    from imbi_plugin_testing.fakes.vault import VaultFake

    fake = VaultFake(token)
    fake.latency = LATENCY_SECONDS
    fake.mount('secret', 2)
    for index in range(KEYS):
        fake.put(
            'secret',
            f'{FOLDER}/key-{index:03d}',
            {'value': f'value {index}'},
            custom_metadata={
                'imbi_data_type': 'secret' if index % 2 else 'string'
            },
        )
    with fake.serve() as url:
        control.send(url)
        seen = 0
        while (message := control.recv()) != 'stop':
            if message == 'count':
                control.send(len(fake.requests) - seen)
                seen = len(fake.requests)


async def one_call(url: str, token: str, concurrency: int) -> float:
    from imbi_plugin_testing import make_context
    from imbi_plugin_testing.generation import handler_under_test

    ctx = make_context(
        'configuration',
        options={
            'url': url,
            'max_concurrency': concurrency,
            'timeout_seconds': 60,
        },
    )
    started = time.perf_counter()
    handler = handler_under_test('imbi_plugin_vault')
    values = await handler().get_values(ctx, {'token': token})
    elapsed = time.perf_counter() - started
    if len(values) != KEYS:
        raise RuntimeError(f'expected {KEYS} values, got {len(values)}')
    return elapsed


def transport_floor(url: str, token: str) -> float:
    """201 plain GETs (the list, then 200 reads) from 8 threads."""
    import concurrent.futures

    import urllib3

    pool = urllib3.PoolManager(maxsize=8)
    headers = {'X-Vault-Token': token}
    base = f'{url}/v1/secret'

    def get(path: str) -> None:
        response = pool.request('GET', f'{base}/{path}', headers=headers)
        if response.status != 200:
            raise RuntimeError(f'HTTP {response.status}')
        json.loads(response.data)

    started = time.perf_counter()
    get(f'metadata/{FOLDER}?list=true')
    with concurrent.futures.ThreadPoolExecutor(8) as pool_threads:
        list(
            pool_threads.map(
                get, [f'data/{FOLDER}/key-{i:03d}' for i in range(KEYS)]
            )
        )
    elapsed = time.perf_counter() - started
    pool.clear()
    return elapsed


def main() -> None:
    token = 'hvs.' + secrets.token_urlsafe(18)
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context('spawn').Process(
        target=serve, args=(token, child), daemon=True
    )
    process.start()
    try:
        url = parent.recv()
        asyncio.run(one_call(url, token, 8))  # warm-up: imports, sockets
        parent.send('count')
        requests = parent.recv()
        timings: dict[int, list[float]] = {c: [] for c in CONCURRENCIES}
        floor: list[float] = []
        for _ in range(RUNS):
            for concurrency in CONCURRENCIES:
                timings[concurrency].append(
                    asyncio.run(one_call(url, token, concurrency))
                )
            floor.append(transport_floor(url, token))
        parent.send('stop')
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
    report(requests, timings, statistics.median(floor))


def report(
    requests: int, timings: dict[int, list[float]], floor: float
) -> None:
    serial = statistics.median(timings[1])
    parallel = statistics.median(timings[8])
    ideal = requests / 8 * LATENCY_SECONDS
    ratio = parallel / ideal
    speedup = serial / parallel
    print(
        f'vault get_values(None): {KEYS} keys, {requests} requests per call, '
        f'{LATENCY_SECONDS * 1000:.0f} ms added per request, '
        f'median of {RUNS} calls'
    )
    print(f'  max_concurrency 1: {serial * 1000:8.1f} ms')
    print(
        f'  max_concurrency 8: {parallel * 1000:8.1f} ms '
        f'(ideal {ideal * 1000:.1f} ms)'
    )
    print(
        f'  transport floor (plain urllib3, 8 threads): '
        f'{floor * 1000:8.1f} ms ({floor / ideal:.2f}x the ideal)'
    )
    ratio_ok = 'ok' if ratio <= IDEAL_FACTOR else 'OVER TARGET'
    speed_ok = 'ok' if speedup >= MIN_SPEEDUP else 'UNDER TARGET'
    print(
        f'  at 8: {ratio:.2f}x the ideal (target <= {IDEAL_FACTOR}x): '
        f'{ratio_ok}'
    )
    print(
        f'  speed-up 8 vs 1: {speedup:.1f}x (target >= {MIN_SPEEDUP}x): '
        f'{speed_ok}'
    )
    results = os.environ.get('IMBI_BENCH_RESULTS')
    if results:
        path = pathlib.Path(results)
        data = json.loads(path.read_text()) if path.exists() else {}
        data['vault'] = {
            'keys': KEYS,
            'requests_per_call': requests,
            'latency_ms': LATENCY_SECONDS * 1000,
            'runs': RUNS,
            'median_concurrency_1_ms': round(serial * 1000, 1),
            'median_concurrency_8_ms': round(parallel * 1000, 1),
            'ideal_concurrency_8_ms': round(ideal * 1000, 1),
            'ratio_to_ideal': round(ratio, 2),
            'transport_floor_8_ms': round(floor * 1000, 1),
            'speedup': round(speedup, 2),
            'target_ratio_to_ideal': IDEAL_FACTOR,
            'target_speedup': MIN_SPEEDUP,
        }
        path.write_text(json.dumps(data, indent=2))


if __name__ == '__main__':
    main()
