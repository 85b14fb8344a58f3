"""get_check_status, create_tag/create_release, list_workflows and
list_recent_deployments through Host, plus the status mappings."""

import datetime

import pytest
from github_actions_helpers import NAME, OWNER, GitHub
from imbi_plugin_github_actions import mapping, models
from imbi_plugin_testing import Fault

#: GitHub's own 404 body (a 404 without it is not GitHub).
_NOT_FOUND = {
    'message': 'Not Found',
    'documentation_url': 'https://docs.github.com/rest',
}

# -- checks -------------------------------------------------------------


@pytest.mark.parametrize(
    ('ref', 'expected'),
    [('main', 'warn'), ('v1.0.0', 'pass'), ('feature/login', 'unknown')],
)
async def test_check_status(github: GitHub, ref: str, expected: str) -> None:
    response = await github.host().deployment(
        'get_check_status', committish=ref
    )
    assert response.ok, response.body
    assert response.result == expected


async def test_check_status_failure_and_all_pages(github: GitHub) -> None:
    sha = github.sha('feature/login')
    for index in range(150):
        github.git.check(sha, f'job-{index}')
    github.git.check(sha, 'last', 'cancelled')  # on the second page
    mark = github.mark()
    response = await github.host().deployment(
        'get_check_status', committish='feature/login'
    )
    assert response.result == 'fail'
    assert len([p for p in github.since(mark) if 'check-runs' in p]) == 2


async def test_commit_status_failure_fails(github: GitHub) -> None:
    github.git.status(github.sha('v1.0.0'), 'ci/lint', 'error')
    response = await github.host().deployment(
        'get_check_status', committish='v1.0.0'
    )
    assert response.result == 'fail'


async def test_check_status_unknown_ref(github: GitHub) -> None:
    response = await github.host().deployment(
        'get_check_status', committish='nothing'
    )
    assert isinstance(response.error, ValueError)
    assert 'No commit found for SHA: nothing' in str(response.error)


def run(status: str, conclusion: str | None = None) -> models.CheckRun:
    return models.CheckRun(status=status, conclusion=conclusion)


def combined(state: str, count: int = 1) -> models.CombinedStatus:
    return models.CombinedStatus(state=state, total_count=count)


@pytest.mark.parametrize(
    ('runs', 'status', 'expected'),
    [
        ([], None, 'unknown'),
        ([], combined('pending', 0), 'unknown'),
        ([run('completed', 'success')], None, 'pass'),
        (
            [run('completed', 'neutral'), run('completed', 'skipped')],
            None,
            'pass',
        ),
        ([run('completed', 'success')], combined('pending'), 'warn'),
        ([run('in_progress')], combined('success'), 'warn'),
        ([run('completed', 'stale')], None, 'warn'),
        ([run('completed', 'action_required')], None, 'fail'),
        ([run('completed', 'timed_out'), run('queued')], None, 'fail'),
        ([run('completed', 'success')], combined('failure'), 'fail'),
        ([], combined('error'), 'fail'),
    ],
)
def test_check_status_rule(
    runs: list[models.CheckRun],
    status: models.CombinedStatus | None,
    expected: str,
) -> None:
    assert mapping.check_status(runs, status) == expected


@pytest.mark.parametrize(
    ('status', 'conclusion', 'expected'),
    [
        ('queued', None, 'queued'),
        ('requested', None, 'queued'),
        ('waiting', None, 'queued'),
        ('pending', None, 'queued'),
        ('in_progress', None, 'in_progress'),
        ('completed', 'success', 'success'),
        ('completed', 'failure', 'failure'),
        ('completed', 'timed_out', 'failure'),
        ('completed', 'startup_failure', 'failure'),
        ('completed', 'cancelled', 'cancelled'),
        ('completed', 'neutral', 'unknown'),
        ('completed', 'skipped', 'unknown'),
        ('completed', 'stale', 'unknown'),
        ('completed', 'action_required', 'unknown'),
        ('completed', None, 'unknown'),
        (None, None, 'unknown'),
    ],
)
def test_run_status_mapping(
    status: str | None, conclusion: str | None, expected: str
) -> None:
    assert mapping.run_status(status, conclusion) == expected


@pytest.mark.parametrize(
    ('state', 'expected'),
    [
        (None, 'pending'),
        ('queued', 'pending'),
        ('pending', 'pending'),
        ('in_progress', 'in_progress'),
        ('success', 'success'),
        ('inactive', 'success'),
        ('failure', 'failed'),
        ('error', 'failed'),
        ('something-new', 'pending'),
    ],
)
def test_deployment_status_mapping(state: str | None, expected: str) -> None:
    assert mapping.deployment_status(state) == expected


def test_rollup_mapping() -> None:
    assert mapping.rollup_status(None) == 'unknown'
    assert mapping.rollup_status(models.Rollup(state='EXPECTED')) == 'warn'
    assert mapping.rollup_status(models.Rollup(state='ERROR')) == 'fail'
    assert mapping.rollup_status(models.Rollup(state='NEW')) == 'unknown'


# -- tags and releases --------------------------------------------------


async def test_create_tag_then_again(github: GitHub) -> None:
    sha = github.sha('main')
    host = github.host()
    first = await host.deployment(
        'create_tag', sha=sha, tag='v2.0.0', message='Release 2.0.0'
    )
    assert first.ok, first.body
    assert first.result.sha == sha
    assert first.result.name == 'v2.0.0'
    assert first.result.url == f'{github.url}/{OWNER}/{NAME}/tree/v2.0.0'
    assert github.sha('v2.0.0') == sha
    assert github.git.tags['v2.0.0'] in github.git.tag_objects  # annotated
    mark = github.mark()
    again = await host.deployment(
        'create_tag', sha=sha.upper(), tag='v2.0.0', message='x'
    )
    assert again.ok, again.body
    assert again.result == first.result
    assert not [p for p in github.since(mark) if p.startswith('POST')]


async def test_existing_lightweight_tag_at_the_commit(github: GitHub) -> None:
    response = await github.host().deployment(
        'create_tag', sha=github.sha('v1.1.0'), tag='v1.1.0', message=''
    )
    assert response.ok, response.body


async def test_tag_at_another_commit(github: GitHub) -> None:
    response = await github.host().deployment(
        'create_tag', sha=github.sha('main'), tag='v1.0.0', message='m'
    )
    assert isinstance(response.error, ValueError)
    assert "tag 'v1.0.0' already exists" in str(response.error)


async def test_tag_from_a_short_sha(github: GitHub) -> None:
    sha = github.sha('feature/login')
    response = await github.host().deployment(
        'create_tag', sha=sha[:9], tag='login-1', message='m'
    )
    assert response.ok, response.body
    assert response.result.sha == sha


async def test_tag_race_is_settled_by_reading_it(github: GitHub) -> None:
    sha = github.sha('main')
    github.fake.inject(
        Fault(
            path='/git/refs$',
            status=422,
            body={'message': 'Reference already exists'},
        )
    )
    github.git.tags['v3'] = sha  # what the other writer made
    github.fake.inject(
        Fault(path='/git/ref/tags/v3$', status=404, body=_NOT_FOUND)
    )
    response = await github.host().deployment(
        'create_tag', sha=sha, tag='v3', message='m'
    )
    assert response.ok, response.body


async def test_tag_of_an_unknown_commit(github: GitHub) -> None:
    response = await github.host().deployment(
        'create_tag', sha='ab' * 20, tag='v9', message='m'
    )
    assert isinstance(response.error, ValueError)
    assert 'Object does not exist' in str(response.error)


async def test_tag_ref_rejected_otherwise(github: GitHub) -> None:
    github.fake.inject(
        Fault(
            path='/git/refs$',
            status=422,
            body={'message': 'Reference name is invalid'},
        )
    )
    response = await github.host().deployment(
        'create_tag', sha=github.sha('main'), tag='v4', message='m'
    )
    assert isinstance(response.error, ValueError)
    assert 'Reference name is invalid' in str(response.error)


@pytest.mark.parametrize(
    ('sha', 'tag', 'message'),
    [
        ('xyz', 'v1', 'm'),
        ('a' * 40, 'refs/tags/v1', 'm'),
        ('a' * 40, 'v 1', 'm'),
    ],
)
async def test_bad_tag_input_makes_no_request(
    github: GitHub, sha: str, tag: str, message: str
) -> None:
    mark = github.mark()
    response = await github.host().deployment(
        'create_tag', sha=sha, tag=tag, message=message
    )
    assert isinstance(response.error, ValueError)
    assert github.since(mark) == []


async def test_create_release_then_again(github: GitHub) -> None:
    host = github.host()
    first = await host.deployment(
        'create_release',
        tag='v1.1.0',
        name='1.1.0',
        body_markdown='* things',
        prerelease=True,
    )
    assert first.ok, first.body
    assert first.result.tag == 'v1.1.0'
    assert first.result.prerelease is True
    assert first.result.html_url.endswith('/releases/tag/v1.1.0')
    again = await host.deployment(
        'create_release', tag='v1.1.0', name='other', body_markdown=''
    )
    assert again.ok, again.body
    assert again.result == first.result


async def test_release_needs_the_tag(github: GitHub) -> None:
    mark = github.mark()
    response = await github.host().deployment(
        'create_release', tag='v9.9.9', name='', body_markdown=''
    )
    assert isinstance(response.error, ValueError)
    assert 'create the tag first' in str(response.error)
    assert not [p for p in github.since(mark) if p.startswith('POST')]
    assert 'v9.9.9' not in github.git.tags


async def test_release_race_returns_the_winner(github: GitHub) -> None:
    # Another writer creates the release between our read and our write.
    github.fake.inject(
        Fault(path='/releases/tags/v1.0.0$', status=404, body=_NOT_FOUND)
    )
    host = github.host()
    await host.deployment(
        'create_release', tag='v1.0.0', name='winner', body_markdown=''
    )
    github.fake.inject(
        Fault(path='/releases/tags/v1.0.0$', status=404, body=_NOT_FOUND)
    )
    response = await host.deployment(
        'create_release', tag='v1.0.0', name='loser', body_markdown=''
    )
    assert response.ok, response.body
    assert response.result.name == 'winner'


async def test_release_refused(github: GitHub) -> None:
    github.fake.inject(
        Fault(
            path='/releases$',
            method='POST',
            status=422,
            body={'message': 'Validation Failed', 'errors': [{'code': 'x'}]},
        )
    )
    response = await github.host().deployment(
        'create_release', tag='v1.0.0', name='n', body_markdown=''
    )
    assert isinstance(response.error, ValueError)
    assert 'Validation Failed' in str(response.error)


async def test_release_exists_but_is_not_returned(github: GitHub) -> None:
    github.fake.inject(
        Fault(
            path='/releases/tags/v1.0.0$', status=404, body=_NOT_FOUND, times=2
        )
    )
    github.fake.inject(
        Fault(
            path='/releases$',
            method='POST',
            status=422,
            body={
                'message': 'Validation Failed',
                'errors': [{'code': 'already_exists'}],
            },
        )
    )
    response = await github.host().deployment(
        'create_release', tag='v1.0.0', name='n', body_markdown=''
    )
    assert isinstance(response.error, ValueError)
    assert 'a draft?' in str(response.error)


async def test_bad_release_input_makes_no_request(github: GitHub) -> None:
    mark = github.mark()
    response = await github.host().deployment(
        'create_release', tag='v1', name=None, body_markdown=''
    )
    assert isinstance(response.error, ValueError)
    assert github.since(mark) == []


# -- workflows and deployments -------------------------------------------


async def test_list_workflows_all_pages(github: GitHub) -> None:
    for index in range(120):
        github.git.workflow(f'Job {index}', f'job-{index}.yml')
    mark = github.mark()
    response = await github.host().deployment('list_workflows')
    assert response.ok, response.body
    assert len(response.result) == 122
    first = response.result[0]
    assert (first.name, first.path, first.state) == (
        'Deploy',
        '.github/workflows/deploy.yml',
        'active',
    )
    assert first.id.isdigit()
    assert len(github.since(mark)) == 2


async def test_list_recent_deployments(github: GitHub) -> None:
    host = github.host(workflow='deploy.yml')
    started = await host.trigger_deployment('main', {'environment': 'staging'})
    for _ in range(3):
        await host.deployment(
            'get_deployment_status', run_id=started.result.run_id
        )
    response = await host.deployment(
        'list_recent_deployments',
        environments=['production', 'staging', 'nowhere', 'staging'],
        limit=2,
    )
    assert response.ok, response.body
    found = [(d.environment, d.status, d.ref) for d in response.result]
    assert found == [
        ('production', 'success', 'v1.1.0'),
        ('staging', 'success', 'main'),
        ('staging', 'failed', 'main'),
    ]
    newest = response.result[1]
    assert newest.external_run_id.isdigit()
    assert newest.run_url == started.result.run_url
    assert newest.deployment_url == 'https://staging.example'
    assert newest.sha == github.sha('main')
    assert isinstance(newest.created_at, datetime.datetime)


async def test_superseded_deployment_is_inactive_success(
    github: GitHub,
) -> None:
    github.git.deploy('production', github.sha('main'), 'main', ['success'])
    response = await github.host().deployment(
        'list_recent_deployments', environments=['production'], limit=5
    )
    assert [d.status for d in response.result] == ['success', 'success']
    old = github.git.deployments[-1]
    assert old.statuses[0].state == 'inactive'


async def test_deployment_without_statuses_is_pending(github: GitHub) -> None:
    github.git.deploy('qa', github.sha('main'), 'main', [])
    response = await github.host().deployment(
        'list_recent_deployments', environments=['qa']
    )
    assert [(d.status, d.run_url) for d in response.result] == [
        ('pending', None)
    ]


async def test_no_environments_makes_no_request(github: GitHub) -> None:
    mark = github.mark()
    response = await github.host().deployment(
        'list_recent_deployments', environments=[]
    )
    assert response.result == []
    bad = await github.host().deployment(
        'list_recent_deployments', environments=['ok', ' ']
    )
    assert isinstance(bad.error, ValueError)
    assert github.since(mark) == []


async def test_deployment_sync_is_concurrent_but_bounded(
    github: GitHub,
) -> None:
    names = [f'env-{index}' for index in range(20)]
    for name in names:
        github.git.deploy(name, github.sha('main'), 'main', ['success'])
    github.fake.latency = 0.05
    response = await github.host().deployment(
        'list_recent_deployments', environments=names
    )
    assert response.ok, response.body
    assert len(response.result) == 20
    # 40 requests of 50 ms each, at most 8 at a time.
    assert 0.25 < response.elapsed < 1.5
