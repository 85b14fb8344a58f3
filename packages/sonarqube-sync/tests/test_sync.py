"""Webhook deliveries shaped like SonarQube's, in every calling style."""

import json
import logging

import pytest
from sonarqube_helpers import BASIC, CONFIG, KEY, ORG, PROJECT_ID, World


def _patches(world: World) -> list[list[dict[str, object]]]:
    return [
        json.loads(r.body)
        for r in world.imbi.requests_to('/projects/', 'PATCH')
    ]


async def test_main_branch_analysis_writes_typed_values(
    world: World, style: str
) -> None:
    payload = world.sonarqube.webhook_payload(KEY)
    response = await world.call(style, payload)
    assert response.ok, response.body
    project = world.project()
    assert project['sonarqube_coverage'] == 87.4
    assert project['sonarqube_bugs'] == 3
    assert type(project['sonarqube_bugs']) is int
    assert project['sonarqube_lines_of_code'] == 5230
    assert project['sonarqube_new_coverage'] == 91.0
    assert type(project['sonarqube_new_coverage']) is float
    assert project['sonarqube_reliability'] == 'A'
    assert project['sonarqube_security'] == 'B'
    assert project['sonarqube_alert_status'] == 'OK'
    assert project['sonarqube_quality_gate'] == 'OK'
    assert project['sonarqube_dashboard'] == (
        f'{world.sonar_url}/dashboard?id=aweber%3Abilling-api'
    )
    # One read each, the main branch without a branch parameter.
    measures = world.sonarqube.requests_to('/api/measures/component')
    gates = world.sonarqube.requests_to('/api/qualitygates/project_status')
    assert len(measures) == len(gates) == 1
    assert 'branch=' not in measures[0].query
    assert 'branch=' not in gates[0].query
    (patch,) = _patches(world)
    assert {op['op'] for op in patch} == {'add'}
    assert [op['path'] for op in patch] == [
        *CONFIG['metrics'].values(),
        CONFIG['quality_gate'],
        CONFIG['dashboard_url'],
    ]


async def test_patch_request_shape(world: World) -> None:
    await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    (request,) = world.imbi.requests_to('/projects/', 'PATCH')
    assert request.path == f'/organizations/{ORG}/projects/{PROJECT_ID}'
    assert request.headers['authorization'] == (
        f'Bearer {world.tokens.imbi_api_key}'
    )
    assert request.headers['content-type'] == 'application/json-patch+json'
    assert request.query == ''
    for sonar_request in world.sonarqube.requests:
        assert sonar_request.headers['authorization'] == (
            f'Bearer {world.tokens.api_token}'
        )
        assert world.tokens.api_token not in sonar_request.url_text
    # Each credential goes to its own upstream only.
    assert world.tokens.api_token not in json.dumps(request.headers)


async def test_configured_branch_is_read_with_its_name(
    world: World, style: str
) -> None:
    config = {**CONFIG, 'branches': ['main', 'release']}
    payload = world.sonarqube.webhook_payload(KEY, branch='release')
    response = await world.call(style, payload, config)
    assert response.ok, response.body
    project = world.project()
    assert project['sonarqube_coverage'] == 80.0
    assert project['sonarqube_reliability'] == 'C'
    assert project['sonarqube_quality_gate'] == 'ERROR'
    assert project['sonarqube_dashboard'].endswith('&branch=release')
    for request in world.sonarqube.requests:
        assert 'branch=release' in request.query


async def test_main_branch_still_synced_when_listed(world: World) -> None:
    config = {**CONFIG, 'branches': ['main', 'release']}
    payload = world.sonarqube.webhook_payload(KEY)
    response = await world.call(BASIC, payload, config)
    assert response.ok
    assert world.project()['sonarqube_coverage'] == 87.4
    assert 'branch=' not in world.sonarqube.requests[0].query


@pytest.mark.parametrize(
    ('config_update', 'delivery', 'reason'),
    [
        ({}, {'branch': 'release'}, "branch 'release' is not the main"),
        (
            {'branches': ['develop']},
            {'branch': 'release'},
            "branch 'release' is not in the configured",
        ),
        (
            {'branches': ['release']},
            {},
            "branch 'main' is not in the configured",
        ),
        ({}, {'pull_request': '42'}, "pull request '42' analysis"),
        (
            {'branches': ['main', '42']},
            {'pull_request': '42'},
            "pull request '42' analysis",
        ),
        ({}, {'status': 'FAILED'}, "status is 'FAILED', not SUCCESS"),
        ({}, {'status': 'CANCELLED'}, "status is 'CANCELLED'"),
    ],
)
async def test_skipped_deliveries_touch_nothing(
    world: World,
    style: str,
    config_update: dict[str, object],
    delivery: dict[str, str],
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = world.sonarqube.webhook_payload(KEY, **delivery)
    before = dict(world.project())
    with caplog.at_level(logging.INFO, logger='imbi_plugin_sonarqube_sync'):
        response = await world.call(
            style, payload, {**CONFIG, **config_update}
        )
    assert response.ok, response.body
    assert world.network_requests() == 0
    assert world.project() == before
    assert any(
        reason in r.getMessage() and r.levelno == logging.INFO
        for r in caplog.records
    ), [r.getMessage() for r in caplog.records]


async def test_issue_change_without_task_id_syncs_main_branch(
    world: World, style: str
) -> None:
    # SonarQube sends this after an issue changes on a branch: no taskId.
    payload = world.sonarqube.webhook_payload(
        KEY, branch='release', task_id=None
    )
    assert 'taskId' not in payload
    response = await world.call(style, payload)
    assert response.ok, response.body
    assert world.project()['sonarqube_coverage'] == 87.4
    assert 'branch=' not in world.sonarqube.requests[0].query


@pytest.mark.parametrize('payload', [None, {}, b'not json', '[1, 2]'])
async def test_payload_that_is_no_analysis_syncs_main_branch(
    world: World, payload: object
) -> None:
    response = await world.call(BASIC, payload)
    assert response.ok, response.body
    assert world.project()['sonarqube_bugs'] == 3


async def test_raw_json_body_is_understood(world: World) -> None:
    payload = world.sonarqube.webhook_payload(KEY, branch='release')
    response = await world.call(
        BASIC,
        json.dumps(payload).encode(),
        {**CONFIG, 'branches': ['release']},
    )
    assert response.ok, response.body
    assert world.project()['sonarqube_bugs'] == 5


async def test_same_delivery_twice_gives_the_same_project(
    world: World, style: str
) -> None:
    payload = world.sonarqube.webhook_payload(KEY)
    assert (await world.call(style, payload)).ok
    first = dict(world.project())
    assert (await world.call(style, payload)).ok
    second = dict(world.project())
    first.pop('updated_at')
    second.pop('updated_at')
    assert first == second
    one, two = _patches(world)
    assert one == two


async def test_values_follow_a_new_analysis(world: World) -> None:
    payload = world.sonarqube.webhook_payload(KEY)
    assert (await world.call('payload', payload)).ok
    world.sonarqube.set_measures(KEY, coverage='90.1', bugs='0', gate='ERROR')
    assert (await world.call('payload', payload)).ok
    project = world.project()
    assert project['sonarqube_coverage'] == 90.1
    assert project['sonarqube_bugs'] == 0
    assert project['sonarqube_quality_gate'] == 'ERROR'


async def test_metric_without_value_is_left_out(world: World) -> None:
    config = {
        'metrics': {
            'coverage': '/sonarqube_coverage',
            'vulnerabilities': '/sonarqube_vulnerabilities',
        }
    }
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), config
    )
    assert response.ok
    (patch,) = _patches(world)
    assert patch == [
        {'op': 'add', 'path': '/sonarqube_coverage', 'value': 87.4}
    ]
    assert 'sonarqube_vulnerabilities' not in world.project()
    # No quality_gate mapped: the gate is not read.
    assert not world.sonarqube.requests_to('/api/qualitygates')


async def test_nothing_to_write_sends_no_patch(world: World) -> None:
    config = {'metrics': {'vulnerabilities': '/sonarqube_vulnerabilities'}}
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), config
    )
    assert response.ok
    assert len(world.sonarqube.requests) == 1
    assert world.imbi.requests == []


async def test_ratings_as_numbers_and_nested_pointer(world: World) -> None:
    world.imbi.project(ORG, PROJECT_ID)['quality'] = {'sonar': {}}
    config = {
        'metrics': {
            'reliability_rating': '/quality/sonar/reliability',
            'sqale_index': '/quality/sonar/debt~1minutes',
        },
        'rating_letters': False,
    }
    response = await world.call(
        'event', world.sonarqube.webhook_payload(KEY), config
    )
    assert response.ok, response.body
    assert world.project()['quality'] == {
        'sonar': {'reliability': 1.0, 'debt/minutes': 125}
    }


async def test_basic_auth_for_sonarqube_9_9(world: World) -> None:
    world.sonarqube.bearer_supported = False
    host = world.host({'sonarqube_auth': 'basic'})
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), host=host
    )
    assert response.ok, response.body
    header = world.sonarqube.requests[0].headers['authorization']
    assert header.startswith('Basic ')
    assert world.project()['sonarqube_bugs'] == 3


async def test_options_fall_back_to_credential_and_service_endpoint(
    world: World,
) -> None:
    # imbi-gateway 1.3 passes no plugin options: the URL of Imbi comes
    # from the credential, SonarQube's from the service endpoint.
    host = world.host()
    host.plugin_options = {'service_endpoint': world.sonar_url}
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), host=host
    )
    assert response.ok, response.body
    assert world.project()['sonarqube_bugs'] == 3
