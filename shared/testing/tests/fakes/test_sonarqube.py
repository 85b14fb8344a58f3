"""The SonarQube stand-in: auth, measures, gate status, error shapes."""

import base64
import collections.abc

import httpx
import pytest
from imbi_plugin_testing.fakes.sonarqube import SonarQubeFake

KEY = 'team:service'


@pytest.fixture
def fake() -> SonarQubeFake:
    fake = SonarQubeFake()
    fake.add_project(KEY, 'Service')
    fake.set_measures(
        KEY,
        coverage='81.5',
        bugs='2',
        sqale_rating='1.0',
        gate='OK',
        period={'new_coverage': '90.0', 'new_bugs': '0'},
    )
    fake.set_measures(KEY, branch='dev', coverage='70.0', gate='ERROR')
    fake.set_measures(KEY, pull_request='7', coverage='60.0', gate='WARN')
    return fake


@pytest.fixture
async def client(
    fake: SonarQubeFake,
) -> collections.abc.AsyncIterator[httpx.AsyncClient]:
    token = fake.issue_token('imbi')
    async with httpx.AsyncClient(
        transport=fake.transport(),
        base_url='http://sonarqube.test',
        headers={'Authorization': f'Bearer {token}'},
    ) as http:
        yield http


async def test_measures_of_the_main_branch(client: httpx.AsyncClient) -> None:
    response = await client.get(
        '/api/measures/component',
        params={
            'component': KEY,
            'metricKeys': 'coverage,bugs,new_coverage,vulnerabilities',
            'additionalFields': 'metrics,period',
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body['component']['key'] == KEY
    assert body['component']['qualifier'] == 'TRK'
    assert 'branch' not in body['component']
    # new_* values live in the period; a metric without value is absent.
    assert body['component']['measures'] == [
        {'metric': 'coverage', 'value': '81.5'},
        {'metric': 'bugs', 'value': '2'},
        {
            'metric': 'new_coverage',
            'period': {'value': '90.0', 'bestValue': False},
        },
    ]
    types = {m['key']: m['type'] for m in body['metrics']}
    assert types == {
        'coverage': 'PERCENT',
        'bugs': 'INT',
        'new_coverage': 'PERCENT',
        'vulnerabilities': 'INT',
    }
    assert body['period']['mode'] == 'PREVIOUS_VERSION'


async def test_measures_of_a_branch_and_a_pull_request(
    client: httpx.AsyncClient,
) -> None:
    branch = await client.get(
        '/api/measures/component',
        params={'component': KEY, 'metricKeys': 'coverage', 'branch': 'dev'},
    )
    assert branch.json()['component']['branch'] == 'dev'
    assert branch.json()['component']['measures'][0]['value'] == '70.0'
    pr = await client.get(
        '/api/measures/component',
        params={
            'component': KEY,
            'metricKeys': 'coverage',
            'pullRequest': '7',
        },
    )
    assert pr.json()['component']['pullRequest'] == '7'
    assert pr.json()['component']['measures'][0]['value'] == '60.0'


@pytest.mark.parametrize(
    ('params', 'status', 'message'),
    [
        ({'metricKeys': 'coverage'}, 400, "The 'component' parameter is"),
        ({'component': KEY}, 400, "The 'metricKeys' parameter is missing"),
        (
            {
                'component': KEY,
                'metricKeys': 'coverage',
                'branch': 'dev',
                'pullRequest': '7',
            },
            400,
            'Either branch or pull request can be provided, not both',
        ),
        (
            {'component': 'x:y', 'metricKeys': 'coverage'},
            404,
            "Component key 'x:y' not found",
        ),
        (
            {'component': KEY, 'metricKeys': 'coverage', 'branch': 'nope'},
            404,
            f"Component '{KEY}' on branch 'nope' not found",
        ),
        (
            {'component': KEY, 'metricKeys': 'coverage', 'pullRequest': '9'},
            404,
            f"Component '{KEY}' of pull request '9' not found",
        ),
        (
            {'component': KEY, 'metricKeys': 'coverage,foo,bar'},
            404,
            'The following metric keys are not found: foo, bar',
        ),
    ],
)
async def test_measures_errors_in_sonarqube_shape(
    client: httpx.AsyncClient,
    params: dict[str, str],
    status: int,
    message: str,
) -> None:
    response = await client.get('/api/measures/component', params=params)
    assert response.status_code == status
    (error,) = response.json()['errors']
    assert message in error['msg']


async def test_gate_status(client: httpx.AsyncClient) -> None:
    for params, expected in (
        ({'projectKey': KEY}, 'OK'),
        ({'projectKey': KEY, 'branch': 'dev'}, 'ERROR'),
        ({'projectKey': KEY, 'pullRequest': '7'}, 'WARN'),
    ):
        response = await client.get(
            '/api/qualitygates/project_status', params=params
        )
        status = response.json()['projectStatus']
        assert status['status'] == expected
        assert status['conditions'][0]['metricKey'] == 'new_coverage'


async def test_gate_of_a_project_never_gated(
    fake: SonarQubeFake, client: httpx.AsyncClient
) -> None:
    fake.add_project('new:one')
    fake.set_measures('new:one', coverage='1.0')
    response = await client.get(
        '/api/qualitygates/project_status', params={'projectKey': 'new:one'}
    )
    assert response.json()['projectStatus']['status'] == 'NONE'


@pytest.mark.parametrize(
    ('params', 'status', 'message'),
    [
        ({}, 400, "Either 'analysisId', 'projectId' or 'projectKey' must"),
        (
            {'projectKey': KEY, 'projectId': 'AU-T'},
            400,
            "Either 'analysisId', 'projectId' or 'projectKey' must",
        ),
        ({'analysisId': 'AU-T'}, 400, "projectKey only, not 'analysisId'"),
        (
            {'projectKey': KEY, 'branch': 'dev', 'pullRequest': '7'},
            400,
            "Either 'branch' or 'pullRequest' can be provided, not both",
        ),
        ({'projectKey': 'x:y'}, 404, "Project 'x:y' not found"),
        (
            {'projectKey': KEY, 'branch': 'nope'},
            404,
            f"Branch 'nope' in project '{KEY}' not found",
        ),
        (
            {'projectKey': KEY, 'pullRequest': '9'},
            404,
            f"Pull request '9' in project '{KEY}' not found",
        ),
    ],
)
async def test_gate_errors_in_sonarqube_shape(
    client: httpx.AsyncClient,
    params: dict[str, str],
    status: int,
    message: str,
) -> None:
    response = await client.get(
        '/api/qualitygates/project_status', params=params
    )
    assert response.status_code == status
    (error,) = response.json()['errors']
    assert message in error['msg']


async def _get(
    fake: SonarQubeFake, path: str, headers: dict[str, str]
) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://sonarqube.test'
    ) as http:
        return await http.get(
            path,
            params={
                'component': KEY,
                'metricKeys': 'coverage',
                'projectKey': KEY,
            }
            if 'measures' in path
            else {'projectKey': KEY},
            headers=headers,
        )


def _basic(login: str, password: str = '') -> dict[str, str]:
    pair = base64.b64encode(f'{login}:{password}'.encode()).decode()
    return {'Authorization': f'Basic {pair}'}


@pytest.mark.parametrize(
    'path', ['/api/measures/component', '/api/qualitygates/project_status']
)
async def test_authentication(fake: SonarQubeFake, path: str) -> None:
    user = fake.issue_token('imbi')
    assert user.startswith('squ_')
    ok = await _get(fake, path, {'Authorization': f'Bearer {user}'})
    assert ok.status_code == 200
    assert (await _get(fake, path, _basic(user))).status_code == 200
    # Basic with a password is a login, not a token.
    refused = await _get(fake, path, _basic(user, 'secret'))
    assert refused.status_code == 401
    anonymous = await _get(fake, path, {})
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        'errors': [{'msg': 'Authentication is required'}]
    }
    unknown = await _get(fake, path, {'Authorization': 'Bearer squ_nope'})
    assert unknown.status_code == 401
    assert unknown.content == b''
    garbled = await _get(fake, path, {'Authorization': 'Basic /w=='})
    assert garbled.status_code == 401


@pytest.mark.parametrize(
    'path', ['/api/measures/component', '/api/qualitygates/project_status']
)
@pytest.mark.parametrize(
    ('kind', 'prefix'),
    [('global_analysis', 'sqa_'), ('project_analysis', 'sqp_')],
)
async def test_analysis_tokens_are_refused(
    fake: SonarQubeFake, path: str, kind: str, prefix: str
) -> None:
    token = fake.issue_token(kind=kind)  # type: ignore[arg-type]
    assert token.startswith(prefix)
    response = await _get(fake, path, {'Authorization': f'Bearer {token}'})
    assert response.status_code == 403
    assert response.json() == {'errors': [{'msg': 'Insufficient privileges'}]}


async def test_browse_permission(fake: SonarQubeFake) -> None:
    token = fake.issue_token('other', browse={'other:project'})
    response = await _get(
        fake, '/api/measures/component', {'Authorization': f'Bearer {token}'}
    )
    assert response.status_code == 403


async def test_sonarqube_9_9_has_no_bearer(fake: SonarQubeFake) -> None:
    fake.bearer_supported = False
    token = fake.issue_token()
    bearer = await _get(
        fake, '/api/measures/component', {'Authorization': f'Bearer {token}'}
    )
    assert bearer.status_code == 401
    basic = await _get(fake, '/api/measures/component', _basic(token))
    assert basic.status_code == 200


def test_webhook_payloads(fake: SonarQubeFake) -> None:
    main = fake.webhook_payload(KEY)
    assert main['taskId']
    assert main['status'] == 'SUCCESS'
    assert main['project'] == {
        'key': KEY,
        'name': 'Service',
        'url': f'http://sonarqube.test/dashboard?id={KEY}',
    }
    assert main['branch']['isMain'] is True
    assert main['branch']['type'] == 'BRANCH'
    assert main['qualityGate']['status'] == 'OK'
    assert main['analysedAt'].endswith('+0100')
    dev = fake.webhook_payload(KEY, branch='dev', status='FAILED')
    assert dev['branch']['isMain'] is False
    assert dev['branch']['url'].endswith('&branch=dev')
    assert dev['qualityGate']['status'] == 'ERROR'
    assert dev['status'] == 'FAILED'
    pr = fake.webhook_payload(KEY, pull_request='7')
    assert pr['branch']['type'] == 'PULL_REQUEST'
    assert pr['branch']['url'].endswith('&pullRequest=7')
    issue_change = fake.webhook_payload(KEY, task_id=None)
    assert 'taskId' not in issue_change
