"""The fault matrix: what each upstream failure becomes."""

import dataclasses
import time

import pytest
from imbi_plugin_sonarqube_sync import _host, actions, client
from imbi_plugin_sonarqube_sync._host import (
    PluginAuthenticationFailed,
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_sonarqube_sync.config import UpdateProjectConfig
from imbi_plugin_testing import Fault
from sonarqube_helpers import BASIC, CONFIG, KEY, ORG, PROJECT_ID, World

#: A 429 still there after the retry: PluginRateLimited where the host
#: has it (v3), else PluginUnavailableError (v1).
RATE_LIMITED: type[Exception] = (
    _host.optional('PluginRateLimited') or PluginUnavailableError
)

MEASURES = r'/api/measures/component'
GATE = r'/api/qualitygates/project_status'
PATCH = r'/organizations/.+/projects/'


def _assert_untouched(world: World) -> None:
    assert world.imbi.requests_to(PATCH, 'PATCH') == []


# -- SonarQube --------------------------------------------------------------


@pytest.mark.parametrize('kind', ['global_analysis', 'project_analysis'])
async def test_analysis_token_is_refused(
    world: World, style: str, kind: str
) -> None:
    token = world.sonarqube.issue_token(kind=kind)  # type: ignore[arg-type]
    world.scan.add(token)
    response = await world.call(
        style,
        world.sonarqube.webhook_payload(KEY),
        host=world.host(api_token=token),
    )
    assert isinstance(response.error, PluginAuthenticationFailed)
    message = str(response.error)
    assert 'HTTP 403' in message
    assert 'Insufficient privileges' in message
    assert 'user token' in message
    assert 'analysis token' in message
    assert token not in message
    _assert_untouched(world)


async def test_unknown_token_is_refused(world: World) -> None:
    response = await world.call(
        BASIC,
        world.sonarqube.webhook_payload(KEY),
        host=world.host(api_token='squ_' + 'f' * 40),
    )
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'HTTP 401' in str(response.error)
    assert 'user token' in str(response.error)
    # Not retried: one request, no write.
    assert len(world.sonarqube.requests) == 1
    _assert_untouched(world)


async def test_bearer_on_sonarqube_9_9_hints_at_basic(world: World) -> None:
    world.sonarqube.bearer_supported = False
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'sonarqube_auth=basic' in str(response.error)


async def test_user_without_browse_permission(world: World) -> None:
    token = world.sonarqube.issue_token('other', browse={'another:project'})
    world.scan.add(token)
    response = await world.call(
        BASIC,
        world.sonarqube.webhook_payload(KEY),
        host=world.host(api_token=token),
    )
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'Browse permission' in str(response.error)


async def test_unknown_component_names_the_key(
    world: World, style: str
) -> None:
    response = await world.call(
        style, world.sonarqube.webhook_payload(KEY), key='aweber:gone'
    )
    assert isinstance(response.error, ValueError)
    assert "'aweber:gone'" in str(response.error)
    assert "Component key 'aweber:gone' not found" in str(response.error)
    _assert_untouched(world)


async def test_unknown_branch_names_key_and_branch(world: World) -> None:
    payload = world.sonarqube.webhook_payload(KEY, branch='release')
    payload['branch']['name'] = 'hotfix'
    response = await world.call(
        BASIC, payload, {**CONFIG, 'branches': ['hotfix']}
    )
    assert isinstance(response.error, ValueError)
    assert "on branch 'hotfix'" in str(response.error)


async def test_unknown_branch_on_the_gate_read(world: World) -> None:
    world.sonarqube.inject(
        path=GATE,
        status=404,
        body={'errors': [{'msg': "Branch 'x' in project 'k' not found"}]},
    )
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, ValueError)
    assert "Branch 'x' in project 'k' not found" in str(response.error)
    _assert_untouched(world)


async def test_unknown_metric_names_the_metric(
    world: World, style: str
) -> None:
    config = {'metrics': {'coverage': '/c', 'no_such_metric': '/n'}}
    response = await world.call(
        style, world.sonarqube.webhook_payload(KEY), config
    )
    assert isinstance(response.error, ValueError)
    assert 'no_such_metric' in str(response.error)
    assert 'action_config metrics' in str(response.error)
    _assert_untouched(world)


async def test_bad_request_is_a_value_error(world: World) -> None:
    world.sonarqube.inject(
        path=MEASURES,
        status=400,
        body={'errors': [{'msg': "The 'branch' parameter is not supported"}]},
    )
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, ValueError)
    assert "'branch' parameter is not supported" in str(response.error)


@pytest.mark.parametrize('path', [MEASURES, GATE])
async def test_one_5xx_is_retried(world: World, path: str) -> None:
    world.sonarqube.inject(path=path, status=503)
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert response.ok, response.body
    assert len(world.sonarqube.requests_to(path)) == 2
    assert world.project()['sonarqube_bugs'] == 3


@pytest.mark.parametrize(
    'fault',
    [
        Fault(path=MEASURES, status=500, times=2),
        Fault(path=GATE, status=502, times=2),
        Fault(path=MEASURES, drop=True, times=2),
        Fault(
            path=MEASURES, status=429, headers={'Retry-After': '0'}, times=2
        ),
    ],
    ids=['500', '502-gate', 'dropped', '429'],
)
async def test_persistent_failure_is_unavailable(
    world: World, style: str, fault: Fault
) -> None:
    # A copy: the parametrized fault is shared and counts down.
    world.sonarqube.inject(dataclasses.replace(fault))
    response = await world.call(style, world.sonarqube.webhook_payload(KEY))
    expected = RATE_LIMITED if fault.status == 429 else PluginUnavailableError
    assert isinstance(response.error, expected), response.error
    assert 'SonarQube' in str(response.error)
    assert len(world.sonarqube.requests_to(str(fault.path))) == 2
    _assert_untouched(world)


async def test_rate_limit_beyond_the_budget_says_when(world: World) -> None:
    world.sonarqube.inject(
        path=MEASURES, status=429, headers={'Retry-After': '120'}
    )
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, RATE_LIMITED)
    assert 'retry after 120s' in str(response.error)
    assert len(world.sonarqube.requests) == 1
    _assert_retry_at(response.error, 120)


async def test_rate_limit_within_the_budget_is_waited_out(
    world: World,
) -> None:
    world.sonarqube.inject(
        path=MEASURES, status=429, headers={'Retry-After': '0.2'}
    )
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert response.ok, response.body


@pytest.mark.parametrize('path', [MEASURES, GATE])
async def test_malformed_answer_is_unavailable(
    world: World, path: str
) -> None:
    world.sonarqube.inject(path=path, malformed=True)
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, PluginUnavailableError)
    assert 'not a JSON object' in str(response.error)


async def test_patch_success_is_judged_by_its_status(world: World) -> None:
    # Imbi's 2xx says the write happened; the patched project it sends
    # back is not read, so a garbled body is no failure.
    world.imbi.inject(path=PATCH, method='PATCH', malformed=True)
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert response.ok, response.body
    assert len(world.imbi.requests_to(PATCH, 'PATCH')) == 1


@pytest.mark.parametrize(
    ('path', 'body', 'message'),
    [
        (MEASURES, {'component': {'key': KEY}}, 'component.measures'),
        (MEASURES, {'component': []}, 'component.measures'),
        (GATE, {'projectStatus': {}}, 'projectStatus.status'),
    ],
)
async def test_unexpected_answer_is_unavailable(
    world: World, path: str, body: dict[str, object], message: str
) -> None:
    world.sonarqube.inject(path=path, status=200, body=body)
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, PluginUnavailableError)
    assert message in str(response.error)


async def test_upstream_echoing_the_token_is_redacted(world: World) -> None:
    token = world.tokens.api_token
    world.sonarqube.inject(
        path=MEASURES,
        status=403,
        body={'errors': [{'msg': f'token {token} lacks Browse'}]},
    )
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert token not in str(response.error)
    assert '<redacted>' in str(response.error)


async def test_stalled_sonarqube_hits_the_budget(world: World) -> None:
    world.sonarqube.inject(path=MEASURES, latency=5.0)
    host = world.host({'timeout_seconds': 1})
    started = time.monotonic()
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), host=host
    )
    assert isinstance(response.error, PluginTimeoutError)
    assert 'timeout_seconds=1' in str(response.error)
    assert time.monotonic() - started < 2.0
    _assert_untouched(world)


async def test_catalog_callable_keeps_its_own_budget(world: World) -> None:
    # The gateway applies no timeout: the callable must.
    world.sonarqube.inject(path=GATE, latency=5.0)
    host = world.host({'timeout_seconds': 1})
    started = time.monotonic()
    with pytest.raises(PluginTimeoutError):
        await actions.update_project_from_webhook(
            ctx=host.context('webhook'),
            credentials=host.credentials,
            external_identifier=KEY,
            action_config=UpdateProjectConfig.model_validate(CONFIG),
            payload=world.sonarqube.webhook_payload(KEY),
        )
    assert time.monotonic() - started < 2.0
    _assert_untouched(world)


async def test_one_slow_request_times_out_inside_the_budget(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client, 'REQUEST_TIMEOUT_CAP', 0.3)
    world.sonarqube.inject(path=MEASURES, latency=2.0)
    started = time.monotonic()
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, PluginTimeoutError)
    assert 'SonarQube did not answer within 0.3s' in str(response.error)
    assert time.monotonic() - started < 1.5


# -- Imbi -------------------------------------------------------------------


async def test_bad_imbi_key_is_refused(world: World, style: str) -> None:
    bad_key = 'ik_0000_' + 'x' * 30
    world.scan.add(bad_key)
    response = await world.call(
        style,
        world.sonarqube.webhook_payload(KEY),
        host=world.host(imbi_api_key=bad_key),
    )
    assert isinstance(response.error, PluginAuthenticationFailed)
    message = str(response.error)
    assert 'imbi_api_key' in message
    assert 'HTTP 401' in message
    assert bad_key not in message


async def test_imbi_key_without_write_permission(world: World) -> None:
    read_only = world.imbi.issue_api_key(('project:read',))
    world.scan.add(read_only)
    response = await world.call(
        BASIC,
        world.sonarqube.webhook_payload(KEY),
        host=world.host(imbi_api_key=read_only),
    )
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'HTTP 403' in str(response.error)
    assert 'project:write' in str(response.error)


@pytest.mark.parametrize(
    ('metrics', 'message'),
    [
        ({'coverage': '/id'}, "Path '/id' is read-only"),
        ({'coverage': '/created_at'}, 'read-only'),
        ({'coverage': '/nowhere/coverage'}, "member 'nowhere' not found"),
    ],
)
async def test_pointer_imbi_refuses(
    world: World, style: str, metrics: dict[str, str], message: str
) -> None:
    before = dict(world.project())
    response = await world.call(
        style, world.sonarqube.webhook_payload(KEY), {'metrics': metrics}
    )
    assert isinstance(response.error, ValueError)
    assert 'HTTP 400' in str(response.error)
    assert message in str(response.error)
    assert world.project() == before


async def test_value_of_the_wrong_type_is_refused(world: World) -> None:
    world.imbi.field_types['/sonarqube_coverage'] = (str,)
    response = await world.call(
        BASIC,
        world.sonarqube.webhook_payload(KEY),
        {'metrics': {'coverage': '/sonarqube_coverage'}},
    )
    assert isinstance(response.error, ValueError)
    assert 'HTTP 422' in str(response.error)
    assert 'body/sonarqube_coverage: Input should be str' in str(
        response.error
    )


async def test_unknown_imbi_project(world: World) -> None:
    host = world.host()
    host.project['project_id'] = 'prj-gone'
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), host=host
    )
    assert isinstance(response.error, ValueError)
    assert "no project 'prj-gone' in organization 'aweber'" in str(
        response.error
    )


@pytest.mark.parametrize(
    'fault',
    [
        Fault(path=PATCH, status=500),
        Fault(path=PATCH, status=503, headers={'Retry-After': '1'}),
        Fault(path=PATCH, drop=True),
        Fault(path=PATCH, status=418, body='teapot'),
    ],
    ids=['500', '503', 'dropped', '418'],
)
async def test_imbi_failure_is_unavailable_and_not_retried(
    world: World, fault: Fault
) -> None:
    world.imbi.inject(dataclasses.replace(fault))
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, PluginUnavailableError)
    assert 'Imbi' in str(response.error)
    assert len(world.imbi.requests_to(PATCH)) == 1


async def test_imbi_rate_limit_is_waited_out(world: World, style: str) -> None:
    # A 429 says Imbi did not apply the write: sending it again is safe.
    world.imbi.inject(
        path=PATCH, method='PATCH', status=429, headers={'Retry-After': '0.2'}
    )
    started = time.monotonic()
    response = await world.call(style, world.sonarqube.webhook_payload(KEY))
    assert response.ok, response.body
    assert time.monotonic() - started >= 0.2
    assert len(world.imbi.requests_to(PATCH, 'PATCH')) == 2
    assert world.project()['sonarqube_bugs'] == 3


@pytest.mark.parametrize(
    ('headers', 'when'),
    [
        ({'Retry-After': '0'}, '; retry after 0s'),
        ({'Retry-After': '0.4'}, '; retry after 1s'),
        ({}, '; retry later'),
    ],
    ids=['retry-after', 'fraction', 'no-retry-after'],
)
async def test_persistent_imbi_rate_limit_says_when(
    world: World, headers: dict[str, str], when: str
) -> None:
    world.imbi.inject(
        path=PATCH, method='PATCH', status=429, headers=headers, times=2
    )
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, RATE_LIMITED)
    assert 'the Imbi API answered HTTP 429' in str(response.error)
    assert when in str(response.error)
    assert len(world.imbi.requests_to(PATCH, 'PATCH')) == 2
    assert world.project().get('sonarqube_bugs') is None


async def test_imbi_rate_limit_beyond_the_budget_says_when(
    world: World,
) -> None:
    world.imbi.inject(
        path=PATCH, method='PATCH', status=429, headers={'Retry-After': '120'}
    )
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, RATE_LIMITED)
    assert 'retry after 120s' in str(response.error)
    assert len(world.imbi.requests_to(PATCH, 'PATCH')) == 1
    _assert_retry_at(response.error, 120)


@pytest.mark.parametrize(
    'second',
    [
        Fault(path=PATCH, status=503, headers={'Retry-After': '0'}),
        Fault(path=PATCH, drop=True),
    ],
    ids=['503', 'dropped'],
)
async def test_imbi_failure_after_a_rate_limit_is_not_retried(
    world: World, second: Fault
) -> None:
    world.imbi.inject(
        path=PATCH, method='PATCH', status=429, headers={'Retry-After': '0'}
    )
    world.imbi.inject(dataclasses.replace(second))
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, PluginUnavailableError)
    assert len(world.imbi.requests_to(PATCH, 'PATCH')) == 2


async def test_stalled_imbi_hits_the_budget(world: World) -> None:
    world.imbi.inject(path=PATCH, latency=5.0)
    started = time.monotonic()
    response = await world.call(
        BASIC,
        world.sonarqube.webhook_payload(KEY),
        host=world.host({'timeout_seconds': 1}),
    )
    assert isinstance(response.error, PluginTimeoutError)
    assert time.monotonic() - started < 2.0
    assert world.imbi.project(ORG, PROJECT_ID).get('sonarqube_bugs') is None


async def test_unreachable_imbi(world: World) -> None:
    host = world.host({'imbi_url': 'http://127.0.0.1:9'})
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), host=host
    )
    assert isinstance(response.error, PluginUnavailableError)
    assert 'unreachable' in str(response.error)


@pytest.mark.parametrize(
    ('body', 'message'),
    [
        ({'detail': {'odd': 'shape'}}, 'HTTP 400): Bad Request'),
        ({'detail': ['plain text']}, 'HTTP 400): plain text'),
        ({'detail': [{'msg': 'no location'}]}, 'HTTP 400): no location'),
        ('not json at all', 'HTTP 400): Bad Request'),
    ],
)
async def test_imbi_error_bodies_of_other_shapes(
    world: World, body: object, message: str
) -> None:
    world.imbi.inject(path=PATCH, status=400, body=body)
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, ValueError)
    assert message in str(response.error)


async def test_other_sonarqube_status_is_unavailable(world: World) -> None:
    world.sonarqube.inject(path=MEASURES, status=409, body={'errors': []})
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, PluginUnavailableError)
    assert 'HTTP 409' in str(response.error)
    assert len(world.sonarqube.requests) == 1


@pytest.mark.parametrize('header', ['soon', 'nan', 'inf'])
async def test_unparsable_retry_after_gets_a_short_backoff(
    world: World, header: str
) -> None:
    world.sonarqube.inject(
        path=MEASURES, status=503, headers={'Retry-After': header}
    )
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert response.ok, response.body
    assert len(world.sonarqube.requests_to(MEASURES)) == 2


async def test_measures_of_odd_shapes_are_ignored(world: World) -> None:
    world.sonarqube.inject(
        path=MEASURES,
        status=200,
        body={
            'component': {
                'key': KEY,
                'measures': [
                    'junk',
                    {'metric': 'bugs', 'value': '4'},
                    {'metric': 'coverage'},
                    {'value': '1'},
                ],
            },
            'metrics': ['junk', {'key': 'bugs', 'type': 'INT'}],
        },
    )
    response = await world.call(
        BASIC,
        world.sonarqube.webhook_payload(KEY),
        {'metrics': {'bugs': '/b', 'coverage': '/c'}},
    )
    assert response.ok, response.body
    assert world.project()['b'] == 4
    assert 'c' not in world.project()


def _assert_retry_at(error: BaseException | None, seconds: float) -> None:
    """v3 hosts get ``retry_at``: when the upstream said to come back."""
    retry_at = getattr(error, 'retry_at', None)
    if _host.optional('PluginRateLimited') is None:
        assert retry_at is None
        return
    assert retry_at is not None
    assert time.time() + seconds - 10 <= retry_at <= time.time() + seconds
