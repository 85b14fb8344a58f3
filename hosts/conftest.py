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
- the lifespan: only Valkey (a real ``redis-server`` on 127.0.0.1, started
  by ``_support.valkey_url``) and the real plugin registry
  (``load_plugins()``) are set up.
"""

import collections.abc
import dataclasses
import json
import pathlib
import sys
import typing

import pytest
from imbi_plugin_testing import SecretScan

# hosts/ on the path for _support (it holds no imbi_plugin_* module).
sys.path.append(str(pathlib.Path(__file__).parent))
import _support
from _support import (
    PROJECT_ID,
    PROJECT_SLUG,
    TEAM_SLUG,
    Columns,
    Params,
    Rows,
)

PERMISSIONS = _support.PROJECT_PERMISSIONS

valkey_url = _support.valkey_url


@dataclasses.dataclass
class Assignment:
    plugin_id: str
    tab: str
    src: typing.Literal['project', 'project_type']
    options: dict[str, typing.Any]
    default: bool = True


class GraphStandIn(_support.UserNodes):
    """In-memory answers to the Cypher the host's plugin paths issue.

    Options and credentials are stored as AGE returns them (JSON text;
    credentials Fernet-encrypted with the host's own TokenEncryption).
    """

    def __init__(self) -> None:
        super().__init__()
        self.plugins: dict[str, dict[str, typing.Any]] = {}
        self.assignments: list[Assignment] = []
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
        self.refuse(text)

    def answer(self, text: str, params: Params, columns: Columns) -> Rows:
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
        if (session := self.session_rows(text, params)) is not None:
            return session
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
        self.refuse(text)


class AuditRecorder(_support.InsertRecorder):
    """Stands in for ClickHouse: keeps every audit row the host inserts
    (its table under ``table``)."""


@dataclasses.dataclass
class Imbi(_support.HostCalls):
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


@pytest.fixture
def imbi(
    valkey_url: str,
    monkeypatch: pytest.MonkeyPatch,
    secret_scan: SecretScan,
    caplog: pytest.LogCaptureFixture,
) -> collections.abc.Iterator[Imbi]:
    """The host, with the secret scan over every answer it gives, every
    record it (and the plugins) log and every audit row it writes."""
    from imbi_api import app as app_module
    from imbi_common import clickhouse
    from imbi_common.plugins import registry

    _support.host_settings(monkeypatch, secret_scan)
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

    async def start() -> None:
        loaded = registry.load_plugins()
        assert not loaded.errors, loaded.errors

    with _support.running_api(
        app, start, graph, granted, secret_scan, caplog, packages='imbi_'
    ) as (client, current_user):
        yield Imbi(client, graph, audit, valkey_url, granted, current_user)
    for row in audit.rows:
        secret_scan.record_text('audit row', json.dumps(row, default=str))
    assert not graph.unknown, graph.unknown
