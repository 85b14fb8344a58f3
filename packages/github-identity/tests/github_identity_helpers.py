"""Helpers of the github-identity tests (a unique module name: every
package's tests share one sys.path)."""

import dataclasses
import pathlib
import typing
import urllib.parse

import httpx
from imbi_plugin_testing import Host, SecretScan
from imbi_plugin_testing.fakes.github import GitHubFake, OAuthApp
from imbi_plugin_testing.fakes.github import oauth as fake_oauth
from imbi_plugin_testing.generation import plugin_under_test

MODULE = 'imbi_plugin_github_identity'
README = pathlib.Path(__file__).parent.parent / 'README.md'
REDIRECT_URI = 'https://imbi.example.com/api/me/identities/github/callback'


@dataclasses.dataclass
class GitHub:
    """The served stand-in and what the tests need to drive it."""

    fake: GitHubFake
    url: str
    oauth_app: OAuthApp
    github_app: OAuthApp
    scan: SecretScan

    def host(
        self,
        app: OAuthApp | None = None,
        *,
        ghes: bool = False,
        **options: typing.Any,
    ) -> Host:
        """A Host for the plugin; ``ghes`` serves GitHub under /api/v3."""
        app = app or self.oauth_app
        merged: dict[str, typing.Any] = {'github_url': self.url}
        if not ghes:
            # github.com shape: REST at the root of its own host.
            merged['api_url'] = self.url
        merged.update(options)
        host = Host(
            plugin_under_test(MODULE),
            plugin_options=merged,
            credentials={
                'client_id': app.client_id,
                'client_secret': app.client_secret,
            },
        )
        # The client ID is a public identifier (it is in the authorize URL
        # and the revoke path by GitHub's design); the Host registers every
        # credential value, so take it back out of the scan.
        self.scan.secrets.discard(app.client_id)
        return host

    async def sign_in(
        self,
        host: Host,
        login: str = 'octocat',
        scopes: list[str] | None = None,
        redirect_uri: str = REDIRECT_URI,
    ) -> typing.Any:
        """The whole web flow as Imbi runs it; the exchange's answer."""
        code, state = await self.authorize(host, login, scopes, redirect_uri)
        return await host.exchange_code(code, redirect_uri, state)

    async def authorize(
        self,
        host: Host,
        login: str = 'octocat',
        scopes: list[str] | None = None,
        redirect_uri: str = REDIRECT_URI,
    ) -> tuple[str, str]:
        """Start the flow and approve it in the browser: (code, state)."""
        started = await host.authorization_request(redirect_uri, scopes)
        assert started.ok, started.body
        callback = fake_oauth.approve(
            self.fake, started.body['authorization_url'], login
        )
        query = dict(
            urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query)
        )
        self.scan.add(query['code'])
        return query['code'], query['state']


def form(request: httpx.Request) -> dict[str, str]:
    """The form body of a recorded httpx request."""
    return dict(urllib.parse.parse_qsl(request.content.decode()))
