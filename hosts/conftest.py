"""The real imbi-api, in-process, with only what cannot run here replaced.

Run by ``nox -s host`` in a clean venv holding a real imbi-api from PyPI
and our built wheels (never in the workspace venv: imbi-api is not a
dependency of anything here). The app is the one imbi-api's own
``create_app()`` builds, driven through its own HTTP routes with
Starlette's TestClient. Replaced, and nothing else:

- the graph database (PostgreSQL with Apache AGE): :class:`GraphStandIn`
  answers the Cypher the plugin paths send, and fails the test on any
  query it does not know;
- ClickHouse: audit rows go to a recorder;
- authentication: ``get_current_user`` answers a fixed user with the
  permissions a test gives;
- the lifespan: only Valkey (a real ``redis-server`` on 127.0.0.1 started
  here) and the real plugin registry (``load_plugins()``) are set up.
"""

import base64
import collections.abc
import contextlib
import dataclasses
import functools
import json
import logging
import secrets
import shutil
import socket
import subprocess
import time
import typing

import pytest
from imbi_plugin_testing import SecretScan

PROJECT_ID = 'p-billing'
ORG = 'aweber'
PROJECT_SLUG = 'billing-api'
TEAM_SLUG = 'payments'
#: IMBI_API_URL ends in /api, so the host serves its routes under /api.
API_URL = 'https://imbi.example.com/api'
BASE = f'/api/organizations/{ORG}/projects/{PROJECT_ID}'
PERMISSIONS = frozenset(
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


T = typing.TypeVar('T')
JWT_SECRET = secrets.token_urlsafe(32)
ENCRYPTION_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _one_line(query: str) -> str:
    return ' '.join(query.split())


@dataclasses.dataclass
class Assignment:
    plugin_id: str
    tab: str
    src: typing.Literal['project', 'project_type']
    options: dict[str, typing.Any]
    default: bool = True


class GraphStandIn:
    """In-memory answers to the Cypher the host's plugin paths issue.

    Options and credentials are stored as AGE returns them (JSON text;
    credentials Fernet-encrypted with the host's own TokenEncryption).
    """

    def __init__(self) -> None:
        self.plugins: dict[str, dict[str, typing.Any]] = {}
        self.assignments: list[Assignment] = []
        self.queries: list[str] = []
        self.unknown: list[str] = []
        #: The organization's environments (deploy and promote allowed).
        self.environments = {'production', 'staging'}
        #: Per-environment payloads on the project's USES_PLUGIN edges.
        self.env_payloads: dict[str, dict[str, typing.Any]] = {}
        #: The project's links (link key -> URL).
        self.links: dict[str, str] = {}
        #: Parameters of every IdentityConnection the host saved.
        self.connections: list[dict[str, typing.Any]] = []
        #: The project's Release nodes, as the host created them.
        self.releases: list[dict[str, typing.Any]] = []
        #: DEPLOYED_TO edges: (release id, environment) -> the events
        #: as the JSON text the host writes.
        self.deployed: dict[tuple[str, str], str] = {}
        #: The project's DEPLOYED_IN environments, in sort order.
        self.deployed_in: list[str] = []
        #: User nodes the host merged (the login flow), by e-mail.
        self.users: dict[str, typing.Any] = {}
        #: TokenMetadata the host wrote, per principal.
        self.token_pairs: list[str] = []

    def assign(
        self,
        plugin_id: str,
        slug: str,
        tab: str,
        *,
        credentials: dict[str, str] | None = None,
        plugin_options: dict[str, typing.Any] | None = None,
        type_options: dict[str, typing.Any] | None = None,
        project_options: dict[str, typing.Any] | None = None,
    ) -> None:
        from imbi_common.auth.encryption import TokenEncryption

        encrypted = (
            TokenEncryption.get_instance().encrypt(json.dumps(credentials))
            if credentials is not None
            else None
        )
        self.plugins[plugin_id] = {
            'slug': slug,
            'options': json.dumps(plugin_options or {}),
            'plugin_configuration': encrypted,
        }
        if type_options is not None:
            self.assignments.append(
                Assignment(plugin_id, tab, 'project_type', type_options)
            )
        if project_options is not None or type_options is None:
            self.assignments.append(
                Assignment(plugin_id, tab, 'project', project_options or {})
            )

    def store_credentials(
        self, plugin_id: str, credentials: dict[str, str]
    ) -> None:
        """Replace a plugin's stored (encrypted) credentials."""
        from imbi_common.auth.encryption import TokenEncryption

        self.plugins[plugin_id]['plugin_configuration'] = (
            TokenEncryption.get_instance().encrypt(json.dumps(credentials))
        )

    def add_identity_plugin(
        self,
        plugin_id: str,
        slug: str,
        *,
        client_id: str,
        client_secret: str,
        options: dict[str, typing.Any],
        login: bool = False,
    ) -> None:
        """An identity plugin node linked to a ServiceApplication;
        ``login``: also a login provider (``used_as_login``)."""
        from imbi_common.auth.encryption import TokenEncryption

        encrypt = TokenEncryption.get_instance().encrypt
        self.plugins[plugin_id] = {
            'slug': slug,
            'options': json.dumps(options),
            'plugin_configuration': None,
            'application': (client_id, encrypt(client_secret)),
            'login': login,
        }

    def _edges(self, tab: str, src: str) -> list[dict[str, typing.Any]]:
        return [
            {
                'id': a.plugin_id,
                'slug': self.plugins[a.plugin_id]['slug'],
                'edge_options': json.dumps(a.options),
                'edge_env_payloads': json.dumps(self.env_payloads)
                if src == 'project'
                else None,
                'plugin_options': self.plugins[a.plugin_id]['options'],
                'identity_plugin_id': None,
                'plugin_identity_plugin_id': None,
                'default': a.default,
                'src': src,
            }
            for a in self.assignments
            if a.tab == tab and a.src == src
        ]

    def _release(
        self, params: dict[str, typing.Any]
    ) -> dict[str, typing.Any] | None:
        if 'release_id' in params:
            wanted = {'id': params['release_id']}
        else:
            wanted = {
                'committish': params['committish'],
                'tag': params.get('tag') or '',
            }
        for release in self.releases:
            found = {**release, 'tag': release.get('tag') or ''}
            if all(found[key] == value for key, value in wanted.items()):
                return release
        return None

    def _releases(
        self, text: str, params: dict[str, typing.Any]
    ) -> list[dict[str, typing.Any]]:
        """Release nodes and their DEPLOYED_TO edges (promote, resync)."""
        if params.get('project_id') != PROJECT_ID:
            return []
        release = self._release(params)
        if 'CREATE (p)-[:HAS_RELEASE]->(:Release' in text:
            if release is None:
                self.releases.append(
                    {
                        key: params[key]
                        for key in ('id', 'tag', 'committish', 'title')
                    }
                )
            return []
        if release is None:
            return []
        if 'RETURN r.id AS rid' in text:
            return [{'rid': release['id']}]
        if 'AS release' in text:
            return [{'release': json.dumps(release)}]
        env = params.get('env_slug')
        if env not in self.environments:
            return []
        key = (release['id'], env)
        if 'OPTIONAL MATCH (r)-[d:DEPLOYED_TO]->(e)' in text:
            return [
                {
                    'env': {'slug': env, 'name': env.title()},
                    'deployments': self.deployed.get(key),
                }
            ]
        if 'SET d.deployments' in text and key not in self.deployed:
            return []
        if 'SET d.deployments' in text or 'CREATE (r)-[d:DEPLOYED_TO' in text:
            self.deployed[key] = params['deployments']
            return [{'deployments': params['deployments']}]
        self.unknown.append(text)
        raise AssertionError(f'the graph stand-in does not know: {text}')

    async def match(
        self,
        node_type: type[T],
        params: dict[str, typing.Any] | None = None,
        order_by: str | None = None,
    ) -> list[T]:
        """Only the login flow's User lookup by e-mail."""
        assert node_type.__name__ == 'User', node_type
        assert set(params or {}) == {'email'}, params
        found = self.users.get((params or {})['email'])
        return [found] if found is not None else []

    async def merge(self, node: T, match_on: list[str] | None = None) -> T:
        """Only the login flow's User upsert on e-mail."""
        assert type(node).__name__ == 'User'
        assert match_on == ['email']
        self.users[node.email] = node  # type: ignore[attr-defined]
        return node

    async def execute(
        self,
        query: str,
        params: dict[str, typing.Any] | None = None,
        columns: list[str] | None = None,
    ) -> list[dict[str, typing.Any]]:
        text = _one_line(query)
        params = params or {}
        self.queries.append(text)
        if 'RETURN proj_plugins, pt_plugins' in text:
            if params.get('project_id') != PROJECT_ID:
                return []
            # 'tab' up to 2.5.x, 'plugin_type' on the 2.11 line.
            tab = params.get('plugin_type') or params['tab']
            return [
                {
                    'proj_plugins': self._edges(tab, 'project'),
                    'pt_plugins': self._edges(tab, 'project_type'),
                }
            ]
        if 'RETURN p.slug AS slug, t.slug AS team_slug' in text:
            if params.get('project_id') != PROJECT_ID:
                return []
            return [{'slug': PROJECT_SLUG, 'team_slug': TEAM_SLUG}]
        if 'RETURN e.can_deploy AS can_deploy' in text:
            if params.get('env_slug') not in self.environments:
                return []
            return [{'can_deploy': True, 'can_promote': True}]
        if ':HAS_RELEASE' in text or ':DEPLOYED_TO' in text:
            return self._releases(text, params)
        if 'AS siblings' in text and ':EXISTS_IN' in text:
            return []  # 2.11 resync: no third-party service, no siblings
        if 'RETURN o.tag_formats AS org_formats' in text:
            return [{'org_formats': None, 'pt_formats': []}]  # 2.11
        if ':DEPLOYED_IN]->(e:Environment)' in text:
            return [
                {'slug': slug, 'sort_order': order}
                for order, slug in enumerate(self.deployed_in)
            ]
        if 'AS plugins' in text and ':EXISTS_IN' in text:
            return [{'plugins': []}]  # 2.11: no third-party service
        if 'RETURN p.links AS links' in text:
            # AGE keeps the links map as JSON text.
            return [{'links': json.dumps(self.links)}]
        if 'RETURN pt.slug AS slug' in text:
            return [{'slug': 'api'}]
        if 'RETURN p.plugin_configuration AS creds' in text:
            found = self.plugins.get(params.get('plugin_id', ''))
            if found is None:
                return []
            return [{'creds': found['plugin_configuration']}]
        if 'RETURN p.id AS id, p.plugin_slug AS slug, p.options' in text:
            wanted = params.get('plugin_id')
            for plugin_id, plugin in self.plugins.items():
                if wanted in (plugin_id, plugin['slug']):
                    return [
                        {
                            'id': plugin_id,
                            'slug': plugin['slug'],
                            'options': plugin['options'],
                        }
                    ]
            return []
        if 'RETURN p{{.*}} AS plugin' in text and 'used_as_login' in text:
            for plugin_id, plugin in self.plugins.items():
                if plugin['slug'] == params.get('slug') and plugin.get(
                    'login'
                ):
                    row = {
                        'id': plugin_id,
                        'plugin_slug': plugin['slug'],
                        'login_capable': True,
                        'used_as_login': True,
                    }
                    return [{'plugin': json.dumps(row)}]
            return []
        if 'OPTIONAL MATCH (u)-[m:MEMBER_OF]->() RETURN count(m)' in text:
            return [{'edges': 1}]  # already a member of an organization
        if 'CREATE (at:TokenMetadata' in text:
            if params.get('principal_id') not in self.users:
                return [{'principal_count': 0}]
            self.token_pairs.append(params['principal_id'])
            return [{'principal_count': 1}]
        if 'RETURN a.client_id AS client_id' in text:
            found = self.plugins.get(params.get('plugin_id', ''), {})
            if 'application' not in found:
                return []
            client_id, secret = found['application']
            return [{'client_id': client_id, 'client_secret': secret}]
        if 'MERGE (c:IdentityConnection' in text:
            self.connections.append(dict(params))
            return [{'id': params['new_id']}]
        if 'RETURN conn.plugin_slug AS slug, conn.options AS options' in text:
            return []  # 2.11: no sibling connection plugin
        if 'RETURN conn.plugin_configuration AS creds' in text:
            # 2.11: no sibling connection plugin holds credentials here.
            return []
        if 'MATCH (r:PluginRegistration {{slug: {slug}}})' in text:
            # 2.11 seeds registrations disabled; an admin enabled ours.
            slugs = {plugin['slug'] for plugin in self.plugins.values()}
            return [{'enabled': params.get('slug') in slugs}]
        if 'RETURN tps.slug AS service_slug' in text:
            return []  # 2.11: the project exists in no third-party service
        if 'MATCH (r:PluginRegistration) RETURN r.slug AS slug' in text:
            slugs = {plugin['slug'] for plugin in self.plugins.values()}
            return [{'slug': slug, 'enabled': True} for slug in slugs]
        self.unknown.append(text)
        raise AssertionError(f'the graph stand-in does not know: {text}')


class AuditRecorder:
    """Stands in for ClickHouse: keeps every inserted row."""

    def __init__(self) -> None:
        self.rows: list[dict[str, typing.Any]] = []

    async def insert(
        self,
        table: str,
        data: list[list[typing.Any]],
        column_names: list[str],
    ) -> None:
        for values in data:
            self.rows.append(
                {
                    'table': table,
                    **dict(zip(column_names, values, strict=True)),
                }
            )


@dataclasses.dataclass
class Imbi:
    """The running host and what its replaced parts recorded."""

    client: typing.Any  # starlette.testclient.TestClient
    graph: GraphStandIn
    audit: AuditRecorder
    valkey_url: str
    permissions: set[str]
    #: The overridden ``get_current_user`` (for calls made directly).
    current_user: collections.abc.Callable[
        [], collections.abc.Awaitable[typing.Any]
    ]

    def run(
        self,
        func: collections.abc.Callable[..., collections.abc.Awaitable[T]],
        *args: typing.Any,
        **kwargs: typing.Any,
    ) -> T:
        """Await one of the host's own functions on the app's loop."""
        return typing.cast(
            T,
            self.client.portal.call(functools.partial(func, **kwargs), *args),
        )

    @staticmethod
    def url(path: str) -> str:
        """The project's route ``path`` (e.g. ``/logs/``)."""
        return BASE + path

    def get(self, path: str, **params: typing.Any) -> typing.Any:
        return self.client.get(BASE + path, params=params)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope='session')
def valkey_url() -> collections.abc.Iterator[str]:
    """A real Valkey-compatible server (Debian's redis-server)."""
    binary = shutil.which('redis-server') or shutil.which('valkey-server')
    if binary is None:
        pytest.fail('redis-server is not installed (.ci/run installs it)')
    port = _free_port()
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


@pytest.fixture
def imbi(
    valkey_url: str,
    monkeypatch: pytest.MonkeyPatch,
    secret_scan: SecretScan,
    caplog: pytest.LogCaptureFixture,
) -> collections.abc.Iterator[Imbi]:
    """The host, with the secret scan over every answer it gives, every
    record it (and the plugins) log and every audit row it writes."""
    from fastapi import testclient
    from imbi_api import app as app_module
    from imbi_api.auth import permissions
    from imbi_api.domain import models
    from imbi_common import clickhouse
    from imbi_common import graph as graph_module
    from imbi_common import lifespan as lifespan_module
    from imbi_common import valkey as valkey_module
    from imbi_common.plugins import registry

    monkeypatch.setenv('IMBI_API_URL', API_URL)
    # Fixed for the session: the host caches its auth settings in more
    # than one singleton, each generating its own secret when none is set.
    monkeypatch.setenv('IMBI_AUTH_JWT_SECRET', JWT_SECRET)
    monkeypatch.setenv('IMBI_AUTH_ENCRYPTION_KEY', ENCRYPTION_KEY)
    secret_scan.add(JWT_SECRET, ENCRYPTION_KEY)
    graph = GraphStandIn()
    audit = AuditRecorder()
    granted = set(PERMISSIONS)
    monkeypatch.setattr(
        clickhouse.client.Clickhouse,
        'get_instance',
        classmethod(lambda cls: audit),
    )
    app = app_module.create_app()

    monkeypatch.setenv('VALKEY_URL', valkey_url)

    @contextlib.asynccontextmanager
    async def plugins() -> collections.abc.AsyncIterator[None]:
        loaded = registry.load_plugins()
        assert not loaded.errors, loaded.errors
        await valkey_module.get_client().flushdb()
        yield

    # The host's own Lifespan with two of its hooks: its Valkey client
    # and the plugin registry (the rest need services not here).
    lifespan = lifespan_module.Lifespan(valkey_module.valkey_lifespan, plugins)

    user = models.User(
        email='dev@example.com', display_name='Dev', is_admin=False
    )

    async def current_user() -> permissions.AuthContext:
        return permissions.AuthContext(
            user=user, auth_method='jwt', permissions=set(granted)
        )

    async def the_graph() -> collections.abc.AsyncIterator[GraphStandIn]:
        yield graph

    app.router.lifespan_context = lifespan
    app.dependency_overrides[permissions.get_current_user] = current_user
    app.dependency_overrides[graph_module._inject_graph] = the_graph
    with testclient.TestClient(
        app,
        base_url='https://imbi.example.com',
        raise_server_exceptions=False,
    ) as client:

        def scan_answer(response: typing.Any) -> None:
            response.read()
            secret_scan.record_text(
                f'{response.request.method} {response.request.url.path}',
                response.text,
            )

        client.event_hooks['response'].append(scan_answer)
        caplog.set_level(logging.DEBUG)
        yield Imbi(client, graph, audit, valkey_url, granted, current_user)
    for row in audit.rows:
        secret_scan.record_text('audit row', json.dumps(row, default=str))
    assert not graph.unknown, graph.unknown
