"""Fixtures: a served GitHub stand-in with one seeded repository."""

import collections.abc
import pathlib
import sys

import pytest
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.github import GitHubFake
from imbi_plugin_testing.fakes.github import actions as gh_actions
from imbi_plugin_testing.standin import serve_app
from starlette.types import Receive, Scope, Send

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from github_actions_helpers import NAME, OWNER, GitHub


@pytest.fixture(autouse=True)
def _scan(secret_scan: SecretScan) -> SecretScan:
    return secret_scan


class _Current:
    """One served address for the session; each test's fake behind it."""

    def __init__(self) -> None:
        self.fake: GitHubFake | None = None

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send
    ) -> None:
        assert self.fake is not None
        await self.fake.app(scope, receive, send)


@pytest.fixture(scope='session')
def served() -> collections.abc.Iterator[tuple[_Current, str]]:
    current = _Current()
    with serve_app(current) as url:
        yield current, url


@pytest.fixture
def github(
    secret_scan: SecretScan, served: tuple[_Current, str]
) -> collections.abc.Iterator[GitHub]:
    current, url = served
    fake = GitHubFake()
    fake.base_url = url
    fake.add_user('octocat')
    token = fake.issue_token('octocat', ['repo'])
    secret_scan.add(token.value)
    repo = fake.add_repository(OWNER, NAME, collaborators={'octocat': 'admin'})
    git = gh_actions.seed(fake, repo)
    current.fake = fake
    yield GitHub(fake, url, token, repo, git)
    current.fake = None
