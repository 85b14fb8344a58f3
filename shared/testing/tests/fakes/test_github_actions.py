"""The git/Actions/GraphQL part of the GitHub stand-in, against GitHub's
documented behaviour (fakes/github/actions.py)."""

import collections.abc
import datetime
import typing

import httpx
import pytest
from imbi_plugin_testing.fakes.github import GitHubFake, Repository, actions

REPO = '/repos/acme/app'
QUERY = (
    'query($ids: [ID!]!) { nodes(ids: $ids) { ... on Commit { oid '
    'statusCheckRollup { state } associatedPullRequests(first: 1) '
    '{ nodes { number } } } } }'
)


class World(typing.NamedTuple):
    fake: GitHubFake
    repo: Repository
    git: actions.RepoState
    client: httpx.AsyncClient


@pytest.fixture
async def world() -> collections.abc.AsyncIterator[World]:
    fake = GitHubFake()
    fake.add_user('octocat')
    fake.add_user('reader')
    token = fake.issue_token('octocat', ['repo'])
    repo = fake.add_repository(
        'acme', 'app', collaborators={'octocat': 'write', 'reader': 'read'}
    )
    git = actions.seed(fake, repo)
    async with httpx.AsyncClient(
        transport=fake.transport(),
        base_url='http://github.test',
        headers={'authorization': f'Bearer {token.value}'},
    ) as client:
        yield World(fake, repo, git, client)


def sha(world: World, ref: str) -> str:
    found = world.git.resolve(ref)
    assert found is not None
    return found


async def test_state_is_kept_per_fake() -> None:
    fake = GitHubFake()
    assert actions.state(fake) is actions.state(fake)
    assert actions.state(GitHubFake()) is not actions.state(fake)


async def test_branches_tags_and_pagination(world: World) -> None:
    response = await world.client.get(f'{REPO}/branches')
    assert [b['name'] for b in response.json()] == ['feature/login', 'main']
    tags = (await world.client.get(f'{REPO}/tags')).json()
    assert [t['name'] for t in tags] == ['v1.1.0', 'v1.0.0']
    assert tags[1]['commit']['sha'] == sha(world, 'v1.0.0')
    page = await world.client.get(f'{REPO}/commits', params={'per_page': 5})
    assert len(page.json()) == 5
    assert 'rel="next"' in page.headers['link']
    following = await world.client.get(page.links['next']['url'])
    assert following.json()[0]['sha'] == page.json()[-1]['parents'][0]['sha']


async def test_get_branch(world: World) -> None:
    found = await world.client.get(f'{REPO}/branches/feature/login')
    assert found.json()['commit']['sha'] == sha(world, 'feature/login')
    missing = await world.client.get(f'{REPO}/branches/nope')
    assert missing.status_code == 404
    assert missing.json()['message'] == 'Branch not found'


async def test_commits_errors(world: World) -> None:
    unknown = await world.client.get(f'{REPO}/commits', params={'sha': 'x'})
    assert unknown.status_code == 404
    single = await world.client.get(f'{REPO}/commits/nope')
    assert single.status_code == 422
    assert single.json()['message'] == 'No commit found for SHA: nope'
    short = await world.client.get(f'{REPO}/commits/{sha(world, "main")[:7]}')
    assert short.json()['stats']['total'] > 0
    assert short.json()['files']


async def test_repository_access(world: World) -> None:
    anonymous = await world.client.get(
        f'{REPO}/branches', headers={'authorization': ''}
    )
    assert anonymous.status_code == 401
    assert anonymous.json()['message'] == 'Requires authentication'
    missing = await world.client.get('/repos/acme/none/branches')
    assert missing.status_code == 404
    stranger = world.fake.issue_token('stranger', ['repo'])
    hidden = await world.client.get(
        f'{REPO}/branches',
        headers={'authorization': f'token {stranger.value}'},
    )
    assert hidden.status_code == 404
    no_scope = world.fake.issue_token('octocat', ['gist'])
    scoped = await world.client.get(
        f'{REPO}/branches',
        headers={'authorization': f'Bearer {no_scope.value}'},
    )
    assert scoped.status_code == 404


async def test_fine_grained_and_app_permissions(world: World) -> None:
    pat = world.fake.issue_token(
        'octocat', prefix='github_pat_', permissions={'actions': 'read'}
    )
    denied = await world.client.post(
        f'{REPO}/actions/workflows/deploy.yml/dispatches',
        json={'ref': 'main'},
        headers={'authorization': f'Bearer {pat.value}'},
    )
    assert denied.status_code == 403
    assert denied.headers['x-accepted-github-permissions'] == 'actions=write'
    assert 'personal access token' in denied.json()['message']
    app = world.fake.issue_token('octocat', prefix='ghs_', kind='installation')
    refused = await world.client.get(
        f'{REPO}/deployments', headers={'authorization': f'Bearer {app.value}'}
    )
    assert refused.status_code == 403
    assert 'by integration' in refused.json()['message']


async def test_reader_cannot_write(world: World) -> None:
    reader = world.fake.issue_token('reader', ['repo'])
    response = await world.client.post(
        f'{REPO}/git/refs',
        json={'ref': 'refs/tags/x', 'sha': sha(world, 'main')},
        headers={'authorization': f'Bearer {reader.value}'},
    )
    assert response.status_code == 403


async def test_public_repository_is_readable(world: World) -> None:
    world.repo.private = False
    stranger = world.fake.issue_token('stranger', [])
    response = await world.client.get(
        f'{REPO}/tags', headers={'authorization': f'Bearer {stranger.value}'}
    )
    assert response.status_code == 200


async def test_compare(world: World) -> None:
    body = (
        await world.client.get(f'{REPO}/compare/main...feature/login')
    ).json()
    assert body['status'] == 'diverged'
    assert (body['ahead_by'], body['behind_by']) == (2, 2)
    assert body['commits'][-1]['sha'] == sha(world, 'feature/login')
    assert (
        body['merge_base_commit']['sha']
        == world.git.history(sha(world, 'main'))[2].sha
    )
    same = (await world.client.get(f'{REPO}/compare/main...main')).json()
    assert same['status'] == 'identical'
    ahead = (await world.client.get(f'{REPO}/compare/v1.1.0...main')).json()
    assert ahead['status'] == 'ahead'
    behind = (await world.client.get(f'{REPO}/compare/main...v1.1.0')).json()
    assert behind['status'] == 'behind'
    assert behind['commits'] == []
    for path in ('main..feature/login', 'main...nope'):
        assert (
            await world.client.get(f'{REPO}/compare/{path}')
        ).status_code == 404


async def test_unrelated_histories_compare(world: World) -> None:
    world.git.branches['orphan'] = world.git.commit('Orphan root')
    body = (await world.client.get(f'{REPO}/compare/main...orphan')).json()
    assert body['merge_base_commit'] is None
    assert body['ahead_by'] == 1


async def test_checks_and_statuses(world: World) -> None:
    runs = (await world.client.get(f'{REPO}/commits/main/check-runs')).json()
    assert runs['total_count'] == 3
    assert {r['status'] for r in runs['check_runs']} == {
        'completed',
        'in_progress',
    }
    status = (await world.client.get(f'{REPO}/commits/main/status')).json()
    assert (status['state'], status['total_count']) == ('success', 1)
    empty = (
        await world.client.get(f'{REPO}/commits/feature/login/status')
    ).json()
    assert (empty['state'], empty['total_count']) == ('pending', 0)
    world.git.status(sha(world, 'main'), 'ci/lint', 'failure')
    failed = (await world.client.get(f'{REPO}/commits/main/status')).json()
    assert failed['state'] == 'failure'
    for suffix in ('check-runs', 'status'):
        unknown = await world.client.get(f'{REPO}/commits/nope/{suffix}')
        assert unknown.status_code == 422


def test_rollup_states(world: World) -> None:
    git = world.git
    assert git.rollup(sha(world, 'main')) == 'PENDING'
    assert git.rollup(git.history(sha(world, 'main'))[1].sha) == 'FAILURE'
    assert git.rollup(sha(world, 'feature/login')) is None
    root = git.history(sha(world, 'main'))[-1].sha
    git.status(root, 'ci/other', 'error')
    assert git.rollup(root) == 'ERROR'


async def test_graphql_rollups(world: World) -> None:
    commits = world.git.history(sha(world, 'main'))[:2]
    response = await world.client.post(
        '/api/graphql',
        json={
            'query': QUERY,
            'variables': {'ids': [c.node_id for c in commits] + ['C_none']},
        },
    )
    body = response.json()
    assert body['data']['nodes'][0]['statusCheckRollup'] == {
        'state': 'PENDING'
    }
    assert body['data']['nodes'][1]['associatedPullRequests'] == {
        'nodes': [{'number': 110}]
    }
    assert body['data']['nodes'][2] is None
    assert body['errors'][0]['type'] == 'NOT_FOUND'


@pytest.mark.parametrize(
    'payload',
    [
        {'query': '{ viewer { login } }'},
        {'query': QUERY, 'variables': {'ids': 'x'}},
        {'variables': {}},
    ],
)
async def test_graphql_serves_only_the_plugin_query(
    world: World, payload: dict[str, typing.Any]
) -> None:
    response = await world.client.post('/graphql', json=payload)
    assert response.status_code == 200
    assert 'data' not in response.json()
    assert response.json()['errors']


async def test_graphql_bad_credentials(world: World) -> None:
    response = await world.client.post(
        '/graphql', json={'query': QUERY}, headers={'authorization': 'x'}
    )
    assert response.status_code == 401


async def test_tags_refs_and_conflicts(world: World) -> None:
    head = sha(world, 'main')
    created = await world.client.post(
        f'{REPO}/git/tags',
        json={'tag': 'v2', 'message': 'm', 'object': head, 'type': 'commit'},
    )
    assert created.status_code == 201
    tag_sha = created.json()['sha']
    ref = await world.client.post(
        f'{REPO}/git/refs', json={'ref': 'refs/tags/v2', 'sha': tag_sha}
    )
    assert ref.status_code == 201
    assert ref.json()['object']['type'] == 'tag'
    again = await world.client.post(
        f'{REPO}/git/refs', json={'ref': 'refs/tags/v2', 'sha': head}
    )
    assert again.status_code == 422
    assert again.json()['message'] == 'Reference already exists'
    read = (await world.client.get(f'{REPO}/git/ref/tags/v2')).json()
    obj = (
        await world.client.get(f'{REPO}/git/tags/{read["object"]["sha"]}')
    ).json()
    assert obj['object'] == {
        'type': 'commit',
        'sha': head,
        'url': f'{world.fake.base_url}/repos/acme/app/git/commits/{head}',
    }
    assert world.git.resolve('refs/tags/v2') == head
    assert world.git.resolve('heads/main') == head


@pytest.mark.parametrize(
    ('path', 'body', 'status'),
    [
        ('/git/tags', {'tag': 'x'}, 422),
        (
            '/git/tags',
            {
                'tag': 'x',
                'message': 'm',
                'object': 'ab' * 20,
                'type': 'commit',
            },
            422,
        ),
        ('/git/refs', {'ref': 'tags/x', 'sha': 'ab'}, 422),
        ('/git/refs', {'ref': 'refs/tags/x', 'sha': 'ab' * 20}, 422),
        ('/git/refs', {'ref': 'refs/tags/x'}, 422),
        ('/releases', {'name': 'x'}, 422),
        ('/releases', {'tag_name': 'new', 'target_commitish': 'nope'}, 422),
    ],
)
async def test_git_write_validation(
    world: World, path: str, body: dict[str, str], status: int
) -> None:
    response = await world.client.post(f'{REPO}{path}', json=body)
    assert response.status_code == status
    assert response.json()['message']


@pytest.mark.parametrize('path', ['/git/tags', '/git/refs', '/releases'])
async def test_git_writes_need_json(world: World, path: str) -> None:
    response = await world.client.post(f'{REPO}{path}', content=b'{nope')
    assert response.status_code == 400
    assert response.json()['message'] == 'Problems parsing JSON'


async def test_missing_refs_and_tags(world: World) -> None:
    for path in ('/git/ref/tags/none', '/git/ref/other/x', '/git/tags/abc'):
        assert (await world.client.get(f'{REPO}{path}')).status_code == 404


async def test_releases(world: World) -> None:
    created = await world.client.post(
        f'{REPO}/releases', json={'tag_name': 'v1.0.0', 'name': 'One'}
    )
    assert created.status_code == 201
    duplicate = await world.client.post(
        f'{REPO}/releases', json={'tag_name': 'v1.0.0'}
    )
    assert duplicate.status_code == 422
    assert duplicate.json()['errors'][0]['code'] == 'already_exists'
    found = await world.client.get(f'{REPO}/releases/tags/v1.0.0')
    assert found.json()['name'] == 'One'
    assert (
        await world.client.get(f'{REPO}/releases/tags/v9')
    ).status_code == 404
    # A release for a missing tag creates it at the default branch head.
    await world.client.post(f'{REPO}/releases', json={'tag_name': 'v9'})
    assert world.git.resolve('v9') == sha(world, 'main')


async def test_workflows(world: World) -> None:
    listed = (await world.client.get(f'{REPO}/actions/workflows')).json()
    assert [w['name'] for w in listed['workflows']] == ['Deploy', 'CI']
    by_id = listed['workflows'][0]['id']
    one = await world.client.get(f'{REPO}/actions/workflows/{by_id}')
    assert one.json()['path'] == '.github/workflows/deploy.yml'
    missing = await world.client.get(f'{REPO}/actions/workflows/none.yml')
    assert missing.status_code == 404


async def dispatch(world: World, **body: typing.Any) -> httpx.Response:
    return await world.client.post(
        f'{REPO}/actions/workflows/deploy.yml/dispatches', json=body
    )


async def test_dispatch_with_and_without_run_details(world: World) -> None:
    detailed = await dispatch(world, ref='main', return_run_details=True)
    assert detailed.status_code == 200
    assert set(detailed.json()) == {'workflow_run_id', 'run_url', 'html_url'}
    plain = await dispatch(world, ref='refs/tags/v1.0.0')
    assert plain.status_code == 204
    run = world.git.runs[max(world.git.runs)]
    assert (run.head_branch, run.head_sha) == ('v1.0.0', sha(world, 'v1.0.0'))


@pytest.mark.parametrize('mode', ['reject-400', 'reject-422'])
async def test_ghes_rejects_return_run_details(
    world: World, mode: str
) -> None:
    actions.state(world.fake).run_details = mode  # type: ignore[assignment]
    response = await dispatch(world, ref='main', return_run_details=True)
    assert response.status_code == int(mode[-3:])
    assert (
        '"return_run_details" is not a permitted key'
        in (response.json()['message'])
    )
    assert world.git.runs == {}


@pytest.mark.parametrize(
    ('body', 'message'),
    [
        ({}, '"ref" wasn\'t supplied'),
        ({'ref': 'main', 'inputs': []}, 'not an object'),
        ({'ref': 'nope'}, 'No ref found for: nope'),
        ({'ref': 'main', 'inputs': {'sha': 1}}, 'is not a string'),
        (
            {'ref': 'main', 'inputs': {'x': 'y'}},
            'Unexpected inputs provided: ["x"]',
        ),
        ({'ref': 'main', 'other': 1}, '"other" is not a permitted key'),
    ],
)
async def test_dispatch_validation(
    world: World, body: dict[str, typing.Any], message: str
) -> None:
    response = await dispatch(world, **body)
    assert response.status_code == 422
    assert message in response.json()['message']


async def test_dispatch_trigger_and_required_inputs(world: World) -> None:
    ci = await world.client.post(
        f'{REPO}/actions/workflows/ci.yml/dispatches', json={'ref': 'main'}
    )
    assert ci.json()['message'] == (
        "Workflow does not have 'workflow_dispatch' trigger"
    )
    deploy = next(w for w in world.git.workflows.values() if w.dispatchable)
    deploy.inputs['approver'] = {'required': True}
    missing = await dispatch(world, ref='main')
    assert (
        missing.json()['message'] == "Required input 'approver' not provided"
    )
    gone = await world.client.post(
        f'{REPO}/actions/workflows/none.yml/dispatches', json={'ref': 'main'}
    )
    assert gone.status_code == 404
    bad = await world.client.post(
        f'{REPO}/actions/workflows/deploy.yml/dispatches', content=b'['
    )
    assert bad.status_code == 400


async def test_runs_progress_and_deploy(world: World) -> None:
    started = await dispatch(
        world,
        ref='main',
        inputs={'environment': 'qa', 'imbi_correlation': 'c0ffee'},
        return_run_details=True,
    )
    run_id = started.json()['workflow_run_id']
    seen = []
    for _ in range(4):
        body = (await world.client.get(f'{REPO}/actions/runs/{run_id}')).json()
        seen.append((body['status'], body['conclusion']))
    assert seen == [
        ('queued', None),
        ('in_progress', None),
        ('completed', 'success'),
        ('completed', 'success'),
    ]
    assert body['display_title'] == 'Deploy to qa c0ffee'
    assert body['name'] == 'Deploy'
    listed = (
        await world.client.get(
            f'{REPO}/deployments', params={'environment': 'qa'}
        )
    ).json()
    assert len(listed) == 1
    statuses = (
        await world.client.get(
            f'{REPO}/deployments/{listed[0]["id"]}/statuses'
        )
    ).json()
    assert [s['state'] for s in statuses] == ['success', 'in_progress']
    assert statuses[0]['log_url'].endswith(f'/actions/runs/{run_id}')
    assert (
        await world.client.get(f'{REPO}/actions/runs/1')
    ).status_code == 404
    assert (
        await world.client.get(f'{REPO}/deployments/1/statuses')
    ).status_code == 404


async def test_failed_run_fails_its_deployment(world: World) -> None:
    for workflow in world.git.workflows.values():
        workflow.conclusion = 'failure'
    started = await dispatch(world, ref='main', return_run_details=True)
    run = world.git.runs[started.json()['workflow_run_id']]
    actions.advance(world.fake, world.git, run)
    actions.advance(world.fake, world.git, run)
    deployment = world.git.deployments[0]
    assert deployment.statuses[0].state == 'failure'


async def test_runs_do_not_move_unless_asked(world: World) -> None:
    actions.state(world.fake).advance_on_read = False
    started = await dispatch(world, ref='main', return_run_details=True)
    run_id = started.json()['workflow_run_id']
    for _ in range(2):
        body = (await world.client.get(f'{REPO}/actions/runs/{run_id}')).json()
        assert body['status'] == 'queued'


async def test_run_list_filters(world: World) -> None:
    await dispatch(world, ref='main')
    await dispatch(world, ref='feature/login')
    old = world.git.runs[min(world.git.runs)]
    old.created_at -= datetime.timedelta(hours=1)
    path = f'{REPO}/actions/workflows/deploy.yml/runs'
    everything = (await world.client.get(path)).json()
    assert everything['total_count'] == 2
    on_main = (await world.client.get(path, params={'branch': 'main'})).json()
    assert on_main['total_count'] == 1
    since = actions.iso(actions.now() - datetime.timedelta(minutes=1))
    recent = (
        await world.client.get(path, params={'created': f'>={since}'})
    ).json()
    assert [r['head_branch'] for r in recent['workflow_runs']] == [
        'feature/login'
    ]
    strictly = (
        await world.client.get(path, params={'created': f'>{since}'})
    ).json()
    assert strictly['total_count'] == 1
    for ignored in ('yesterday', '>garbage'):
        loose = (
            await world.client.get(path, params={'created': ignored})
        ).json()
        assert loose['total_count'] == 2
    other = (await world.client.get(path, params={'event': 'push'})).json()
    assert other['total_count'] == 0
    assert (
        await world.client.get(f'{REPO}/actions/workflows/none.yml/runs')
    ).status_code == 404


async def test_runs_appear_after_a_delay(world: World) -> None:
    actions.state(world.fake).run_appear_delay = 60
    await dispatch(world, ref='main')
    listed = (
        await world.client.get(f'{REPO}/actions/workflows/deploy.yml/runs')
    ).json()
    assert listed['total_count'] == 0


async def test_superseded_deployments_become_inactive(world: World) -> None:
    first = world.git.deploy('prod', sha(world, 'main'), 'main', ['success'])
    world.git.deploy('prod', sha(world, 'main'), 'main', ['success'])
    assert [s.state for s in first.statuses] == ['inactive', 'success']


async def test_every_route_answers_the_ghes_shape(world: World) -> None:
    response = await world.client.get(f'/api/v3{REPO}/branches')
    assert response.status_code == 200


async def test_classic_tokens_see_their_scopes(world: World) -> None:
    response = await world.client.get(f'{REPO}/tags')
    assert response.headers['x-oauth-scopes'] == 'repo'
    assert response.headers['x-accepted-oauth-scopes'] == 'repo'
    pat = world.fake.issue_token(
        'octocat', prefix='github_pat_', permissions={'contents': 'read'}
    )
    fine = await world.client.get(
        f'{REPO}/tags', headers={'authorization': f'Bearer {pat.value}'}
    )
    assert 'x-oauth-scopes' not in fine.headers


async def test_an_installation_token_dispatches_as_the_apps_bot(
    world: World,
) -> None:
    # GitHub: GET /user refuses installation tokens; their runs' actor is
    # the App's bot account.
    app = world.fake.issue_token(
        'octocat',
        prefix='ghs_',
        kind='installation',
        permissions={'actions': 'write'},
    )
    auth = {'authorization': f'Bearer {app.value}'}
    user = await world.client.get('/user', headers=auth)
    assert user.status_code == 403
    assert 'by integration' in user.json()['message']
    sent = await world.client.post(
        f'{REPO}/actions/workflows/deploy.yml/dispatches',
        json={'ref': 'main'},
        headers=auth,
    )
    assert sent.status_code == 204
    (run,) = world.git.runs.values()
    listed = await world.client.get(f'{REPO}/actions/runs/{run.id}')
    actor = listed.json()['actor']
    assert (actor['login'], actor['type']) == (
        actions.INSTALLATION_ACTOR,
        'Bot',
    )
