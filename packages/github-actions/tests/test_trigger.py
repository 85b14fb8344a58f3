"""trigger_deployment and get_deployment_status through Host."""

import asyncio
import json
import logging
import math
import typing

import httpx
import pytest
from github_actions_helpers import NAME, OWNER, GitHub

DISPATCH = f'/repos/{OWNER}/{NAME}/actions/workflows/deploy.yml/dispatches'


def dispatches(github: GitHub, mark: int) -> list[dict[str, typing.Any]]:
    return [
        json.loads(r.body)
        for r in github.fake.requests[mark:]
        if r.path.endswith('/dispatches')
    ]


async def test_dispatch_returns_run_details(github: GitHub) -> None:
    host = github.host(workflow='deploy.yml')
    mark = github.mark()
    response = await host.trigger_deployment(
        'main', {'environment': 'staging'}, environment='staging'
    )
    assert response.ok, response.body
    run = response.result
    assert run.status == 'queued'
    assert run.run_id.isdigit()
    assert (
        run.run_url == f'{github.url}/{OWNER}/{NAME}/actions/runs/{run.run_id}'
    )
    assert github.since(mark) == [f'POST {DISPATCH}']
    assert dispatches(github, mark) == [
        {
            'ref': 'main',
            'inputs': {'environment': 'staging'},
            'return_run_details': True,
        }
    ]


async def test_environment_config_workflow_wins_and_is_not_an_input(
    github: GitHub,
) -> None:
    host = github.host(workflow='ci.yml')
    mark = github.mark()
    response = await host.trigger_deployment(
        'v1.1.0',
        environment_config={'workflow': 'deploy.yml', 'environment': 'qa'},
    )
    assert response.ok, response.body
    assert github.since(mark) == [f'POST {DISPATCH}']
    sent = dispatches(github, mark)[0]
    assert sent['ref'] == 'v1.1.0'
    assert sent['inputs'] == {'environment': 'qa'}


async def test_non_string_inputs_are_sent_as_strings(github: GitHub) -> None:
    github.git.workflows[next(iter(github.git.workflows))].inputs[
        'replicas'
    ] = {'required': False}
    host = github.host(workflow='deploy.yml')
    mark = github.mark()
    response = await host.trigger_deployment(
        'main',
        environment_config={'replicas': 3, 'environment': 'production'},
    )
    assert response.ok, response.body
    assert dispatches(github, mark)[0]['inputs'] == {
        'replicas': '3',
        'environment': 'production',
    }


async def test_direct_call_coerces_input_values(github: GitHub) -> None:
    from github_actions_helpers import handler
    from imbi_plugin_testing import make_context

    github.git.workflows[next(iter(github.git.workflows))].inputs.update(
        {'dry_run': {}, 'note': {}, 'extra': {}}
    )
    ctx = make_context(
        'deployment',
        options=github.options(
            workflow='deploy.yml', repository=f'{OWNER}/{NAME}'
        ),
    )
    mark = github.mark()
    await handler()().trigger_deployment(
        ctx,
        {'token': github.token.value},
        'main',
        {'dry_run': True, 'note': None, 'extra': {'a': 1}},
    )
    assert dispatches(github, mark)[0]['inputs'] == {
        'dry_run': 'true',
        'note': '',
        'extra': '{"a": 1}',
    }


async def test_a_sha_is_dispatched_on_the_default_branch(
    github: GitHub,
) -> None:
    sha = github.sha('v1.0.0')
    host = github.host(workflow='deploy.yml')
    mark = github.mark()
    response = await host.trigger_deployment(sha[:10])
    assert response.ok, response.body
    sent = dispatches(github, mark)[0]
    assert sent['ref'] == 'main'
    assert sent['inputs'] == {'sha': sha}


@pytest.mark.parametrize('kind', ['tag', 'branch'])
async def test_a_hex_named_ref_is_dispatched_as_that_ref(
    github: GitHub, kind: str
) -> None:
    # Issue 17 (2): a date tag or a hex branch name is a ref, not a SHA;
    # dispatching it on main would deploy main's head.
    target = github.sha('v1.0.0')
    if kind == 'tag':
        github.git.tag('20261115', target)
    else:
        github.git.branches['20261115'] = target
    host = github.host(workflow='deploy.yml')
    mark = github.mark()
    response = await host.trigger_deployment('20261115')
    assert response.ok, response.body
    sent = dispatches(github, mark)[0]
    assert sent['ref'] == '20261115'
    assert 'sha' not in sent['inputs']
    run = github.git.runs[int(response.result.run_id)]
    assert run.head_sha == target


async def test_sha_input_option(github: GitHub) -> None:
    workflow = github.git.workflows[next(iter(github.git.workflows))]
    workflow.inputs['commit'] = {'required': True}
    host = github.host(workflow='deploy.yml', sha_input='commit')
    mark = github.mark()
    response = await host.trigger_deployment(github.sha('main'))
    assert response.ok, response.body
    assert dispatches(github, mark)[0]['inputs'] == {
        'commit': github.sha('main')
    }


async def test_unknown_sha_is_not_dispatched(github: GitHub) -> None:
    host = github.host(workflow='deploy.yml')
    mark = github.mark()
    response = await host.trigger_deployment('abcdef0123')
    assert isinstance(response.error, ValueError)
    assert dispatches(github, mark) == []


@pytest.mark.parametrize(
    ('workflow', 'ref', 'inputs', 'message'),
    [
        ('ci.yml', 'main', {}, "does not have 'workflow_dispatch' trigger"),
        ('deploy.yml', 'nope', {}, 'No ref found for: nope'),
        ('deploy.yml', 'main', {'x': '1'}, 'Unexpected inputs provided'),
        ('gone.yml', 'main', {}, "workflow 'gone.yml' not found"),
    ],
)
async def test_github_refuses_the_dispatch(
    github: GitHub,
    workflow: str,
    ref: str,
    inputs: dict[str, str],
    message: str,
) -> None:
    host = github.host(workflow=workflow)
    response = await host.trigger_deployment(ref, inputs)
    assert response.status == 500
    assert isinstance(response.error, ValueError)
    assert message in str(response.error)


@pytest.mark.parametrize(
    ('options', 'config', 'ref', 'message'),
    [
        ({}, {}, 'main', 'no workflow'),
        ({'workflow': 'deploy'}, {}, 'main', 'workflow file name'),
        ({}, {'workflow': 7.5}, 'main', 'must be a string'),
        ({'workflow': 'deploy.yml'}, {}, 'main..x', 'not a valid git ref'),
        ({'workflow': 'deploy.yml', 'sha_input': 'a b'}, {}, 'main', 'input'),
    ],
)
async def test_bad_trigger_input_makes_no_request(
    github: GitHub,
    options: dict[str, typing.Any],
    config: dict[str, typing.Any],
    ref: str,
    message: str,
) -> None:
    host = github.host(**options)
    mark = github.mark()
    response = await host.trigger_deployment(ref, environment_config=config)
    assert isinstance(response.error, ValueError)
    assert message in str(response.error)
    assert github.since(mark) == []


@pytest.mark.parametrize('mode', ['reject-400', 'reject-422'])
async def test_ghes_fallback_finds_the_run(github: GitHub, mode: str) -> None:
    github.state.run_details = mode  # type: ignore[assignment]
    host = github.host(workflow='deploy.yml')
    mark = github.mark()
    response = await host.trigger_deployment('main')
    assert response.ok, response.body
    run = response.result
    assert run.run_id.isdigit()
    assert run.status == 'queued'
    sent = dispatches(github, mark)
    assert [('return_run_details' in s) for s in sent] == [True, False]
    listing = github.fake.requests_to(r'/workflows/deploy\.yml/runs$')[-1]
    assert 'event=workflow_dispatch' in listing.query
    assert 'branch=main' in listing.query
    assert 'created=%3E%3D' in listing.query


async def test_ghes_fallback_ignores_old_runs(github: GitHub) -> None:
    github.state.run_details = 'reject-400'
    async with httpx.AsyncClient(base_url=github.url) as client:
        await client.post(
            DISPATCH,
            json={'ref': 'main'},
            headers={'authorization': f'Bearer {github.token.value}'},
        )
    old = max(github.git.runs.values(), key=lambda r: r.id)
    old.created_at -= __import__('datetime').timedelta(minutes=5)
    response = await github.host(workflow='deploy.yml').trigger_deployment(
        'main'
    )
    assert response.ok, response.body
    assert response.result.run_id != str(old.id)
    assert response.result.run_id.isdigit()


async def test_ghes_second_deploy_does_not_take_the_first_run(
    github: GitHub,
) -> None:
    # Issue 17 (1): staging then production on main, no correlation
    # input; production's run is listed later than staging's was.
    github.state.run_details = 'reject-400'
    host = github.host(workflow='deploy.yml')
    staging = await host.trigger_deployment('main', {'environment': 'staging'})
    assert staging.ok, staging.body
    assert staging.result.run_id.isdigit()
    github.state.run_delays = [2.0]
    mark = github.mark()
    production = await host.trigger_deployment(
        'main', {'environment': 'production'}
    )
    assert production.ok, production.body
    runs = github.git.runs
    assert production.result.run_id != staging.result.run_id
    assert runs[int(production.result.run_id)].inputs == {
        'environment': 'production',
        'sha': '',
        'imbi_correlation': '',
    }
    listing = [
        r for r in github.fake.requests[mark:] if r.path.endswith('/runs')
    ][-1]
    assert 'actor=octocat' in listing.query
    assert f'head_sha={github.sha("main")}' in listing.query


async def test_ghes_race_told_apart_by_correlation(github: GitHub) -> None:
    github.state.run_details = 'reject-422'
    host = github.host(
        workflow='deploy.yml', correlation_input='imbi_correlation'
    )
    first, second = await asyncio.gather(
        host.trigger_deployment('main', {'environment': 'staging'}),
        host.trigger_deployment('main', {'environment': 'production'}),
    )
    assert first.ok, first.body
    assert second.ok, second.body
    assert first.result.run_id != second.result.run_id
    runs = github.git.runs
    assert runs[int(first.result.run_id)].inputs['environment'] == 'staging'
    assert (
        runs[int(second.result.run_id)].inputs['environment'] == 'production'
    )
    ids = {r.inputs['imbi_correlation'] for r in runs.values()}
    assert len(ids) == 2
    assert all(len(i) == 32 for i in ids)


async def test_ghes_never_guesses_between_candidates(
    github: GitHub, caplog: pytest.LogCaptureFixture
) -> None:
    # Another dispatch in the same second whose run GitHub lists only
    # later: not among the runs listed before ours, so indistinguishable.
    # Both runs show up at the same moment, once ours is dispatched.
    github.state.run_details = 'reject-400'
    github.state.run_delays = [math.inf, math.inf]
    async with httpx.AsyncClient(base_url=github.url) as client:
        await client.post(
            DISPATCH,
            json={'ref': 'main'},
            headers={'authorization': f'Bearer {github.token.value}'},
        )

    async def show_both() -> None:
        for _ in range(200):  # the dispatch comes within 10 s
            if len(github.git.runs) == 2:
                for listed in github.git.runs.values():
                    listed.visible_at = 0.0
                return
            await asyncio.sleep(0.05)

    with caplog.at_level(logging.WARNING, 'imbi_plugin_github_actions'):
        response, _ = await asyncio.gather(
            github.host(workflow='deploy.yml').trigger_deployment('main'),
            show_both(),
        )
    assert response.ok, response.body
    run = response.result
    assert run.run_id == ''
    assert run.status == 'unknown'
    assert run.run_url == (
        f'{github.url}/{OWNER}/{NAME}/actions/workflows/deploy.yml'
    )
    assert 'cannot tell its run apart: 2 runs' in caplog.text
    assert 'set option correlation_input' in caplog.text
    assert len(github.git.runs) == 2


async def test_ghes_run_that_never_shows_up(
    github: GitHub, caplog: pytest.LogCaptureFixture
) -> None:
    github.state.run_details = 'reject-400'
    github.state.run_appear_delay = 60
    workflow_id = next(
        w.id for w in github.git.workflows.values() if w.name == 'Deploy'
    )
    host = github.host(
        workflow=str(workflow_id),
        correlation_input='imbi_correlation',
        timeout_seconds=2,
    )
    with caplog.at_level(logging.WARNING, 'imbi_plugin_github_actions'):
        response = await host.trigger_deployment('main')
    assert response.ok, response.body
    assert response.result.run_id == ''
    assert response.result.run_url.endswith('/actions/workflows/deploy.yml')
    assert response.elapsed < 2
    assert 'did not show up in time' in caplog.text
    # The dispatch happened once, and was not repeated.
    assert len(github.git.runs) == 1


async def test_ghes_listing_fails_after_the_dispatch(github: GitHub) -> None:
    from imbi_plugin_testing import Fault

    github.state.run_details = 'reject-400'
    github.fake.inject(Fault(path='/runs$', status=500, times=None))
    workflow_id = next(
        w.id for w in github.git.workflows.values() if w.name == 'Deploy'
    )
    github.fake.inject(
        Fault(
            path=f'/actions/workflows/{workflow_id}$', status=500, times=None
        )
    )
    host = github.host(workflow=str(workflow_id), timeout_seconds=3)
    response = await host.trigger_deployment('main')
    assert response.ok, response.body
    assert response.result.status == 'unknown'
    assert response.result.run_url == f'{github.url}/{OWNER}/{NAME}/actions'


@pytest.mark.parametrize(
    ('status', 'body'), [(200, {'unexpected': True}), (204, b'')]
)
async def test_run_details_missing_fall_back_to_the_search(
    github: GitHub, status: int, body: typing.Any
) -> None:
    from imbi_plugin_testing import Fault

    # The fault answers instead of the stand-in: make the run it would
    # have started, so that the search finds exactly one.
    async with httpx.AsyncClient(base_url=github.url) as client:
        await client.post(
            DISPATCH,
            json={'ref': 'main'},
            headers={'authorization': f'Bearer {github.token.value}'},
        )
    github.fake.inject(Fault(path='/dispatches$', status=status, body=body))
    response = await github.host(workflow='deploy.yml').trigger_deployment(
        'main'
    )
    assert response.ok, response.body
    assert response.result.run_id == str(max(github.git.runs))


async def test_follow_a_run_to_success(github: GitHub) -> None:
    host = github.host(workflow='deploy.yml')
    started = await host.trigger_deployment('main')
    assert started.ok, started.body
    seen = []
    for _ in range(3):
        response = await host.deployment(
            'get_deployment_status', run_id=started.result.run_id
        )
        assert response.ok, response.body
        seen.append(response.result.status)
    assert seen == ['queued', 'in_progress', 'success']
    assert response.result.started_at is not None
    assert response.result.completed_at is not None
    assert response.result.run_url == started.result.run_url


async def test_a_failed_run(github: GitHub) -> None:
    for workflow in github.git.workflows.values():
        workflow.conclusion = 'timed_out'
    host = github.host(workflow='deploy.yml')
    started = await host.trigger_deployment('main')
    for _ in range(3):
        response = await host.deployment(
            'get_deployment_status', run_id=started.result.run_id
        )
    assert response.result.status == 'failure'


@pytest.mark.parametrize('run_id', ['', 'abc', '12a', '-1', '0'])
async def test_run_id_must_be_a_number(github: GitHub, run_id: str) -> None:
    mark = github.mark()
    response = await github.host().deployment(
        'get_deployment_status', run_id=run_id
    )
    assert isinstance(response.error, ValueError)
    assert github.since(mark) == []


async def test_unknown_run(github: GitHub) -> None:
    response = await github.host().deployment(
        'get_deployment_status', run_id='999999'
    )
    assert isinstance(response.error, ValueError)
    assert 'workflow run 999999 not found' in str(response.error)


async def test_api_version_2026_answers_the_retried_dispatch(
    github: GitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # REST API 2026-03-10 rejects return_run_details and answers every
    # dispatch with the run: the retried dispatch's answer is the run.
    from imbi_plugin_github_actions import client

    monkeypatch.setattr(client, 'API_VERSION', '2026-03-10')
    mark = github.mark()
    response = await github.host(workflow='deploy.yml').trigger_deployment(
        'main'
    )
    assert response.ok, response.body
    assert response.result.run_id == str(max(github.git.runs))
    assert [('return_run_details' in s) for s in dispatches(github, mark)] == [
        True,
        False,
    ]
    # Nothing searched after the dispatch that answered with the run.
    assert github.since(mark)[-1].endswith('/dispatches')


async def test_more_inputs_than_github_takes_are_refused(
    github: GitHub,
) -> None:
    host = github.host(workflow='deploy.yml', correlation_input='corr')
    mark = github.mark()
    inputs = {f'input_{n}': 'x' for n in range(25)}
    response = await host.trigger_deployment('main', inputs)
    assert isinstance(response.error, ValueError)
    assert '25 inputs at most' in str(response.error)
    assert github.since(mark) == []


async def test_sha_input_counts_towards_the_input_limit(
    github: GitHub,
) -> None:
    host = github.host(workflow='deploy.yml')
    mark = github.mark()
    inputs = {f'input_{n}': 'x' for n in range(25)}
    response = await host.trigger_deployment(github.sha('main'), inputs)
    assert isinstance(response.error, ValueError)
    assert '25 inputs at most' in str(response.error)
    assert not any(p.endswith('/dispatches') for p in github.since(mark))


async def test_ghes_fallback_with_an_app_installation_token(
    github: GitHub,
) -> None:
    # GET /user refuses installation tokens (403 "Resource not accessible
    # by integration") and their runs' actor is the App's bot: the run is
    # found without an actor filter.
    github.state.run_details = 'reject-400'
    app = github.fake.issue_token(
        'octocat',
        prefix='ghs_',
        kind='installation',
        permissions={'actions': 'write', 'contents': 'read'},
    )
    mark = github.mark()
    host = github.host(workflow='deploy.yml', token=app.value)
    response = await host.trigger_deployment('main')
    assert response.ok, response.body
    assert response.result.run_id.isdigit(), response.result
    run = github.git.runs[int(response.result.run_id)]
    assert run.actor.endswith('[bot]')
    listing = [
        r for r in github.fake.requests[mark:] if r.path.endswith('/runs')
    ]
    assert listing
    assert not any('actor=' in r.query for r in listing)
