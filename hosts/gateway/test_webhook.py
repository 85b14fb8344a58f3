"""sonarqube through imbi-gateway's own delivery route.

imbi-gateway's ``create_app()`` fails with current FastAPI on 1.3.2 and
2.11.6 (it passes ``started_at``, which FastAPI no longer accepts), so
the app is built from the gateway's own ``notifications`` router, as
``create_app()`` would mount it, after the real plugin registry loads.
Replaced: the graph database (the two queries of the delivery path),
ClickHouse (the events insert is recorded). Upstreams: the SonarQube and
Imbi API stand-ins.
"""

import base64
import collections.abc
import dataclasses
import json
import secrets
import typing

import pytest
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
ENCRYPTION_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@dataclasses.dataclass
class Gateway:
    client: typing.Any  # starlette.testclient.TestClient
    rules: list[dict[str, typing.Any]]
    events: list[typing.Any]
    sonarqube: SonarQubeFake
    imbi: ImbiApiFake

    def deliver(self, payload: dict[str, typing.Any]) -> typing.Any:
        return self.client.post('/notifications/webhook-1', json=payload)


class DeliveryGraph:
    """The webhook's node, rules, service, plugin and the project."""

    def __init__(
        self,
        rules: list[dict[str, typing.Any]],
        service: dict[str, typing.Any],
        plugin: dict[str, typing.Any],
    ) -> None:
        self.rules = rules
        self.service = service
        self.plugin = plugin
        self.unknown: list[str] = []

    async def execute(
        self,
        query: str,
        params: dict[str, typing.Any] | None = None,
        columns: list[str] | None = None,
    ) -> list[dict[str, typing.Any]]:
        text = ' '.join(query.split())
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
            if (params or {}).get('external_id') != KEY:
                return []
            return [
                {
                    'project_id': PROJECT_ID,
                    'project_slug': 'billing-api',
                    'team_slug': 'payments',
                }
            ]
        self.unknown.append(text)
        raise AssertionError(f'the graph stand-in does not know: {text}')


@pytest.fixture
def gateway(
    monkeypatch: pytest.MonkeyPatch, secret_scan: SecretScan
) -> collections.abc.Iterator[Gateway]:
    import fastapi
    from fastapi import testclient
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
    sonarqube = SonarQubeFake()
    sonarqube.add_project(KEY, 'Billing API')
    sonarqube.set_measures(KEY, coverage='87.4', bugs='3', gate='OK')
    imbi = ImbiApiFake()
    imbi.add_project(ORG, PROJECT_ID, name='Billing API')
    with sonarqube.serve() as sonar_url, imbi.serve() as imbi_url:
        credentials = {
            'api_token': sonarqube.issue_token('imbi'),
            'imbi_api_key': imbi.issue_api_key(),
            'imbi_url': imbi_url,
        }
        secret_scan.add(credentials['api_token'], credentials['imbi_api_key'])
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
            {'slug': 'sonarqube', 'api_endpoint': sonar_url},
            plugin,
        )
        loaded = registry.load_plugins()
        assert not loaded.errors, loaded.errors
        app = fastapi.FastAPI()
        app.include_router(notifications.router)

        async def the_graph() -> collections.abc.AsyncIterator[DeliveryGraph]:
            yield db

        app.dependency_overrides[graph_module._inject_graph] = the_graph
        with testclient.TestClient(
            app, raise_server_exceptions=False
        ) as client:

            def scan_answer(response: typing.Any) -> None:
                response.read()
                secret_scan.record_text('gateway answer', response.text)

            client.event_hooks['response'].append(scan_answer)
            yield Gateway(client, rules, events, sonarqube, imbi)
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
