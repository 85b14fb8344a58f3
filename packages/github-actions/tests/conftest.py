"""Fixtures: a served GitHub stand-in with one seeded repository."""

import collections.abc
import pathlib
import sys

import pytest
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.github import GitHubFake
from imbi_plugin_testing.fakes.github import actions as gh_actions

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from github_actions_helpers import NAME, OWNER, GitHub


@pytest.fixture(autouse=True)
def _scan(secret_scan: SecretScan) -> SecretScan:
    return secret_scan


@pytest.fixture
def github(secret_scan: SecretScan) -> collections.abc.Iterator[GitHub]:
    # One server for the whole run (starting uvicorn per test would
    # dominate the suite); each test plugs its own fake in.
    fake = GitHubFake()
    fake.add_user('octocat')
    token = fake.issue_token('octocat', ['repo'])
    secret_scan.add(token.value)
    repo = fake.add_repository(OWNER, NAME, collaborators={'octocat': 'admin'})
    git = gh_actions.seed(fake, repo)
    with fake.plugged() as url:
        yield GitHub(fake, url, token, repo, git)
