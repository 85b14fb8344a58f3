"""What every real-host suite under hosts/ shares.

Imported by ``hosts/conftest.py`` (v1 imbi-api and imbi-gateway),
``hosts/v3/conftest.py`` (v3 imbi-api) and ``hosts/gateway_v3/conftest.py``
(v3 imbi-gateway), each run in its own venv; the v3 runs start with
``--confcutdir`` below ``hosts/``, so ``hosts/conftest.py`` is not loaded
there. Each conftest puts ``hosts/`` on ``sys.path`` for this module (it
holds no ``imbi_plugin_*`` module for a v3 registry to pick up).

Stdlib and pytest only at the top: a v1 venv has ``imbi_api`` and
``imbi_common``, a v3 one ``imbi.api`` and ``imbi.common``, so the host's
modules are handed in by the caller or imported where used, by the
package names it gives. The harness (installed on v1, loaded from the
tree on v3: :func:`load_harness`) is imported where used too.
"""

import base64
import collections.abc
import contextlib
import dataclasses
import functools
import importlib
import importlib.util
import logging
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import time
import types
import typing

import pytest

if typing.TYPE_CHECKING:
    from imbi_plugin_testing.fakes.imbi_api import ImbiApiFake
    from imbi_plugin_testing.fakes.sonarqube import SonarQubeFake
    from imbi_plugin_testing.secrets import SecretScan

HARNESS = (
    pathlib.Path(__file__).parents[1]
    / 'shared'
    / 'testing'
    / 'src'
    / 'imbi_plugin_testing'
)

ORG = 'aweber'
PROJECT_ID = 'p-billing'
PROJECT_SLUG = 'billing-api'
TEAM_SLUG = 'payments'
#: IMBI_API_URL ends in /api, so the host serves its routes under /api.
API_URL = 'https://imbi.example.com/api'
#: Where the TestClient sends imbi-api's requests.
API_ORIGIN = 'https://imbi.example.com'
BASE = f'/api/organizations/{ORG}/projects/{PROJECT_ID}'
#: What the test user may do on the project, on every imbi-api.
PROJECT_PERMISSIONS = frozenset(
    {
        'project:configuration:read',
        'project:configuration:read_secrets',
        'project:configuration:write',
        'project:logs:read',
        'me:identities:manage',
        'project:deployment:read',
        'project:deployment:write',
    }
)
#: Fixed for the test session: the host caches its auth settings in more
#: than one singleton, each generating its own secret when none is set.
JWT_SECRET = secrets.token_urlsafe(32)
ENCRYPTION_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def load_harness(*, run_init: bool) -> None:
    """Make ``imbi_plugin_testing`` importable from the source tree
    without putting it on ``sys.path``.

    For the v3 hosts, whose venvs do not hold the harness wheel: their
    registry imports every top-level ``imbi_plugin_*`` module it can find
    on ``sys.path`` and would record the harness (no ``PLUGIN``) as a load
    error; a real host never has it. The package is registered by its
    location and its modules import as usual through its ``__path__``.
    ``run_init=False`` leaves the package's ``__init__`` out (a bare
    package object), for venvs without the dependencies it imports.
    """
    if 'imbi_plugin_testing' in sys.modules:
        return
    if not run_init:
        bare = types.ModuleType('imbi_plugin_testing')
        bare.__path__ = [str(HARNESS)]
        sys.modules['imbi_plugin_testing'] = bare
        return
    spec = importlib.util.spec_from_file_location(
        'imbi_plugin_testing',
        HARNESS / '__init__.py',
        submodule_search_locations=[str(HARNESS)],
    )
    assert spec is not None
    assert spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules['imbi_plugin_testing'] = package
    spec.loader.exec_module(package)


# Quoted: pytest evaluates a fixture's annotations, and SecretScan is
# imported for type checking only.
@pytest.fixture
def secret_scan() -> collections.abc.Iterator['SecretScan']:  # noqa: UP037
    """The harness's secret scan, for the runs where its pytest plugin is
    not registered (the harness is not installed, see
    :func:`load_harness`)."""
    from imbi_plugin_testing.secrets import SecretScan

    with SecretScan() as scan:
        yield scan
    scan.check()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope='session')
def valkey_url() -> collections.abc.Iterator[str]:
    """A real Valkey-compatible server (Debian's redis-server)."""
    binary = shutil.which('redis-server') or shutil.which('valkey-server')
    if binary is None:
        pytest.fail('redis-server is not installed (.ci/run installs it)')
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            '--bind',
            '127.0.0.1',
            '--port',
            str(port),
            '--save',
            '',
            '--appendonly',
            'no',
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError):
                socket.create_connection(('127.0.0.1', port), 0.2).close()
                break
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail('redis-server did not start')
            time.sleep(0.05)
        yield f'valkey://127.0.0.1:{port}/0'
    finally:
        process.terminate()
        process.wait(10)


def host_settings(
    monkeypatch: pytest.MonkeyPatch, secret_scan: SecretScan
) -> None:
    """imbi-api's URL and auth secrets in its environment, the secrets
    added to the scan."""
    monkeypatch.setenv('IMBI_API_URL', API_URL)
    monkeypatch.setenv('IMBI_AUTH_JWT_SECRET', JWT_SECRET)
    monkeypatch.setenv('IMBI_AUTH_ENCRYPTION_KEY', ENCRYPTION_KEY)
    secret_scan.add(JWT_SECRET, ENCRYPTION_KEY)


#: A query's parameters, the columns it names (if it does) and the rows a
#: graph stand-in answers.
Params = dict[str, typing.Any]
Columns = list[str] | None
Rows = list[dict[str, typing.Any]]


class GraphLog:
    """The graph client's ``execute`` for a stand-in, which answers in
    :meth:`answer`; it keeps each query it was sent (on one line) and
    those it does not know, which fail the test."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.unknown: list[str] = []

    async def execute(
        self,
        query_template: str,
        params: Params | None = None,
        columns: Columns = None,
        raw: bool = False,
    ) -> Rows:
        text = ' '.join(query_template.split())
        self.queries.append(text)
        return self.answer(text, params or {}, columns)

    def answer(self, text: str, params: Params, columns: Columns) -> Rows:
        """The rows for the query ``text`` (on one line)."""
        raise NotImplementedError

    def refuse(self, text: str) -> typing.NoReturn:
        """Fail on a query the stand-in does not know (kept, so the
        fixture fails the test even where the host swallowed the error)."""
        self.unknown.append(text)
        raise AssertionError(f'the graph stand-in does not know: {text}')


class UserNodes(GraphLog):
    """A graph stand-in that also keeps the login flow's User nodes and
    the token pairs the host issued them."""

    def __init__(self) -> None:
        super().__init__()
        #: User nodes the host merged (the login flow), by e-mail.
        self.users: dict[str, typing.Any] = {}
        #: The principal of every token pair the host issued.
        self.token_pairs: list[str] = []

    def session_rows(self, text: str, params: Params) -> Rows | None:
        """The answer to a session's query (the user's membership: one,
        so none is made; the token pair's metadata), else None."""
        if 'OPTIONAL MATCH (u)-[m:MEMBER_OF]->() RETURN count(m)' in text:
            return [{'edges': 1}]
        if 'CREATE (at:TokenMetadata' in text:
            if params.get('principal_id') not in self.users:
                return [{'principal_count': 0}]
            self.token_pairs.append(params['principal_id'])
            return [{'principal_count': 1}]
        return None

    async def match[N](
        self,
        node_type: type[N],
        params: dict[str, typing.Any] | None = None,
        order_by: str | None = None,
    ) -> list[N]:
        """Only the login flow's User lookup by e-mail."""
        assert node_type.__name__ == 'User', node_type
        assert set(params or {}) == {'email'}, params
        found = self.users.get((params or {})['email'])
        return [found] if found is not None else []

    async def merge[N](self, node: N, match_on: list[str] | None = None) -> N:
        """Only the login flow's User upsert on e-mail."""
        assert type(node).__name__ == 'User'
        assert match_on == ['email']
        self.users[node.email] = node  # type: ignore[attr-defined]
        return node


class InsertRecorder:
    """Stands in for ClickHouse's client: keeps every inserted row, its
    table under :attr:`table_key`."""

    table_key = 'table'

    def __init__(self) -> None:
        self.rows: list[dict[str, typing.Any]] = []

    async def insert(
        self,
        table: str,
        data: list[list[typing.Any]],
        column_names: list[str],
        settings: dict[str, typing.Any] | None = None,
    ) -> None:
        for values in data:
            self.rows.append(
                {
                    self.table_key: table,
                    **dict(zip(column_names, values, strict=True)),
                }
            )


def override_graph(
    app: typing.Any, graph_module: typing.Any, graph: object
) -> None:
    """The host's graph dependency (``graph_module._inject_graph``)
    answers ``graph``."""

    async def the_graph() -> collections.abc.AsyncIterator[object]:
        yield graph

    app.dependency_overrides[graph_module._inject_graph] = the_graph


def override_user(
    app: typing.Any,
    permissions: typing.Any,
    models: typing.Any,
    granted: set[str],
) -> collections.abc.Callable[[], collections.abc.Awaitable[typing.Any]]:
    """imbi-api's ``get_current_user`` (``permissions``: its
    ``auth.permissions`` module, ``models``: its ``domain.models``)
    answers a non-admin user holding what ``granted`` holds at each call;
    the override is returned for calls made directly."""
    user = models.User(
        email='dev@example.com', display_name='Dev', is_admin=False
    )

    async def current_user() -> typing.Any:
        return permissions.AuthContext(
            user=user, auth_method='jwt', permissions=set(granted)
        )

    app.dependency_overrides[permissions.get_current_user] = current_user
    return current_user


@contextlib.contextmanager
def scanned_client(
    app: typing.Any,
    secret_scan: SecretScan,
    label: str | None = None,
    **kwargs: typing.Any,
) -> collections.abc.Iterator[typing.Any]:
    """Starlette's TestClient over ``app`` (a server error is answered,
    not raised), each answer's body through the secret scan under
    ``label`` (by default the request's method and path)."""
    from fastapi import testclient

    with testclient.TestClient(
        app, raise_server_exceptions=False, **kwargs
    ) as client:

        def scan_answer(response: typing.Any) -> None:
            response.read()
            secret_scan.record_text(
                label
                or f'{response.request.method} {response.request.url.path}',
                response.text,
            )

        client.event_hooks['response'].append(scan_answer)
        yield client


@contextlib.contextmanager
def running_api(
    app: typing.Any,
    start: collections.abc.Callable[[], collections.abc.Awaitable[None]],
    graph: object,
    granted: set[str],
    secret_scan: SecretScan,
    caplog: pytest.LogCaptureFixture,
    *,
    packages: typing.Literal['imbi_', 'imbi.'],
) -> collections.abc.Iterator[
    tuple[
        typing.Any,
        collections.abc.Callable[[], collections.abc.Awaitable[typing.Any]],
    ]
]:
    """imbi-api's ``app`` started, the user (:func:`override_user`) and
    the graph (:func:`override_graph`) replaced: its
    :func:`scanned_client` and the ``get_current_user`` override. Every
    log record at DEBUG and above is captured from then on.

    The lifespan is the host's own ``Lifespan`` with two of its hooks:
    its Valkey client, then ``start`` (the suite's plugin start-up) and
    an empty Valkey database; the rest need services not here.
    ``packages``: the host's, ``imbi_`` (v1: ``imbi_api``,
    ``imbi_common``) or ``imbi.`` (v3: ``imbi.api``, ``imbi.common``).
    """
    permissions = importlib.import_module(f'{packages}api.auth.permissions')
    models = importlib.import_module(f'{packages}api.domain.models')
    graph_module = importlib.import_module(f'{packages}common.graph')
    lifespan_module = importlib.import_module(f'{packages}common.lifespan')
    valkey = importlib.import_module(f'{packages}common.valkey')

    @contextlib.asynccontextmanager
    async def plugins() -> collections.abc.AsyncIterator[None]:
        await start()
        await valkey.get_client().flushdb()
        yield

    app.router.lifespan_context = lifespan_module.Lifespan(
        valkey.valkey_lifespan, plugins
    )
    current_user = override_user(app, permissions, models, granted)
    override_graph(app, graph_module, graph)
    with scanned_client(app, secret_scan, base_url=API_ORIGIN) as client:
        caplog.set_level(logging.DEBUG)
        yield client, current_user


class HostCalls:
    """Calls on a running imbi-api (its TestClient in ``client``)."""

    client: typing.Any

    def run[R](
        self,
        func: collections.abc.Callable[..., collections.abc.Awaitable[R]],
        *args: typing.Any,
        **kwargs: typing.Any,
    ) -> R:
        """Await one of the host's own functions on the app's loop."""
        return typing.cast(
            R,
            self.client.portal.call(functools.partial(func, **kwargs), *args),
        )

    @staticmethod
    def url(path: str) -> str:
        """The project's route ``path`` (e.g. ``/logs/``)."""
        return BASE + path

    def get(self, path: str, **params: typing.Any) -> typing.Any:
        return self.client.get(BASE + path, params=params)


@dataclasses.dataclass
class Upstreams:
    """What a gateway's webhook action calls: the harness's SonarQube and
    Imbi API stand-ins, served."""

    sonarqube: SonarQubeFake
    sonarqube_url: str
    imbi: ImbiApiFake
    imbi_url: str
    #: A SonarQube token (``api_token``) and an Imbi API key
    #: (``imbi_api_key``), both in the secret scan.
    credentials: dict[str, str]


@contextlib.contextmanager
def webhook_upstreams(
    secret_scan: SecretScan, *, key: str, org: str, project_id: str
) -> collections.abc.Iterator[Upstreams]:
    """SonarQube with the project ``key`` analysed (coverage 87.4, three
    bugs, quality gate OK) and Imbi with the project ``project_id`` in
    ``org``, each on 127.0.0.1 for the block."""
    from imbi_plugin_testing.fakes.imbi_api import ImbiApiFake
    from imbi_plugin_testing.fakes.sonarqube import SonarQubeFake

    sonarqube = SonarQubeFake()
    sonarqube.add_project(key, 'Billing API')
    sonarqube.set_measures(key, coverage='87.4', bugs='3', gate='OK')
    imbi = ImbiApiFake()
    imbi.add_project(org, project_id, name='Billing API')
    with sonarqube.serve() as sonarqube_url, imbi.serve() as imbi_url:
        credentials = {
            'api_token': sonarqube.issue_token('imbi'),
            'imbi_api_key': imbi.issue_api_key(),
        }
        secret_scan.add(*credentials.values())
        yield Upstreams(sonarqube, sonarqube_url, imbi, imbi_url, credentials)
