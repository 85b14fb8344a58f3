"""sonarqube through imbi-gateway's own delivery route.

imbi-gateway's ``create_app()`` fails with current FastAPI on 1.3.2 and
2.11.6 (it passes ``started_at``, which FastAPI no longer accepts), so
the app is built from the gateway's own ``notifications`` router, as
``create_app()`` would mount it, after the real plugin registry loads.
Replaced: the graph database (the two queries of the delivery path),
ClickHouse (the events insert is recorded). Upstreams: the SonarQube and
Imbi API stand-ins.
"""

import collections.abc
import dataclasses
import json
import typing

import _support  # on the path through hosts/conftest.py
import pytest
from _support import ENCRYPTION_KEY, Columns, Params, Rows
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.imbi_api import ImbiApiFake
from imbi_plugin_testing.fakes.sonarqube import SonarQubeFake

KEY = 'aweber:billing-api'
ORG = 'aweber'
PROJECT_ID = 'prj-0001'
ACTION = 'update_project_from_webhook'
CONFIG: dict[str, typing.Any] = {
    'metrics': {'coverage': '/sonarqube_coverage', 'bugs': '/sonarqube_bugs'},
    'quality_gate': '/sonarqube_quality_gate',
    'branches': ['main'],
}


@dataclasses.dataclass
class Gateway:
    client: typing.Any  # starlette.testclient.TestClient
    rules: list[dict[str, typing.Any]]
    events: list[typing.Any]
    sonarqube: SonarQubeFake
    imbi: ImbiApiFake

    def deliver(self, payload: dict[str, typing.Any]) -> typing.Any:
        return self.client.post('/notifications/webhook-1', json=payload)


class DeliveryGraph(_support.GraphLog):
    """The webhook's node, rules, service, plugin and the project."""

    def __init__(
        self,
        rules: list[dict[str, typing.Any]],
        service: dict[str, typing.Any],
        plugin: dict[str, typing.Any],
    ) -> None:
        super().__init__()
        self.rules = rules
        self.service = service
        self.plugin = plugin

    def answer(self, text: str, params: Params, columns: Columns) -> Rows:
        if 'MATCH (w:Webhook' in text:
            return [
                {
                    'webhook': {'id': 'webhook-1', 'name': 'SonarQube'},
                    'org': {'slug': ORG},
                    'service': self.service,
                    'sel': {'identifier_selector': '/project/key'},
                    'rules': list(self.rules),
                    'plugin_slugs': [self.plugin['plugin_slug']],
                    'plugins': [self.plugin],
                }
            ]
        if 'RETURN p.id AS project_id' in text:
            if params.get('external_id') != KEY:
                return []
            return [
                {
                    'project_id': PROJECT_ID,
                    'project_slug': 'billing-api',
                    'team_slug': 'payments',
                }
            ]
        self.refuse(text)


@pytest.fixture
def gateway(
    monkeypatch: pytest.MonkeyPatch, secret_scan: SecretScan
) -> collections.abc.Iterator[Gateway]:
    import fastapi
    from imbi_common import clickhouse
    from imbi_common import graph as graph_module
    from imbi_common.auth.encryption import TokenEncryption
    from imbi_common.plugins import registry
    from imbi_gateway import notifications

    monkeypatch.setenv('IMBI_AUTH_ENCRYPTION_KEY', ENCRYPTION_KEY)
    TokenEncryption.reset_instance()
    events: list[typing.Any] = []

    async def insert(table: str, rows: list[typing.Any]) -> None:
        events.extend(rows)

    monkeypatch.setattr(clickhouse, 'insert', insert)
    with _support.webhook_upstreams(
        secret_scan, key=KEY, org=ORG, project_id=PROJECT_ID
    ) as upstreams:
        # v1: the Imbi URL is stored with the credentials.
        credentials = {**upstreams.credentials, 'imbi_url': upstreams.imbi_url}
        plugin = {
            'id': 'plugin-sonarqube',
            'plugin_slug': 'sonarqube',
            'plugin_configuration': TokenEncryption.get_instance().encrypt(
                json.dumps(credentials)
            ),
        }
        rules: list[dict[str, typing.Any]] = []
        db = DeliveryGraph(
            rules,
            {'slug': 'sonarqube', 'api_endpoint': upstreams.sonarqube_url},
            plugin,
        )
        loaded = registry.load_plugins()
        assert not loaded.errors, loaded.errors
        app = fastapi.FastAPI()
        app.include_router(notifications.router)

        _support.override_graph(app, graph_module, db)
        with _support.scanned_client(
            app, secret_scan, 'gateway answer'
        ) as client:
            yield Gateway(
                client, rules, events, upstreams.sonarqube, upstreams.imbi
            )
        assert not db.unknown, db.unknown
    TokenEncryption.reset_instance()


def _rule(handler: str) -> dict[str, typing.Any]:
    return {
        'handler': handler,
        'ordinal': 0,
        'handler_config': json.dumps(CONFIG),
        'filter_expression': 'true',
    }


def test_a_slug_hash_action_rule_runs_the_action(gateway: Gateway) -> None:
    gateway.rules.append(_rule(f'sonarqube#{ACTION}'))
    response = gateway.deliver(gateway.sonarqube.webhook_payload(KEY))
    assert response.status_code == 202, response.text
    project = gateway.imbi.project(ORG, PROJECT_ID)
    assert project['sonarqube_coverage'] == 87.4
    assert project['sonarqube_quality_gate'] == 'OK'
    # The delivery is recorded (2.11 adds an event for the action run).
    assert gateway.events
    again = gateway.deliver(gateway.sonarqube.webhook_payload(KEY))
    assert again.status_code == 202
    after = gateway.imbi.project(ORG, PROJECT_ID)
    assert {k: v for k, v in after.items() if k != 'updated_at'} == {
        k: v for k, v in project.items() if k != 'updated_at'
    }


def test_an_older_slug_colon_action_rule_runs_nothing(
    gateway: Gateway,
) -> None:
    """1.3+ wants ``slug#action``: a rule written ``slug:action`` fails
    validation, so none of the webhook's rules run (204)."""
    gateway.rules.append(_rule(f'sonarqube:{ACTION}'))
    response = gateway.deliver(gateway.sonarqube.webhook_payload(KEY))
    assert response.status_code == 204
    assert 'sonarqube_coverage' not in gateway.imbi.project(ORG, PROJECT_ID)


def test_an_unknown_project_runs_nothing(gateway: Gateway) -> None:
    gateway.rules.append(_rule(f'sonarqube#{ACTION}'))
    gateway.sonarqube.add_project('other:project', 'Other')
    response = gateway.deliver(
        gateway.sonarqube.webhook_payload('other:project')
    )
    assert response.status_code == 204
