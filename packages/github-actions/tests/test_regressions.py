"""Found by the cross-package matrices (issue 11): one test per finding."""

import logging
import typing

import httpx
import pytest
from github_actions_helpers import NAME, OWNER, GitHub
from imbi_plugin_github_actions import client, operations
from imbi_plugin_github_actions._host import PluginUnavailableError
from imbi_plugin_testing import Fault

GRAPHQL_CALLS = [
    ('list_commits', {'ref': 'main', 'limit': 3}),
    ('resolve_committish', {'committish': 'main'}),
    ('compare', {'base': 'v1.0.0', 'head': 'main'}),
]


@pytest.mark.parametrize(
    'ref', ['release/./v1', 'feature/.hidden', './main', 'a/.b/c']
)
async def test_ref_component_starting_with_a_dot(
    github: GitHub, ref: str
) -> None:
    # git refuses such names, and httpx drops a /./ segment, so the
    # plugin would read another ref than the one asked for.
    mark = github.mark()
    response = await github.host().deployment(
        'resolve_committish', committish=ref
    )
    assert isinstance(response.error, ValueError)
    assert 'is not a valid git ref name' in str(response.error)
    assert github.since(mark) == []


@pytest.mark.parametrize('workflow', ['\u0661\u0662', '\u00b2', '12\u00b2'])
async def test_workflow_id_in_other_digits(
    github: GitHub, workflow: str
) -> None:
    mark = github.mark()
    response = await github.host().trigger_deployment(
        'main', environment_config={'workflow': workflow}
    )
    assert isinstance(response.error, ValueError)
    assert 'workflow file name' in str(response.error)
    assert github.since(mark) == []


@pytest.mark.parametrize(
    ('method', 'kwargs'), GRAPHQL_CALLS, ids=[c[0] for c in GRAPHQL_CALLS]
)
async def test_graphql_that_never_answers_leaves_ci_unknown(
    github: GitHub, method: str, kwargs: dict[str, typing.Any]
) -> None:
    github.fake.inject(Fault(path='graphql', stall=True, times=None))
    response = await github.host(timeout_seconds=2).deployment(
        method, **kwargs
    )
    assert response.ok, response.body
    assert response.elapsed < 2
    result = response.result
    commits = result if isinstance(result, list) else [result]
    if method == 'compare':
        commits = result.commits
        assert result.pr_numbers == []
    assert {c.ci_status for c in commits} == {'unknown'}
    assert {c.pr_number for c in commits} == {None}


async def test_graphql_skipped_without_time_left(github: GitHub) -> None:
    gh = client.GitHub(_options(github), 'tok', OWNER, NAME)
    gh.deadline = gh.started + gh.reserve / 2
    mark = github.mark()
    async with gh:
        assert await gh.graphql(operations.ROLLUP_QUERY, {'ids': []}) is None
    assert github.since(mark) == []


def _options(github: GitHub) -> typing.Any:
    from imbi_plugin_github_actions.options import read_options
    from imbi_plugin_testing import make_context

    return read_options(
        make_context('deployment', options=github.options(timeout_seconds=2))
    )


@pytest.mark.parametrize(
    'fault',
    [
        Fault(
            status=200,
            body=b'not gzip',
            headers={'content-encoding': 'gzip'},
            times=None,
        ),
        Fault(
            status=302,
            headers={'location': f'/repos/{OWNER}/{NAME}/actions/workflows'},
            times=None,
        ),
    ],
    ids=['undecodable', 'redirect-loop'],
)
async def test_httpx_errors_do_not_escape(
    github: GitHub, fault: Fault
) -> None:
    github.fake.inject(fault)
    response = await github.host().deployment('list_workflows')
    assert isinstance(response.error, PluginUnavailableError)
    assert 'unusable response' in str(response.error)


def test_retry_after_in_other_digits() -> None:
    answer = httpx.Response(429, headers={b'retry-after': '\u00b2'.encode()})
    assert client.rate_limit_wait(answer) == client.SECONDARY_WAIT_SECONDS


async def test_everything_unreadable_after_the_dispatch(
    github: GitHub, caplog: pytest.LogCaptureFixture
) -> None:
    # The dispatch answered 200 (its body unreadable): the run started,
    # so the call must not raise, whatever the run search meets.
    github.fake.inject(Fault(malformed=True, times=None))
    host = github.host(workflow='deploy.yml', timeout_seconds=2)
    with caplog.at_level(logging.WARNING, 'imbi_plugin_github_actions'):
        response = await host.trigger_deployment('main')
    assert response.ok, response.body
    assert response.result.run_id == ''
    assert response.result.status == 'unknown'
    assert response.result.run_url.endswith('/actions/workflows/deploy.yml')
    assert len(github.fake.requests_to('/dispatches$', 'POST')) == 1
    assert 'listing runs failed (PluginUnavailableError)' in caplog.text


async def test_undecodable_run_list_after_the_dispatch(
    github: GitHub,
) -> None:
    github.state.run_details = 'reject-400'
    github.fake.inject(
        Fault(
            path='/runs$',
            status=200,
            body=b'not gzip',
            headers={'content-encoding': 'gzip'},
            times=None,
        )
    )
    workflow_id = next(
        w.id for w in github.git.workflows.values() if w.name == 'Deploy'
    )
    github.fake.inject(
        Fault(
            path=f'/actions/workflows/{workflow_id}$', stall=True, times=None
        )
    )
    host = github.host(workflow=str(workflow_id), timeout_seconds=2)
    response = await host.trigger_deployment('main')
    assert response.ok, response.body
    assert response.result.status == 'unknown'
    assert response.result.run_url == f'{github.url}/{OWNER}/{NAME}/actions'
    assert response.elapsed < 2


async def test_run_search_ends_before_the_host_limit(
    github: GitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # timeout_seconds above the host's limit: after the dispatch the
    # search still answers before the host cancels the call (its 503
    # says "retry", which would deploy twice). The limit is scaled down
    # here, host and plugin alike, to keep the test short.
    monkeypatch.setattr(operations, 'HOST_TIMEOUT_SECONDS', 3.0)
    github.state.run_details = 'reject-400'
    github.state.run_appear_delay = 60
    host = github.host(workflow='deploy.yml', timeout_seconds=30)
    host.timeout = 3.0
    response = await host.trigger_deployment('main')
    assert response.ok, response.body
    assert response.result.run_id == ''
    assert response.elapsed < 3
    assert len(github.git.runs) == 1


async def test_sha_lookup_unreadable_means_no_dispatch(
    github: GitHub,
) -> None:
    # A SHA is resolved before the dispatch: an unreadable answer then is
    # an outage like any other, and nothing was started.
    github.fake.inject(Fault(malformed=True, times=None))
    host = github.host(workflow='deploy.yml', timeout_seconds=2)
    response = await host.trigger_deployment(github.sha('main')[:12])
    assert isinstance(response.error, PluginUnavailableError)
    assert github.fake.requests_to('/dispatches$') == []
