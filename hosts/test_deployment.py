"""github-actions through imbi-api's own deployment read routes."""

import collections.abc
import json
import typing

import pytest
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.github import GitHubFake
from imbi_plugin_testing.fakes.github import actions as gh_actions

Imbi = typing.Any
OWNER, NAME = 'acme', 'billing-api'


@pytest.fixture
def github(
    imbi: Imbi, secret_scan: SecretScan
) -> collections.abc.Iterator[tuple[Imbi, gh_actions.RepoState]]:
    fake = GitHubFake()
    fake.add_user('octocat')
    token = fake.issue_token('octocat', ['repo'])
    secret_scan.add(token.value)
    repo = fake.add_repository(OWNER, NAME, collaborators={'octocat': 'admin'})
    git = gh_actions.seed(fake, repo)
    with fake.serve() as url:
        imbi.graph.assign(
            'plugin-gha',
            'github-actions',
            'deployment',
            credentials={'token': token.value},
            plugin_options={'api_url': url},
            project_options={'repository': f'{OWNER}/{NAME}'},
        )
        yield imbi, git


def test_refs_commits_compare_and_resolve(
    github: tuple[Imbi, gh_actions.RepoState],
) -> None:
    imbi, git = github
    refs = imbi.get('/deployments/refs')
    assert refs.status_code == 200, refs.text
    names = {r['name'] for r in refs.json()}
    assert {'main', 'feature/login', 'v1.0.0', 'v1.1.0'} <= names
    commits = imbi.get('/deployments/refs/main/commits', limit=3)
    assert commits.status_code == 200, commits.text
    assert len(commits.json()) == 3
    head = git.resolve('main')
    assert commits.json()[0]['sha'] == head
    compared = imbi.get('/deployments/compare', base='v1.0.0', head='main')
    assert compared.status_code == 200, compared.text
    assert compared.json()['ahead'] > 0
    assert compared.json()['head_sha'] == head
    resolved = imbi.get('/deployments/commits/v1.1.0')
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()['sha'] == git.resolve('v1.1.0')
    branch = imbi.get('/deployments/refs/feature/login/commits', limit=1)
    assert branch.status_code == 200, branch.text


def test_an_unknown_ref_is_the_hosts_plain_500(
    github: tuple[Imbi, gh_actions.RepoState],
) -> None:
    """The plugin's ValueError reaches the user only as the host's 500."""
    imbi, _ = github
    response = imbi.get('/deployments/commits/no-such-ref')
    assert response.status_code == 500
    assert response.text == 'Internal Server Error'


def test_deploy_and_run_status(
    github: tuple[Imbi, gh_actions.RepoState],
) -> None:
    """environment_config comes from the edge's env_payloads (here the
    plugin's own 'workflow' key); the audit row goes to the recorder."""
    imbi, git = github
    imbi.graph.env_payloads = {'production': {'workflow': 'deploy.yml'}}
    head = git.resolve('main')
    response = imbi.client.post(
        imbi.url('/deployments'),
        json={
            'action': 'deploy',
            'environment': 'production',
            'committish': head,
        },
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body['plugin_slug'] == 'github-actions'
    assert body['recorded'] is False
    (run,) = git.runs.values()
    assert run.head_sha == head
    assert run.inputs['environment'] == 'production'
    status = imbi.get(f'/deployments/runs/{body["run"]["run_id"]}')
    assert status.status_code == 200, status.text
    assert status.json()['run_id'] == body['run']['run_id']
    # 2.5 audits every deploy; 2.11 only one of a known Release.
    tables = [row['table'] for row in imbi.audit.rows]
    assert tables in ([], ['operations_log'])


def test_deploy_to_an_unknown_environment(
    github: tuple[Imbi, gh_actions.RepoState],
) -> None:
    imbi, git = github
    response = imbi.client.post(
        imbi.url('/deployments'),
        json={
            'action': 'deploy',
            'environment': 'qa',
            'committish': git.resolve('main'),
        },
    )
    assert response.status_code == 404
    assert git.runs == {}


def _promote(imbi: Imbi, sha: str, tag: str) -> typing.Any:
    return imbi.client.post(
        imbi.url('/deployments'),
        json={
            'action': 'promote',
            'from_environment': 'staging',
            'to_environment': 'production',
            'from_committish': sha,
            'tag': tag,
            'release_name': f'Release {tag}',
        },
    )


def test_promote_twice(
    github: tuple[Imbi, gh_actions.RepoState],
) -> None:
    """The host cuts the tag and the release, dispatches the workflow
    at the tag and records a Release; the second promote of the same
    release finds tag and release in place (the plugin treats them as
    done), dispatches again and adds an event to the same Release."""
    imbi, git = github
    imbi.graph.env_payloads = {'production': {'workflow': 'deploy.yml'}}
    head = git.resolve('main')
    assert head is not None
    first = _promote(imbi, head, 'v2.0.0')
    assert first.status_code == 202, first.text
    body = first.json()
    assert body['warning'] is None
    assert body['recorded'] is True
    assert body['tag'] == 'v2.0.0'
    assert body['release_url'].endswith('/releases/tag/v2.0.0')
    assert git.resolve('v2.0.0') == head
    assert list(git.releases) == ['v2.0.0']
    (run,) = git.runs.values()
    assert run.head_branch == 'v2.0.0'
    (release,) = imbi.graph.releases
    assert (release['tag'], release['committish']) == ('v2.0.0', head[:7])
    second = _promote(imbi, head, 'v2.0.0')
    assert second.status_code == 202, second.text
    again = second.json()
    assert again['warning'] is None
    assert again['recorded'] is True
    assert again['release_url'] == body['release_url']
    assert again['run']['run_id'] != body['run']['run_id']
    assert len(git.runs) == 2
    assert list(git.releases) == ['v2.0.0']
    assert len(imbi.graph.releases) == 1  # the same Release node
    events = json.loads(imbi.graph.deployed[release['id'], 'production'])
    assert [e['external_run_id'] for e in events] == [
        body['run']['run_id'],
        again['run']['run_id'],
    ]
    actions = [row.get('action') for row in imbi.audit.rows]
    assert actions.count('promote') in (0, 2), imbi.audit.rows


def test_resync_twice(
    github: tuple[Imbi, gh_actions.RepoState],
) -> None:
    """The seeded GitHub deployments (production at v1.1.0, staging at
    a commit of main) become Release nodes with one event each; a
    second resync finds nothing new."""
    imbi, git = github
    imbi.graph.deployed_in = ['staging', 'production']
    response = imbi.client.post(imbi.url('/deployments/resync'))
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary['errors'] == []
    assert summary['observed'] == 2
    assert summary['releases_created'] == 2
    assert summary['events_recorded'] == 2
    production = git.resolve('v1.1.0')
    assert production is not None
    found = {(r['tag'], r['committish']) for r in imbi.graph.releases}
    assert ('v1.1.0', production[:7]) in found
    assert len(found) == 2
    statuses = sorted(
        event['status']
        for text in imbi.graph.deployed.values()
        for event in json.loads(text)
    )
    assert statuses == ['failed', 'success']
    again = imbi.client.post(imbi.url('/deployments/resync'))
    assert again.status_code == 200, again.text
    second = again.json()
    assert second['releases_created'] == 0
    assert second['events_recorded'] == 0
    assert second['events_skipped'] == 2
    assert len(imbi.graph.releases) == 2
    assert all(len(json.loads(t)) == 1 for t in imbi.graph.deployed.values())
