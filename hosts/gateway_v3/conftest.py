"""The real imbi-gateway v3 (2.31.0, 2.41.0), in-process.

Run by ``nox -s host_gateway_v3`` in a clean venv per gateway release
holding our sonarqube-sync wheel (never in the workspace venv), with
``--confcutdir`` so that the v1 hosts' conftest, which needs the v1
``imbi_common``, is not loaded. Every test runs for the prototype plugin
in prototype/ and for ours.

The app is the one ``imbi.gateway.app.create_app()`` builds (its
router, access-log middleware, built-in ``gateway-actions`` plugin and
the real plugin registry's ``load_plugins()``), driven through its own
``POST /notifications/{webhook_id}`` with Starlette's TestClient.
Replaced, and nothing else:

- the graph database (PostgreSQL with Apache AGE): :class:`DeliveryGraph`
  answers the two Cypher queries of the delivery path with rows as AGE
  returns them (agtype text, the Integration's dict properties as JSON
  strings, credentials Fernet-encrypted with the host's own
  TokenEncryption) and fails the test on any other query;
- the activity-feed rows: what the gateway publishes to Iggy (2.32+) or
  inserts into ClickHouse (up to 2.31) is recorded;
- the lifespan: none of its hooks (Sentry, the graph pool, ClickHouse,
  Iggy) is started; each needs a service this machine lacks;
- where the venv lacks ``apache_iggy`` (2.41), the module is the stub in
  ``hosts/stubs`` (noxfile.py copies it in).

From the harness only the secret scan and the SonarQube and Imbi API
stand-ins are used, imported without the harness package's
``__init__`` (it needs the v1 ``imbi_common``) and without putting the
harness on ``sys.path``: the v3 registry imports every ``imbi_plugin_*``
module it finds there, and a real host has no test harness.
"""

import collections.abc
import dataclasses
import json
import pathlib
import sys
import typing

import pytest

HERE = pathlib.Path(__file__).parent
# hosts/ on the path for _support (it holds no imbi_plugin_* module).
sys.path.append(str(HERE.parent))
import _support  # noqa: E402
from _support import ENCRYPTION_KEY, Columns, Params, Rows  # noqa: E402

# The harness's modules without its package's __init__ (see above).
_support.load_harness(run_init=False)

from imbi_plugin_testing.fakes.imbi_api import ImbiApiFake  # noqa: E402
from imbi_plugin_testing.fakes.sonarqube import SonarQubeFake  # noqa: E402
from imbi_plugin_testing.secrets import SecretScan  # noqa: E402

ORG = 'aweber'
PROJECT_ID = 'prj-0001'
PROJECT_SLUG = 'billing-api'
TEAM_SLUG = 'payments'
KEY = 'aweber:billing-api'
WEBHOOK_ID = 'webhook-sonarqube'
#: The Integration's own slug (an operator names it), not the plugin's.
INTEGRATION_SLUG = 'sonarqube-aweber'
WEBHOOK_ACTIONS = 'webhook-actions'


@dataclasses.dataclass(frozen=True)
class Subject:
    """A v3 webhook plugin under test and what one delivery must do."""

    #: The plugin's slug: the Integration's ``plugin`` and the rule's
    #: ``<slug>#<action>``.
    slug: str
    action: str
    handler_config: dict[str, typing.Any]
    #: (SonarQube URL, Imbi API URL) -> the Integration's options.
    integration_options: collections.abc.Callable[
        [str, str], dict[str, typing.Any]
    ]
    #: (SonarQube URL, Imbi API URL) -> the webhook-actions capability's
    #: options on the Integration.
    capability_options: collections.abc.Callable[
        [str, str], dict[str, typing.Any]
    ]
    #: Project fields after one delivery.
    expected: dict[str, typing.Any]
    #: The Authorization scheme SonarQube must see.
    sonarqube_scheme: str
    #: The SonarQube requests (method, path) one delivery makes.
    sonarqube_calls: tuple[tuple[str, str], ...]
    #: What the action raises when SonarQube refuses the token
    #: (``module:Class``; ours: the host's own error class).
    refused: str


#: The prototype in prototype/: connection URLs split over both option
#: layers, so an action that reads only one of them fails.
PROTOTYPE = Subject(
    slug='webhook-prototype',
    action='write_coverage',
    handler_config={'path': '/sonarqube_coverage'},
    integration_options=lambda sonar, imbi: {'sonarqube_url': sonar},
    capability_options=lambda sonar, imbi: {'imbi_url': imbi},
    expected={'sonarqube_coverage': 87.4},
    sonarqube_scheme='bearer',
    sonarqube_calls=(('GET', '/api/measures/component'),),
    refused='builtins:RuntimeError',
)

#: Ours: imbi-plugin-sonarqube-sync (v3 slug ``sonarqube-sync``). Its
#: manifest declares every option at Integration level (what to write
#: where is each rule's handler_config), so the capability has none;
#: basic auth (not the default) shows the options are read.
SONARQUBE_SYNC = Subject(
    slug='sonarqube-sync',
    action='update_project_from_webhook',
    handler_config={
        'metrics': {
            'coverage': '/sonarqube_coverage',
            'bugs': '/sonarqube_bugs',
        },
        'quality_gate': '/sonarqube_quality_gate',
        'branches': ['main'],
    },
    integration_options=lambda sonar, imbi: {
        'sonarqube_url': sonar,
        'imbi_url': imbi,
        'sonarqube_auth': 'basic',
    },
    capability_options=lambda sonar, imbi: {},
    expected={'sonarqube_coverage': 87.4, 'sonarqube_quality_gate': 'OK'},
    sonarqube_scheme='basic',
    sonarqube_calls=(
        ('GET', '/api/measures/component'),
        ('GET', '/api/qualitygates/project_status'),
    ),
    refused='imbi.common.plugins:PluginAuthenticationFailed',
)

SUBJECTS = [PROTOTYPE, SONARQUBE_SYNC]


secret_scan = _support.secret_scan


def _agtype(value: object) -> str | None:
    """A value as AGE hands it to psycopg: agtype text, SQL NULL."""
    return None if value is None else json.dumps(value)


class DeliveryGraph(_support.GraphLog):
    """The Webhook, its Integration, rules and the project's EXISTS_IN."""

    def __init__(
        self,
        *,
        plugin: str,
        options: dict[str, typing.Any],
        capability_options: dict[str, typing.Any],
        credentials: dict[str, str],
    ) -> None:
        from imbi.common.auth.encryption import TokenEncryption

        super().__init__()
        encrypt = TokenEncryption.get_instance().encrypt
        self.rules: list[dict[str, typing.Any]] = []
        #: The Integration node's properties as the gateway reads them;
        #: its dict properties are stored as JSON text.
        self.integration: dict[str, typing.Any] = {
            'id': 'intg-0001',
            'slug': INTEGRATION_SLUG,
            'name': 'SonarQube',
            'plugin': plugin,
            'options': options,
            'capabilities': {
                WEBHOOK_ACTIONS: {
                    'enabled': True,
                    'options': capability_options,
                }
            },
            'encrypted_credentials': {
                name: encrypt(value) for name, value in credentials.items()
            },
        }

    def rule(
        self,
        handler: str,
        config: dict[str, typing.Any] | str,
        *,
        filter_expression: str = 'true',
    ) -> None:
        self.rules.append(
            {
                'handler': handler,
                'ordinal': len(self.rules),
                'handler_config': config
                if isinstance(config, str)
                else json.dumps(config),
                'filter_expression': filter_expression,
            }
        )

    def _integration_node(self) -> dict[str, typing.Any]:
        return {
            key: json.dumps(value) if isinstance(value, dict) else value
            for key, value in self.integration.items()
        }

    def answer(self, text: str, params: Params, columns: Columns) -> Rows:
        if (
            text.startswith('MATCH (w:Webhook {{ id: {webhook_id} }})')
            and ('OPTIONAL MATCH (w)-[i:IMPLEMENTED_BY]->(intg:Integration)')
            in text
        ):
            assert columns == ['webhook', 'org', 'integration', 'sel', 'rules']
            if params.get('webhook_id') != WEBHOOK_ID:
                return []
            return [
                {
                    'webhook': _agtype(
                        {'id': WEBHOOK_ID, 'name': 'SonarQube analyses'}
                    ),
                    'org': _agtype({'slug': ORG, 'name': 'AWeber'}),
                    'integration': _agtype(self._integration_node()),
                    'sel': _agtype(
                        {
                            'identifier_selector': '/project/key',
                            'event_type_selector': 'sonarqube-analysis',
                        }
                    ),
                    'rules': _agtype(list(self.rules)),
                }
            ]
        if text.startswith('MATCH (p:Project) -[ei:EXISTS_IN') and (
            'RETURN p.id AS project_id' in text
        ):
            assert columns == [
                'project_id',
                'project_slug',
                'team_slug',
                'webhook_secret_enc',
            ]
            if (
                params.get('external_id') != KEY
                or params.get('integration_slug') != INTEGRATION_SLUG
            ):
                return []
            return [
                {
                    'project_id': _agtype(PROJECT_ID),
                    'project_slug': _agtype(PROJECT_SLUG),
                    'team_slug': _agtype(TEAM_SLUG),
                    'webhook_secret_enc': None,
                }
            ]
        self.refuse(text)


@dataclasses.dataclass
class Gateway:
    """The running gateway and what its replaced parts recorded."""

    client: typing.Any  # starlette.testclient.TestClient
    graph: DeliveryGraph
    #: Activity-feed rows: (stream/topic or table, the row as JSON).
    published: list[tuple[str, dict[str, typing.Any]]]
    sonarqube: SonarQubeFake
    imbi: ImbiApiFake
    subject: Subject
    credentials: dict[str, str]

    def rule(self, action: str | None = None, **kwargs: typing.Any) -> str:
        """Add a rule running the subject's ``action``; its handler."""
        handler = f'{self.subject.slug}#{action or self.subject.action}'
        config = kwargs.pop('config', self.subject.handler_config)
        self.graph.rule(handler, config, **kwargs)
        return handler

    def deliver(self, key: str = KEY, **payload: typing.Any) -> typing.Any:
        body = self.sonarqube.webhook_payload(key, **payload)
        return self.client.post(
            f'/notifications/{WEBHOOK_ID}',
            json=body,
            headers={'X-SonarQube-Project': key},
        )

    def outcomes(self) -> list[dict[str, typing.Any]]:
        """The handler outcomes of the last delivery's phase-2 row."""
        rows = [row for _, row in self.published if row['version'] == 1]
        assert rows, 'no disposition row was recorded'
        return list(rows[-1]['metadata']['handlers'])

    def received(self) -> list[dict[str, typing.Any]]:
        """Phase-1 rows (one per delivery reaching a project)."""
        return [row for _, row in self.published if row['version'] == 0]


def _record_events(
    monkeypatch: pytest.MonkeyPatch,
    published: list[tuple[str, dict[str, typing.Any]]],
) -> None:
    """Record the activity-feed rows where this gateway sends them."""
    from imbi.gateway import notifications

    def keep(to: str, rows: collections.abc.Iterable[typing.Any]) -> None:
        for row in rows:
            published.append((to, row.model_dump(mode='json')))

    if hasattr(notifications, 'iggy'):  # 2.32+

        async def publish(
            stream: str,
            topic: str,
            models: list[typing.Any],
            *,
            columns: list[str] | None = None,
            headers: dict[str, str] | None = None,
        ) -> None:
            keep(f'{stream}/{topic}', models)

        monkeypatch.setattr(notifications.iggy, 'publish', publish)
    else:

        async def insert(
            table: str,
            data: list[typing.Any],
            settings: dict[str, typing.Any] | None = None,
        ) -> None:
            keep(table, data)

        monkeypatch.setattr(notifications.clickhouse, 'insert', insert)


@pytest.fixture(params=SUBJECTS, ids=lambda subject: subject.slug)
def gateway(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    secret_scan: SecretScan,
) -> collections.abc.Iterator[Gateway]:
    """The gateway with the secret scan over every answer it gives,
    every record it (and the plugins) log and every row it records."""
    from imbi.common import graph as graph_module
    from imbi.common import lifespan as lifespan_module
    from imbi.common.auth.encryption import TokenEncryption
    from imbi.common.plugins import registry
    from imbi.gateway import app as app_module

    subject: Subject = request.param
    monkeypatch.setenv('IMBI_AUTH_ENCRYPTION_KEY', ENCRYPTION_KEY)
    secret_scan.add(ENCRYPTION_KEY)
    TokenEncryption.reset_instance()
    # The prototype is found as an installed plugin is: an imbi_plugin_*
    # module on sys.path.
    monkeypatch.syspath_prepend(str(HERE / 'prototype'))
    # create_app() adds its built-in plugin to IMBI_PLUGINS in os.environ;
    # set here, the variable is restored after the test.
    monkeypatch.setenv(
        'IMBI_PLUGINS', 'imbi.gateway.plugin:GatewayActionsPlugin'
    )
    loads: list[typing.Any] = []
    load_plugins = registry.load_plugins

    def recorded_load() -> typing.Any:
        loads.append(load_plugins())
        return loads[-1]

    monkeypatch.setattr(registry, 'load_plugins', recorded_load)
    published: list[tuple[str, dict[str, typing.Any]]] = []
    _record_events(monkeypatch, published)

    with _support.webhook_upstreams(
        secret_scan, key=KEY, org=ORG, project_id=PROJECT_ID
    ) as upstreams:
        urls = (upstreams.sonarqube_url, upstreams.imbi_url)
        graph = DeliveryGraph(
            plugin=subject.slug,
            options=subject.integration_options(*urls),
            capability_options=subject.capability_options(*urls),
            credentials=upstreams.credentials,
        )
        app = app_module.create_app()
        (loaded,) = loads
        assert not loaded.errors, loaded.errors
        assert subject.slug in loaded.loaded, loaded
        assert 'gateway-actions' in loaded.loaded, loaded

        app.router.lifespan_context = lifespan_module.Lifespan()
        _support.override_graph(app, graph_module, graph)
        with _support.scanned_client(
            app, secret_scan, 'gateway answer'
        ) as client:
            yield Gateway(
                client,
                graph,
                published,
                upstreams.sonarqube,
                upstreams.imbi,
                subject,
                upstreams.credentials,
            )
        for to, row in published:
            secret_scan.record_text(f'{to} row', json.dumps(row))
        assert not graph.unknown, graph.unknown
    TokenEncryption.reset_instance()
