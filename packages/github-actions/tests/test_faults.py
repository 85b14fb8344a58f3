"""The fault matrix: auth, permissions, rate limits, outages, budget."""

import time
import typing

import httpx
import pytest
from github_actions_helpers import NAME, OWNER, GitHub, handler, plugin
from imbi_plugin_github_actions import _host
from imbi_plugin_github_actions._host import (
    PluginAuthenticationFailed,
    PluginCredentialsMissing,
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_testing import Fault, Host, HostResponse

BRANCHES = '/branches$'
#: v3 hosts keep the job queued until ``retry_at`` on PluginRateLimited;
#: v1 hosts know only PluginUnavailableError.
RATE_LIMITED = _host.optional('PluginRateLimited') or PluginUnavailableError


async def list_branches(host: Host) -> HostResponse:
    return await host.deployment('list_refs', kind='branch')


async def test_bad_token_is_an_authentication_failure(github: GitHub) -> None:
    response = await list_branches(github.host(token='ghp_' + 'x' * 36))
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'Bad credentials' in str(response.error)


async def test_identity_token_is_refreshed_once(github: GitHub) -> None:
    fresh = github.fake.issue_token('octocat', ['repo'])
    host = Host(
        plugin(),
        plugin_options=github.options(repository=f'{OWNER}/{NAME}'),
        identity_token='gho_expired_' + 'y' * 24,
        refresh_identity=lambda: fresh.value,
    )
    response = await list_branches(host)
    assert response.ok, response.body
    assert host.calls == ['list_refs', 'list_refs']


async def test_access_token_wins_over_the_stored_token(
    github: GitHub,
) -> None:
    host = github.host()
    host.credentials = {
        'token': 'ghp_' + 'z' * 36,
        'access_token': github.token.value,
    }
    assert (await list_branches(host)).ok


@pytest.mark.parametrize(
    'credentials',
    [{}, {'token': ''}, {'token': ' ', 'access_token': ''}],
)
async def test_missing_credentials(
    github: GitHub, credentials: dict[str, str]
) -> None:
    from imbi_plugin_testing import make_context

    ctx = make_context(
        'deployment',
        options=github.options(repository=f'{OWNER}/{NAME}'),
    )
    mark = github.mark()
    with pytest.raises(PluginCredentialsMissing, match="'token'"):
        await handler()().list_workflows(ctx, credentials)
    assert github.since(mark) == []


async def test_empty_access_token_falls_back_to_the_token(
    github: GitHub,
) -> None:
    host = github.host()
    host.credentials = {'access_token': '', 'token': github.token.value}
    assert (await list_branches(host)).ok


async def test_missing_fine_grained_permission_is_named(
    github: GitHub,
) -> None:
    token = github.fake.issue_token(
        'octocat', prefix='github_pat_', permissions={'contents': 'read'}
    )
    host = github.host(token=token.value, workflow='deploy.yml')
    response = await host.trigger_deployment('main')
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'needs permission actions=write' in str(response.error)
    assert 'Resource not accessible by personal access token' in str(
        response.error
    )


async def test_classic_scope_hint(github: GitHub) -> None:
    github.fake.inject(
        Fault(
            path=BRANCHES,
            status=403,
            body={'message': 'Forbidden'},
            headers={'x-accepted-oauth-scopes': 'repo'},
        )
    )
    response = await list_branches(github.host())
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'needs scope repo' in str(response.error)


async def test_no_scope_hint_when_the_scope_is_there(github: GitHub) -> None:
    github.repo.collaborators['octocat'] = 'read'
    response = await github.host().deployment(
        'create_tag', sha=github.sha('main'), tag='v5', message='m'
    )
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'Must have push access' in str(response.error)
    assert 'needs scope' not in str(response.error)


async def test_classic_token_without_repo_scope(github: GitHub) -> None:
    token = github.fake.issue_token('octocat', ['read:user'])
    response = await list_branches(github.host(token=token.value))
    assert isinstance(response.error, ValueError)
    assert 'not found or the token has no access' in str(response.error)


async def test_primary_rate_limit_within_the_budget(github: GitHub) -> None:
    github.fake.exhaust_rate_limit(reset_in=0.5)
    response = await list_branches(github.host())
    assert response.ok, response.body
    assert response.elapsed >= 0.4


async def test_primary_rate_limit_beyond_the_budget(github: GitHub) -> None:
    github.fake.exhaust_rate_limit(reset_in=600)
    started = time.monotonic()
    response = await list_branches(github.host())
    assert isinstance(response.error, RATE_LIMITED)
    retry_at = getattr(response.error, 'retry_at', None)
    if RATE_LIMITED is not PluginUnavailableError:
        assert retry_at is not None
        assert 590 < retry_at - time.time() < 610
    assert 'retry after' in str(response.error)
    assert 'API rate limit exceeded' in str(response.error)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize('status', [403, 429])
async def test_secondary_rate_limit_with_retry_after(
    github: GitHub, status: int
) -> None:
    github.fake.limit_secondary(times=1, retry_after=1, status=status)
    response = await list_branches(github.host())
    assert response.ok, response.body
    assert response.elapsed >= 1


async def test_secondary_rate_limit_without_retry_after(
    github: GitHub,
) -> None:
    github.fake.limit_secondary(times=1, retry_after=None)
    response = await list_branches(github.host())
    assert isinstance(response.error, RATE_LIMITED)
    assert 'retry after 60 s' in str(response.error)


async def test_too_many_rate_limits(github: GitHub) -> None:
    github.fake.limit_secondary(times=3, retry_after=0)
    response = await github.host().deployment('list_refs', kind='tag')
    assert isinstance(response.error, RATE_LIMITED)
    assert len(github.fake.requests_to('/tags$')) == 3


async def test_bare_429_counts_as_a_rate_limit(github: GitHub) -> None:
    github.fake.inject(Fault(path=BRANCHES, status=429, body='slow down'))
    response = await list_branches(github.host())
    assert isinstance(response.error, RATE_LIMITED)
    assert 'retry after 60 s' in str(response.error)


async def test_unparsable_reset_counts_as_a_minute(github: GitHub) -> None:
    github.fake.inject(
        Fault(
            path=BRANCHES,
            status=403,
            body={'message': 'API rate limit exceeded'},
            headers={
                'x-ratelimit-remaining': '0',
                'x-ratelimit-reset': 'soon',
            },
        )
    )
    response = await list_branches(github.host())
    assert 'retry after 60 s' in str(response.error)


async def test_server_error_is_retried(github: GitHub) -> None:
    github.fake.inject(Fault(path=BRANCHES, status=502, times=2))
    response = await list_branches(github.host())
    assert response.ok, response.body
    assert len(github.fake.requests_to(BRANCHES)) == 3


async def test_server_error_that_persists(github: GitHub) -> None:
    github.fake.inject(
        Fault(path=BRANCHES, status=503, body={'message': 'x'}, times=None)
    )
    response = await list_branches(github.host())
    assert isinstance(response.error, PluginUnavailableError)
    assert 'GitHub answered 503' in str(response.error)
    assert len(github.fake.requests_to(BRANCHES)) == 3


async def test_writes_are_not_retried(github: GitHub) -> None:
    github.fake.inject(Fault(path='/dispatches$', status=502))
    response = await github.host(workflow='deploy.yml').trigger_deployment(
        'main'
    )
    assert isinstance(response.error, PluginUnavailableError)
    assert len(github.fake.requests_to('/dispatches$')) == 1


async def test_unexpected_status(github: GitHub) -> None:
    github.fake.inject(Fault(path=BRANCHES, status=418, body='teapot'))
    response = await list_branches(github.host())
    assert isinstance(response.error, PluginUnavailableError)
    assert '418' in str(response.error)


async def test_dropped_connection_is_retried(github: GitHub) -> None:
    github.fake.inject(Fault(path=BRANCHES, drop=True))
    response = await list_branches(github.host())
    assert response.ok, response.body


async def test_unreachable(github: GitHub, unused_port_url: str) -> None:
    host = github.host(api_url=unused_port_url, timeout_seconds=2)
    response = await list_branches(host)
    assert isinstance(response.error, PluginUnavailableError)
    assert 'unreachable' in str(response.error)


@pytest.fixture
def unused_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return f'http://127.0.0.1:{port}'


@pytest.mark.parametrize(
    'fault',
    [
        Fault(path=BRANCHES, malformed=True),
        Fault(path=BRANCHES, status=200, body={'not': 'a list'}),
        Fault(path=BRANCHES, status=200, body=[{'name': 'x'}]),
    ],
)
async def test_malformed_answers(github: GitHub, fault: Fault) -> None:
    github.fake.inject(fault)
    response = await list_branches(github.host())
    assert isinstance(response.error, PluginUnavailableError)


async def test_foreign_next_link_is_refused(github: GitHub) -> None:
    github.fake.inject(
        Fault(
            path=BRANCHES,
            status=200,
            body=[],
            headers={'link': '<https://elsewhere.example/x>; rel="next"'},
        )
    )
    response = await list_branches(github.host())
    assert isinstance(response.error, PluginUnavailableError)
    assert 'another host' in str(response.error)


@pytest.mark.parametrize('change', ['scheme', 'port'])
async def test_next_link_on_another_scheme_or_port_is_refused(
    github: GitHub, change: str
) -> None:
    # Issue 19 (4): the host name alone is not the origin; a next link on
    # https -> http, or to another port, would take the token elsewhere.
    url = httpx.URL(github.url)
    port = url.port or 80
    if change == 'scheme':
        other = url.copy_with(scheme='https', port=port)
    else:
        other = url.copy_with(port=port + 1)
    github.fake.inject(
        Fault(
            path=BRANCHES,
            status=200,
            body=[],
            headers={'link': f'<{other.join("/x")}>; rel="next"'},
        )
    )
    response = await list_branches(github.host())
    assert isinstance(response.error, PluginUnavailableError)
    assert 'another host' in str(response.error)


async def test_slow_upstream_hits_the_budget(github: GitHub) -> None:
    github.fake.inject(Fault(path=BRANCHES, latency=5))
    response = await list_branches(github.host(timeout_seconds=1))
    assert isinstance(response.error, PluginTimeoutError)
    assert response.elapsed < 2


async def test_rate_limit_wait_counts_against_the_budget(
    github: GitHub,
) -> None:
    github.fake.limit_secondary(times=1, retry_after=3)
    response = await list_branches(github.host(timeout_seconds=2))
    assert isinstance(response.error, RATE_LIMITED)
    assert 'retry after 3 s' in str(response.error)


@pytest.mark.parametrize(
    ('options', 'message'),
    [
        ({'api_url': 'ftp://github.example'}, 'api_url'),
        ({'api_url': 'https://u:p@github.example'}, 'user info'),
        ({'api_url': 'http://github.example'}, "'allow_plain_http' to true"),
        (
            {'api_url': 'http://github.example', 'allow_plain_http': 'maybe'},
            'true or false',
        ),
        ({'timeout_seconds': 'soon'}, 'timeout_seconds'),
        ({'timeout_seconds': 0}, 'between 1 and'),
        ({'timeout_seconds': True}, 'integer'),
        ({'repository': 'just-a-name'}, 'owner/name'),
        ({'repository': True}, 'must be a string'),
        ({'workflow': 'x/y.yml'}, 'workflow file name'),
        ({'correlation_input': 'has space'}, 'input name'),
    ],
)
async def test_bad_options_make_no_request(
    github: GitHub, options: dict[str, typing.Any], message: str
) -> None:
    mark = github.mark()
    project = {'repository': f'{OWNER}/{NAME}'}
    if 'repository' in options:
        project = {'repository': options.pop('repository')}
    host = github.host(project_options=project, **options)
    response = await list_branches(host)
    assert isinstance(response.error, ValueError)
    assert message in str(response.error)
    assert github.since(mark) == []


async def test_options_arrive_as_strings(github: GitHub) -> None:
    response = await list_branches(github.host(timeout_seconds='3'))
    assert response.ok, response.body


async def test_ghes_url_shape(github: GitHub) -> None:
    host = github.host(api_url=github.url + '/api/v3/')
    mark = github.mark()
    response = await host.deployment('list_commits', ref='main', limit=2)
    assert response.ok, response.body
    assert github.since(mark) == [
        f'GET /api/v3/repos/{OWNER}/{NAME}/commits',
        'POST /api/graphql',
    ]
    assert response.result[0].ci_status == 'warn'


async def test_bad_kind_and_query(github: GitHub) -> None:
    mark = github.mark()
    host = github.host()
    bad_kind = await host.deployment('list_refs', kind='everything')
    bad_query = await host.deployment('list_refs', query=5)
    assert isinstance(bad_kind.error, ValueError)
    assert isinstance(bad_query.error, ValueError)
    assert github.since(mark) == []


async def test_matching_refs_of_an_unexpected_shape(github: GitHub) -> None:
    github.fake.inject(
        Fault(path='/matching-refs/', status=200, body={'not': 'a list'})
    )
    response = await github.host().deployment('list_refs', query='feat')
    assert isinstance(response.error, PluginUnavailableError)
    assert 'matching-refs' in str(response.error)
