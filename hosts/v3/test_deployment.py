"""github-actions through imbi-api 2.41's own deployment routes."""

import collections.abc
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
        imbi.integrate(
            'github-actions',
            options={'api_url': url},
            credentials={'token': token.value},
            capabilities={'deployment': {}},
        )
        imbi.bind(
            'github-actions-main',
            'deployment',
            options={'repository': f'{OWNER}/{NAME}'},
            env_payloads={'production': {'workflow': 'deploy.yml'}},
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
    assert commits.json()[0]['sha'] == git.resolve('main')
    compared = imbi.get('/deployments/compare', base='v1.0.0', head='main')
    assert compared.status_code == 200, compared.text
    assert compared.json()['ahead'] > 0
    resolved = imbi.get('/deployments/commits/v1.1.0')
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()['sha'] == git.resolve('v1.1.0')
    branch = imbi.get('/deployments/refs/feature/login/commits', limit=1)
    assert branch.status_code == 200, branch.text


def test_deploy_and_run_status(
    github: tuple[Imbi, gh_actions.RepoState],
) -> None:
    imbi, git = github
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
    (run,) = git.runs.values()
    assert run.head_sha == head
    assert run.inputs['environment'] == 'production'
    status = imbi.get(f'/deployments/runs/{body["run"]["run_id"]}')
    assert status.status_code == 200, status.text
    assert status.json()['run_id'] == body['run']['run_id']


def test_deploy_to_an_unknown_environment(
    github: tuple[Imbi, gh_actions.RepoState],
) -> None:
    imbi, git = github
    response = imbi.client.post(
        imbi.url('/deployments'),
        json={
            'action': 'deploy',
            'environment': 'moon',
            'committish': git.resolve('main'),
        },
    )
    assert response.status_code == 404, response.text
    assert git.runs == {}
