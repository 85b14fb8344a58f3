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
- the lifespan: only Valkey (a real ``redis-server`` on 127.0.0.1 started
  here) and the host's own plugin start-up (``load_plugins()`` and its
  ``PluginRegistration`` seeding) run.

Started with ``--confcutdir=hosts/v3``: ``hosts/conftest.py`` holds the
v1 hosts' fixtures (of the same names), and imports the harness before
this module could load it off the path.
"""

import base64
import collections.abc
import contextlib
import dataclasses
import functools
import importlib.util
import json
import logging
import pathlib
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import typing

import pytest

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parents[1]
HARNESS = ROOT / 'shared' / 'testing' / 'src' / 'imbi_plugin_testing'


def _harness_off_the_path() -> None:
    """Import the harness from the source tree without putting it on
    ``sys.path``.

    The 2.41 registry imports every top-level ``imbi_plugin_*`` module it
    can find on ``sys.path`` and would record the harness (no ``PLUGIN``)
    as a load error; a real host never has it. So the host's venv does
    not hold the harness wheel, and the package is loaded here by its
    location (its stand-ins, secret scan and the rest import as usual
    through the package's ``__path__``).
    """
    if 'imbi_plugin_testing' in sys.modules:
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


_harness_off_the_path()

from imbi_plugin_testing import SecretScan  # noqa: E402

ORG = 'aweber'
PROJECT_ID = 'p-billing'
PROJECT_SLUG = 'billing-api'
TEAM_SLUG = 'payments'
PROJECT_TYPE = 'api'
#: IMBI_API_URL ends in /api, so the host serves its routes under /api.
API_URL = 'https://imbi.example.com/api'
BASE = f'/api/organizations/{ORG}/projects/{PROJECT_ID}'
PERMISSIONS = frozenset(
    {
        'admin:plugins:read',
        'admin:plugins:manage',
        'integration:create',
        'integration:read',
        'integration:update',
        'project:read',
        'project:write',
        'project:configuration:read',
        'project:configuration:read_secrets',
        'project:configuration:write',
        'project:logs:read',
        'me:identities:manage',
        'project:deployment:read',
        'project:deployment:write',
    }
)
#: Map properties AGE keeps as JSON text on an Integration node.
_MAP_FIELDS = (
    'options',
    'capabilities',
    'encrypted_credentials',
    'links',
    'identifiers',
)

T = typing.TypeVar('T')
JWT_SECRET = secrets.token_urlsafe(32)
ENCRYPTION_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _one_line(query: str) -> str:
    return ' '.join(query.split())


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


class GraphStandIn:
    """In-memory answers to the Cypher imbi-api 2.41's plugin paths send.

    Integrations, ``USES`` edges and ``PluginRegistration`` nodes are
    kept as the host wrote them (through its own routes); reads answer
    as AGE does (nested maps as JSON text).
    """

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.unknown: list[str] = []
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
        #: User nodes the host merged (the login flow), by e-mail.
        self.users: dict[str, typing.Any] = {}
        #: The principal of every token pair the host issued.
        self.token_pairs: list[str] = []

    # -- helpers for tests ------------------------------------------------

    def integration(self, slug: str) -> dict[str, typing.Any]:
        (found,) = [i for i in self.integrations.values() if i['slug'] == slug]
        return found

    # -- the graph client's model methods (the login flow's User) ---------

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
        rows: dict[int, dict[str, typing.Any]] = {}
        for name, value in params.items():
            found = re.fullmatch(r'asgn_(\d+)_(\w+)', name)
            if found:
                rows.setdefault(int(found[1]), {})[found[2]] = value
        for _, row in sorted(rows.items()):
            if row['project_type_slug'] != PROJECT_TYPE:
                continue
            self.uses.append(
                Uses(
                    parent=('ProjectType', PROJECT_TYPE),
                    capability=kind,
                    integration_id=target['id'],
                    default=bool(row['default']),
                    options=row['options'],
                    env_payloads=row['env_payloads'],
                    identity_integration_id=row['identity_integration_id'],
                )
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
        rows: dict[int, dict[str, typing.Any]] = {}
        for name, value in params.items():
            found = re.fullmatch(r'asgn_(\d+)_(\w+)', name)
            if found:
                rows.setdefault(int(found[1]), {})[found[2]] = value
        for _, row in sorted(rows.items()):
            assert row['integration_id'] in self.integrations, row
            self.uses.append(
                Uses(
                    parent=parent,
                    capability=kind,
                    integration_id=row['integration_id'],
                    default=bool(row['default']),
                    options=row['options'],
                    env_payloads=row['env_payloads'],
                    identity_integration_id=row['identity_integration_id'],
                )
            )

    async def execute(
        self,
        query: str,
        params: dict[str, typing.Any] | None = None,
        columns: list[str] | None = None,
    ) -> list[dict[str, typing.Any]]:
        text = _one_line(query)
        params = params or {}
        self.queries.append(text)
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
        # -- sessions: the user's membership (one, so none is made), the
        # token pair's metadata
        if 'OPTIONAL MATCH (u)-[m:MEMBER_OF]->() RETURN count(m)' in text:
            return [{'edges': 1}]
        if 'CREATE (at:TokenMetadata' in text:
            if params.get('principal_id') not in self.users:
                return [{'principal_count': 0}]
            self.token_pairs.append(params['principal_id'])
            return [{'principal_count': 1}]
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
                    'edge': {
                        'capability': e.capability,
                        'default': e.default,
                        'options': e.options,
                        'env_payloads': e.env_payloads,
                        'identity_integration_id': e.identity_integration_id,
                    },
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
                    'edge': {
                        'capability': e.capability,
                        'default': e.default,
                        'options': e.options,
                        'env_payloads': e.env_payloads,
                        'identity_integration_id': e.identity_integration_id,
                    },
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
        self.unknown.append(text)
        raise AssertionError(f'the graph stand-in does not know: {text}')


class OpsLogRecorder:
    """Stands in for Iggy (imbi.common.iggy's client, 2.32 and later) and
    ClickHouse (where 2.31 writes the operations log): keeps every row.
    The stream (Iggy) or table (ClickHouse) is the row's ``stream``."""

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
                    'stream': table,
                    **dict(zip(column_names, values, strict=True)),
                }
            )

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
class Imbi:
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def secret_scan() -> collections.abc.Iterator[SecretScan]:
    """The harness's secret scan (its pytest plugin is not registered:
    the harness is not installed, see ``_harness_off_the_path``)."""
    with SecretScan() as scan:
        yield scan
    scan.check()


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
    """imbi-api 2.41, with the secret scan over every answer it gives,
    every record it (and the plugins) log and every ops-log row."""
    from fastapi import testclient
    from imbi.api import app as app_module
    from imbi.api.auth import permissions
    from imbi.api.domain import models
    from imbi.api.plugins import lifecycle as plugin_lifecycle
    from imbi.common import clickhouse
    from imbi.common import graph as graph_module
    from imbi.common import lifespan as lifespan_module
    from imbi.common import valkey as valkey_module
    from imbi.common.plugins import registry

    monkeypatch.setenv('IMBI_API_URL', API_URL)
    # Fixed for the session: the host caches its auth settings in more
    # than one singleton, each generating its own secret when none is set.
    monkeypatch.setenv('IMBI_AUTH_JWT_SECRET', JWT_SECRET)
    monkeypatch.setenv('IMBI_AUTH_ENCRYPTION_KEY', ENCRYPTION_KEY)
    # The prototype plugin, by the registry's explicit path (IMBI_PLUGINS).
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv('IMBI_PLUGINS', 'v3_prototype:PrototypePlugin')
    secret_scan.add(JWT_SECRET, ENCRYPTION_KEY)
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

    @contextlib.asynccontextmanager
    async def plugins() -> collections.abc.AsyncIterator[None]:
        # imbi-api's startup_load_plugins without its AGE schema steps
        # (they open their own PostgreSQL connection): the registry, the
        # PluginRegistration seeding (disabled) and the audit of
        # Integrations whose plugin is missing.
        loaded.append(registry.load_plugins())
        await plugin_lifecycle._seed_registrations(graph)
        await plugin_lifecycle.audit_unavailable(graph)
        await valkey_module.get_client().flushdb()
        yield

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
