"""The real imbi-api 2.41 (plugin API v3), in-process, with only what
cannot run here replaced.

Run by ``nox -s host_v3`` in a clean venv holding a real imbi-api from
PyPI and our built plugin wheels (never the workspace venv). The app is
the one imbi-api's own ``create_app()`` builds, driven through its own
HTTP routes with Starlette's TestClient. Setting up is done through the
host's routes too: the admin's enable step (``PUT
/admin/plugins/{slug}/registration``), creating an Integration (``POST
/organizations/{org}/integrations/``, which encrypts the credentials)
and binding it to the project (``PUT
/organizations/{org}/projects/{id}/integrations/``, ``USES {capability}``
edges). Replaced, and nothing else:

- the graph database (PostgreSQL with Apache AGE): :class:`GraphStandIn`
  answers the Cypher those paths send, keeping what they write, and
  fails the test on any query it does not know;
- Iggy (the operations log of 2.41): rows go to :class:`OpsLogRecorder`;
  the ``apache_iggy`` module itself is the stub in ``hosts/stubs``
  (noxfile.py copies it in);
- authentication: ``get_current_user`` answers a fixed user with the
  permissions a test gives;
- the lifespan: only Valkey (a real ``redis-server`` on 127.0.0.1, started
  by ``_support.valkey_url``) and the host's own plugin start-up
  (``load_plugins()`` and its ``PluginRegistration`` seeding) run.

Started with ``--confcutdir=hosts/v3``: ``hosts/conftest.py`` holds the
v1 hosts' fixtures (of the same names), and imports the harness before
this module could load it off the path.
"""

import collections.abc
import contextlib
import dataclasses
import json
import pathlib
import re
import sys
import typing

import pytest

HERE = pathlib.Path(__file__).parent
# hosts/ on the path for _support (it holds no imbi_plugin_* module).
sys.path.append(str(HERE.parent))
import _support  # noqa: E402
from _support import (  # noqa: E402
    ORG,
    PROJECT_ID,
    PROJECT_SLUG,
    TEAM_SLUG,
    Columns,
    Params,
    Rows,
)

# The whole harness, off sys.path (see load_harness).
_support.load_harness(run_init=True)

from imbi_plugin_testing import SecretScan  # noqa: E402

PROJECT_TYPE = 'api'
PERMISSIONS = _support.PROJECT_PERMISSIONS | {
    'admin:plugins:read',
    'admin:plugins:manage',
    'integration:create',
    'integration:read',
    'integration:update',
    'project:read',
    'project:write',
}
#: Map properties AGE keeps as JSON text on an Integration node.
_MAP_FIELDS = (
    'options',
    'capabilities',
    'encrypted_credentials',
    'links',
    'identifiers',
)

secret_scan = _support.secret_scan
valkey_url = _support.valkey_url


@dataclasses.dataclass
class Uses:
    """A ``USES {capability}`` edge as the host's writer created it."""

    parent: tuple[str, str]  # ('Project', id) or ('ProjectType', slug)
    capability: str
    integration_id: str
    default: bool
    options: str  # JSON text, as the writer stores it
    env_payloads: str | None
    identity_integration_id: str | None

    @classmethod
    def written(
        cls,
        parent: tuple[str, str],
        capability: str,
        integration_id: str,
        row: dict[str, typing.Any],
    ) -> Uses:
        """The edge the writer creates for one of its assignment rows."""
        return cls(
            parent=parent,
            capability=capability,
            integration_id=integration_id,
            default=bool(row['default']),
            options=row['options'],
            env_payloads=row['env_payloads'],
            identity_integration_id=row['identity_integration_id'],
        )

    def edge(self) -> dict[str, typing.Any]:
        """The edge's properties, as ``e{.*}`` returns them."""
        return {
            'capability': self.capability,
            'default': self.default,
            'options': self.options,
            'env_payloads': self.env_payloads,
            'identity_integration_id': self.identity_integration_id,
        }


def _assignments(params: dict[str, typing.Any]) -> list[dict[str, typing.Any]]:
    """The writer's assignment rows, in order, from its ``asgn_<n>_<key>``
    parameters."""
    rows: dict[int, dict[str, typing.Any]] = {}
    for name, value in params.items():
        found = re.fullmatch(r'asgn_(\d+)_(\w+)', name)
        if found:
            rows.setdefault(int(found[1]), {})[found[2]] = value
    return [row for _, row in sorted(rows.items())]


class GraphStandIn(_support.UserNodes):
    """In-memory answers to the Cypher imbi-api 2.41's plugin paths send.

    Integrations, ``USES`` edges and ``PluginRegistration`` nodes are
    kept as the host wrote them (through its own routes); reads answer
    as AGE does (nested maps as JSON text); the login flow's User nodes
    are kept by ``UserNodes``.
    """

    def __init__(self) -> None:
        super().__init__()
        #: Integration id -> properties as the create route wrote them.
        self.integrations: dict[str, dict[str, typing.Any]] = {}
        self.uses: list[Uses] = []
        #: PluginRegistration slug -> enabled.
        self.registrations: dict[str, bool] = {}
        #: The organization's environments.
        self.environments = {'production', 'staging'}
        #: The project's links (link key -> URL).
        self.links: dict[str, str] = {}
        #: What the user's role grants (the fixture shares its set).
        self.permissions: set[str] = set()
        #: Parameters of every IdentityConnection the host saved.
        self.connections: list[dict[str, typing.Any]] = []

    # -- helpers for tests ------------------------------------------------

    def integration(self, slug: str) -> dict[str, typing.Any]:
        (found,) = [i for i in self.integrations.values() if i['slug'] == slug]
        return found

    # -- what AGE would answer -------------------------------------------

    def _by_slug(self, slug: str) -> dict[str, typing.Any] | None:
        for props in self.integrations.values():
            if props['slug'] == slug:
                return props
        return None

    def _replace_type_uses(self, params: dict[str, typing.Any]) -> None:
        """One Integration's project-type edges of one kind, replaced."""
        target = self._by_slug(params['slug'])
        if target is None:
            return
        kind = params['kind']
        self.uses = [
            e
            for e in self.uses
            if not (
                e.parent[0] == 'ProjectType'
                and e.capability == kind
                and e.integration_id == target['id']
            )
        ]
        parent = ('ProjectType', PROJECT_TYPE)
        self.uses.extend(
            Uses.written(parent, kind, target['id'], row)
            for row in _assignments(params)
            if row['project_type_slug'] == PROJECT_TYPE
        )

    @staticmethod
    def _age(props: dict[str, typing.Any]) -> dict[str, typing.Any]:
        return {
            key: json.dumps(value) if key in _MAP_FIELDS else value
            for key, value in props.items()
        }

    def _edges(self, parent: tuple[str, str], kind: str) -> list[typing.Any]:
        found = [
            {
                'id': edge.integration_id,
                'options': edge.options,
                'env_payloads': edge.env_payloads,
                'default': edge.default,
                'identity_integration_id': edge.identity_integration_id,
            }
            for edge in self.uses
            if edge.parent == parent and edge.capability == kind
        ]
        # collect() over an OPTIONAL MATCH that matched nothing: one map
        # of nulls, which the host skips (no id).
        return found or [
            {
                'id': None,
                'options': None,
                'env_payloads': None,
                'default': None,
                'identity_integration_id': None,
            }
        ]

    def _replace_uses(self, text: str, params: dict[str, typing.Any]) -> None:
        """``replace_capability_assignments``: drop a parent's edges of one
        kind, create the rows (``asgn_<n>_<key>`` parameters)."""
        label = (
            'Project' if 'MATCH (parent:Project ' in text else 'ProjectType'
        )
        parent = (label, params['parent_value'])
        kind = params['kind']
        self.uses = [
            e
            for e in self.uses
            if not (e.parent == parent and e.capability == kind)
        ]
        for row in _assignments(params):
            assert row['integration_id'] in self.integrations, row
            self.uses.append(
                Uses.written(parent, kind, row['integration_id'], row)
            )

    def answer(self, text: str, params: Params, columns: Columns) -> Rows:
        org_ok = params.get('org_slug', ORG) == ORG
        project_ok = params.get('project_id', PROJECT_ID) == PROJECT_ID
        # -- plugin registry: seeding, the admin's enable step, lookups
        if text.startswith('MERGE (r:PluginRegistration {{slug: {slug}}})'):
            slug = params['slug']
            if 'coalesce(r.enabled' in text:
                self.registrations.setdefault(slug, params['default'])
            else:
                self.registrations[slug] = params['enabled']
            return []
        if text.startswith('MATCH (r:PluginRegistration {{slug: {slug}}})'):
            if params['slug'] not in self.registrations:
                return []
            return [{'enabled': self.registrations[params['slug']]}]
        if text.startswith('MATCH (r:PluginRegistration) RETURN r.slug'):
            return [
                {'slug': slug, 'enabled': enabled}
                for slug, enabled in self.registrations.items()
            ]
        if text == 'MATCH (i:Integration) RETURN DISTINCT i.plugin AS slug':
            return [
                {'slug': plugin}
                for plugin in {i['plugin'] for i in self.integrations.values()}
            ]
        # -- Integrations: create, read
        if ' CREATE (i:Integration {' in text and 'team: null' in text:
            if not org_ok:
                return []
            props = {
                key: params[key]
                for key in params
                if key != 'org_slug' and not key.startswith('asgn_')
            }
            if any(
                i['slug'] == props['slug'] for i in self.integrations.values()
            ):
                raise AssertionError(f'duplicate Integration {props["slug"]}')
            self.integrations[props['id']] = props
            organization = {'slug': ORG, 'name': 'AWeber'}
            return [
                {
                    'integration': {
                        **self._age(props),
                        'organization': organization,
                        'team': None,
                    }
                }
            ]
        if text.startswith(
            'MATCH (i:Integration)-[:BELONGS_TO]->'
            '(:Organization {{slug: {org_slug}}}) RETURN i'
        ):
            if not org_ok:
                return []
            return [{'i': self._age(i)} for i in self.integrations.values()]
        if text.startswith('UNWIND {slugs} AS s MATCH (i:Integration'):
            if not org_ok:
                return []
            return [
                {'i': self._age(i)}
                for i in self.integrations.values()
                if i['slug'] in params['slugs']
            ]
        if text == (
            'MATCH (i:Integration {{id: {integration_id}}}) RETURN i LIMIT 1'
        ):
            found = self.integrations.get(params['integration_id'])
            return [{'i': self._age(found)}] if found else []
        # -- the user's organization membership (deployment routes)
        if text.startswith(
            'MATCH (o:Organization {{slug: {org_slug}}}) OPTIONAL MATCH'
            ' (u:User {{email: {email}}})-[:MEMBER_OF]->(o)'
        ):
            return [{'id': 'org-aweber', 'member': True}] if org_ok else []
        # -- the user's permissions in the organization (its role), the
        # same the test grants (deployment routes check them per org)
        if text.startswith(
            'MATCH (p:User {{email: {value}}})-[m:MEMBER_OF]->'
        ):
            if not org_ok:
                return []
            return [{'permissions': sorted(self.permissions)}]
        if 'RETURN p.id AS id LIMIT 1' in text and ':OWNED_BY' in text:
            return [{'id': PROJECT_ID}] if org_ok and project_ok else []
        # -- deployment: the environment's flags
        if 'RETURN e.can_deploy AS can_deploy' in text:
            if not org_ok or params['env_slug'] not in self.environments:
                return []
            return [
                {
                    'can_deploy': True,
                    'can_promote': True,
                    'allow_autonomous': False,
                }
            ]
        # -- deployment: no release of the project is blocked
        if ':HAS_RELEASE]->(r:Release) -[:BLOCKED_BY]->(b:Blocker)' in text:
            return []
        if (
            ':HAS_RELEASE]->(r:Release)' in text
            and 'RETURN r.id AS rid' in text
        ):
            return []  # the project has no Release nodes
        # -- the login provider: at most one per organization
        if 'SET other.used_as_login = false' in text:
            for props in self.integrations.values():
                if props['slug'] != params['slug']:
                    props['used_as_login'] = False
            return []
        if 'SET i.used_as_login = {used_as_login}' in text:
            found = self._by_slug(params['slug']) if org_ok else None
            if found is None:
                return []
            found['used_as_login'] = params['used_as_login']
            return [
                {
                    'integration': {
                        **self._age(found),
                        'organization': {'slug': ORG, 'name': 'AWeber'},
                        'team': None,
                    }
                }
            ]
        if text.startswith('MATCH (i:Integration {{slug: {slug}}})') and (
            'WHERE i.used_as_login = true RETURN i LIMIT 1' in text
        ):
            found = self._by_slug(params['slug'])
            if found is None or not found.get('used_as_login'):
                return []
            return [{'i': self._age(found)}]
        # -- sessions
        if (session := self.session_rows(text, params)) is not None:
            return session
        # -- identity connections
        if text.startswith('MERGE (c:IdentityConnection {{integration_id:'):
            self.connections.append(dict(params))
            return [{'id': params['new_id']}]
        # -- USES edges: the project's capability bindings
        if 'RETURN org.slug AS org_slug, proj_edges, ptype_edges' in text:
            if not project_ok:
                return []
            kind = params['kind']
            return [
                {
                    'org_slug': ORG,
                    'proj_edges': self._edges(('Project', PROJECT_ID), kind),
                    'ptype_edges': self._edges(
                        ('ProjectType', PROJECT_TYPE), kind
                    ),
                }
            ]
        if 'RETURN collect(DISTINCT i.id) AS ids' in text:
            ids = sorted(
                {
                    e.integration_id
                    for e in self.uses
                    if e.parent[0] == 'ProjectType'
                    and e.capability == params['kind']
                }
            )
            return [{'ids': ids}]
        if 'RETURN o.slug AS org_slug' in text and ':OWNED_BY' in text:
            if not (org_ok and project_ok):
                return []
            return [{'org_slug': ORG}]
        if 'RETURN i.slug AS integration_slug, e{{.*}} AS edge' in text:
            if not (org_ok and project_ok):
                return []
            return [
                {
                    'integration_slug': self.integrations[e.integration_id][
                        'slug'
                    ],
                    'edge': e.edge(),
                }
                for e in self.uses
                if e.parent == ('Project', PROJECT_ID)
            ]
        if 'CREATE (parent)-[:USES' in text or (
            'OPTIONAL MATCH (parent)-[old:USES]->()' in text
        ):
            if org_ok:
                self._replace_uses(text, params)
            return []
        # -- USES edges of one Integration from project types
        if text.startswith(
            'MATCH (i:Integration {{slug: {slug}}})'
            ' -[:BELONGS_TO]->(:Organization {{slug: {org_slug}}})'
            ' OPTIONAL MATCH (:ProjectType)-[old:USES]->(i)'
        ):
            if org_ok:
                self._replace_type_uses(params)
            return []
        if 'RETURN pt.slug AS project_type_slug, e{{.*}} AS edge' in text:
            if not org_ok:
                return []
            return [
                {
                    'project_type_slug': e.parent[1],
                    'edge': e.edge(),
                }
                for e in self.uses
                if e.parent[0] == 'ProjectType'
                and e.capability == params['kind']
                and self.integrations[e.integration_id]['slug']
                == params['slug']
            ]
        if 'OPTIONAL MATCH (pt:ProjectType {{slug: s}})' in text:
            found = {PROJECT_TYPE} & set(params['slugs']) if org_ok else set()
            return [{'found': len(found)}]
        if text.startswith('MATCH (i:Integration {{slug: {slug}}})') and (
            text.endswith('team: t{{.*}}}} AS integration')
        ):
            found = self._by_slug(params['slug']) if org_ok else None
            if found is None:
                return []
            return [
                {
                    'integration': {
                        **self._age(found),
                        'organization': {'slug': ORG, 'name': 'AWeber'},
                        'team': None,
                    }
                }
            ]
        # -- credentials: read, compare-and-swap write
        if 'RETURN i.encrypted_credentials AS creds' in text:
            found = self._by_slug(params['slug']) if org_ok else None
            if found is None:
                return []
            return [{'creds': json.dumps(found['encrypted_credentials'])}]
        if 'SET i.encrypted_credentials = {blob}' in text:
            found = self._by_slug(params['slug']) if org_ok else None
            if found is None:
                return []
            stored = json.dumps(found['encrypted_credentials'])
            if params['expected'] not in (stored, ''):
                return []
            found['encrypted_credentials'] = json.loads(params['blob'])
            return [{'i': self._age(found)}]
        # -- the project, its type, the organization's environments
        if 'RETURN p.slug AS slug, t.slug AS team_slug' in text:
            if not project_ok:
                return []
            return [{'slug': PROJECT_SLUG, 'team_slug': TEAM_SLUG}]
        if 'RETURN pt.slug AS slug' in text and ':TYPE]->' in text:
            return [{'slug': PROJECT_TYPE}] if project_ok else []
        if text.startswith('MATCH (e:Environment)-[:BELONGS_TO]->'):
            if not org_ok:
                return []
            return [
                {'slug': slug}
                for slug in params['slugs']
                if slug in self.environments
            ]
        if 'RETURN p.links AS links' in text:
            return [{'links': json.dumps(self.links)}]
        if 'RETURN p.name AS name, p.description AS description' in text:
            if not project_ok:
                return []
            return [{'name': 'Billing API', 'description': 'Bills.'}]
        if text.startswith('MATCH (p:Project {{id: {project_id}}})') and (
            ':EXISTS_IN]->(i:Integration)' in text
        ):
            # The project exists in no third-party service, and has no
            # DEPENDS_ON projects.
            return []
        self.refuse(text)


class OpsLogRecorder(_support.InsertRecorder):
    """Stands in for Iggy (imbi.common.iggy's client, 2.32 and later) and
    ClickHouse (where 2.31 writes the operations log): keeps every row.
    The stream (Iggy) or table (ClickHouse) is the row's ``stream``."""

    table_key = 'stream'

    async def publish_rows(
        self,
        stream: str,
        topic: str,
        rows: list[dict[str, typing.Any]],
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        for row in rows:
            self.rows.append({'stream': stream, 'topic': topic, **row})

    async def publish(
        self,
        stream: str,
        topic: str,
        models: list[typing.Any],
        *,
        columns: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        await self.publish_rows(
            stream,
            topic,
            [model.model_dump(mode='json') for model in models],
        )

    def actions(self, stream: str = 'operations_log') -> list[str]:
        """The ``action`` of each row's JSON description."""
        return [
            json.loads(row['description'])['action']
            for row in self.rows
            if row['stream'] == stream
        ]


@dataclasses.dataclass
class Imbi(_support.HostCalls):
    """The running host and what its replaced parts recorded."""

    client: typing.Any  # starlette.testclient.TestClient
    graph: GraphStandIn
    opslog: OpsLogRecorder
    valkey_url: str
    permissions: set[str]
    load: typing.Any  # the registry's LoadResult at start-up
    #: The overridden ``get_current_user`` (for calls made directly).
    current_user: collections.abc.Callable[
        [], collections.abc.Awaitable[typing.Any]
    ]

    def enable(self, slug: str, enabled: bool = True) -> None:
        """The admin's enable step, through the host's route."""
        response = self.client.put(
            f'/api/admin/plugins/{slug}/registration',
            json={'enabled': enabled},
        )
        assert response.status_code == 200, response.text
        assert response.json()['enabled'] is enabled

    def integrate(
        self,
        plugin: str,
        *,
        slug: str | None = None,
        options: dict[str, typing.Any] | None = None,
        credentials: dict[str, str] | None = None,
        capabilities: dict[str, dict[str, typing.Any]] | None = None,
        enable: bool = True,
    ) -> dict[str, typing.Any]:
        """Create an Integration through the host's route.

        ``capabilities``: kind -> its options; every other capability
        of the plugin is switched off (the route enables what a request
        leaves out, and an enabled ``identity`` makes the other kinds
        ask for the user's connection).
        """
        from imbi.common.plugins.registry import get_plugin

        wanted = capabilities or {}
        manifest = get_plugin(plugin).manifest
        toggles = {
            c.kind: {
                'enabled': c.kind in wanted,
                'options': wanted.get(c.kind) or {},
            }
            for c in manifest.capabilities
        }
        if enable:
            self.enable(plugin)
        response = self.client.post(
            f'/api/organizations/{ORG}/integrations/',
            json={
                'plugin': plugin,
                'name': plugin.title(),
                'slug': slug or f'{plugin}-main',
                'options': options or {},
                'credentials': credentials or {},
                'capabilities': toggles,
            },
        )
        assert response.status_code == 201, response.text
        return typing.cast(dict[str, typing.Any], response.json())

    def bind(
        self,
        integration_slug: str,
        capability: str,
        *,
        options: dict[str, typing.Any] | None = None,
        env_payloads: dict[str, dict[str, typing.Any]] | None = None,
        project_type_options: dict[str, typing.Any] | None = None,
    ) -> None:
        """``USES {capability}`` edges through the host's routes: the
        project's (``options``) and, with ``project_type_options``, the
        project type's."""
        if project_type_options is not None:
            response = self.client.put(
                f'/api/organizations/{ORG}/integrations/'
                f'{integration_slug}/capabilities/{capability}/assignments',
                json={
                    'assignments': [
                        {
                            'project_type_slug': PROJECT_TYPE,
                            'default': True,
                            'options': project_type_options,
                        }
                    ]
                },
            )
            assert response.status_code == 200, response.text
        current = self.client.get(
            f'/api/organizations/{ORG}/projects/{PROJECT_ID}/integrations/'
        )
        assert current.status_code == 200, current.text
        assignments = [
            a
            for a in current.json()
            if (a['integration_slug'], a['capability'])
            != (integration_slug, capability)
        ]
        assignments.append(
            {
                'integration_slug': integration_slug,
                'capability': capability,
                'default': True,
                'options': options or {},
                'env_payloads': env_payloads or {},
            }
        )
        response = self.client.put(
            f'/api/organizations/{ORG}/projects/{PROJECT_ID}/integrations/',
            json={'assignments': assignments},
        )
        assert response.status_code == 200, response.text


@pytest.fixture
def imbi(
    valkey_url: str,
    monkeypatch: pytest.MonkeyPatch,
    secret_scan: SecretScan,
    caplog: pytest.LogCaptureFixture,
) -> collections.abc.Iterator[Imbi]:
    """imbi-api 2.41, with the secret scan over every answer it gives,
    every record it (and the plugins) log and every ops-log row."""
    from imbi.api import app as app_module
    from imbi.api.plugins import lifecycle as plugin_lifecycle
    from imbi.common import clickhouse
    from imbi.common.plugins import registry

    _support.host_settings(monkeypatch, secret_scan)
    # The prototype plugin, by the registry's explicit path (IMBI_PLUGINS).
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv('IMBI_PLUGINS', 'v3_prototype:PrototypePlugin')
    graph = GraphStandIn()
    opslog = OpsLogRecorder()
    granted = set(PERMISSIONS)
    graph.permissions = granted
    monkeypatch.setattr(
        clickhouse.client.Clickhouse,
        'get_instance',
        classmethod(lambda cls: opslog),
    )
    with contextlib.suppress(ModuleNotFoundError):  # 2.32 and later
        from imbi.common.iggy import client as iggy_client

        monkeypatch.setattr(
            iggy_client.Iggy, 'get_instance', classmethod(lambda cls: opslog)
        )
    app = app_module.create_app()
    monkeypatch.setenv('VALKEY_URL', valkey_url)
    loaded: list[typing.Any] = []

    async def start() -> None:
        # imbi-api's startup_load_plugins without its AGE schema steps
        # (they open their own PostgreSQL connection): the registry, the
        # PluginRegistration seeding (disabled) and the audit of
        # Integrations whose plugin is missing.
        loaded.append(registry.load_plugins())
        await plugin_lifecycle._seed_registrations(graph)
        await plugin_lifecycle.audit_unavailable(graph)

    with _support.running_api(
        app, start, graph, granted, secret_scan, caplog, packages='imbi.'
    ) as (client, current_user):
        yield Imbi(
            client,
            graph,
            opslog,
            valkey_url,
            granted,
            loaded[0],
            current_user,
        )
    for row in opslog.rows:
        secret_scan.record_text('ops-log row', json.dumps(row, default=str))
    assert not graph.unknown, '\n'.join(['unknown queries:', *graph.unknown])
