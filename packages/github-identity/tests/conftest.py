"""Fixtures: a GitHub stand-in with users and apps, served on 127.0.0.1."""

import collections.abc
import pathlib
import sys

import pytest
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.github import GitHubFake
from imbi_plugin_testing.fakes.github import oauth as fake_oauth

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from github_identity_helpers import REDIRECT_URI, GitHub


@pytest.fixture(autouse=True)
def _scan(secret_scan: SecretScan) -> SecretScan:
    """Every test runs under the secret scan."""
    return secret_scan


@pytest.fixture
def fake() -> GitHubFake:
    fake = GitHubFake()
    fake.add_user(
        'octocat',
        name='The Octocat',
        email='octocat@public.example',
        emails=[
            {
                'email': 'octocat@example.com',
                'primary': True,
                'verified': True,
                'visibility': 'private',
            },
            {
                'email': 'octocat@public.example',
                'primary': False,
                'verified': True,
                'visibility': 'public',
            },
        ],
        orgs=['aweber', 'imbi'],
    )
    fake.add_user(
        'newbie',
        emails=[
            {
                'email': 'newbie@example.com',
                'primary': True,
                'verified': False,
                'visibility': 'private',
            }
        ],
    )
    return fake


@pytest.fixture
def github(
    fake: GitHubFake, secret_scan: SecretScan
) -> collections.abc.Iterator[GitHub]:
    oauth_app = fake.add_oauth_app(callback_urls=[REDIRECT_URI])
    github_app = fake.add_oauth_app(
        'github_app',
        callback_urls=[REDIRECT_URI],
        permissions={'emails': 'read'},
    )
    secret_scan.add(oauth_app.client_secret, github_app.client_secret)
    with fake.serve() as url:
        yield GitHub(fake, url, oauth_app, github_app, secret_scan)


@pytest.fixture
def tokens(fake: GitHubFake) -> collections.abc.Callable[[], list[str]]:
    """Every token value the fake issued so far (to register as secrets)."""

    def values() -> list[str]:
        return [*fake.tokens, *fake_oauth.state(fake).refresh_tokens]

    return values
