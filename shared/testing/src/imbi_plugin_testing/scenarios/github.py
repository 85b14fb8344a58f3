"""Demo of the GitHub identity plugin (slug ``github``).

Serves the GitHub stand-in, then signs a user in the way Imbi does (the
host swaps ``state`` and keeps the PKCE verifier; the browser approves
on the consent page) through an OAuth App on github.com and a GitHub App
on GHES, refreshes and revokes tokens.
"""

import typing
import urllib.parse

import httpx

from imbi_plugin_testing.fakes.github import GitHubFake, OAuthApp
from imbi_plugin_testing.host import Host
from imbi_plugin_testing.scenarios import Steps
from imbi_plugin_testing.secrets import unscanned

#: Fixed client IDs: public identifiers, known to tests that scan for
#: secrets (the revoke path carries the client ID by GitHub's design).
OAUTH_APP_CLIENT_ID = 'Ov23liImbiDemoOAuth'
GITHUB_APP_CLIENT_ID = 'Iv23liImbiDemoApp'
CALLBACK = 'https://imbi.example.com/api/me/identities/github/callback'


def _host(plugin: type, app: OAuthApp, options: dict[str, str]) -> Host:
    return Host(
        plugin,
        plugin_options=options,
        credentials={
            'client_id': app.client_id,
            'client_secret': app.client_secret,
        },
    )


async def _sign_in(
    host: Host, url: str, scopes: list[str] | None = None
) -> typing.Any:
    """Start, approve in the browser, and finish one web flow."""
    started = await host.authorization_request(CALLBACK, scopes)
    Steps.check(started.ok, f'authorization_request: {started.body}')
    authorize = started.body['authorization_url']
    params = dict(
        urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query)
    )
    # The browser is meant to see the code its redirect carries.
    with unscanned():
        async with httpx.AsyncClient() as browser:
            page = await browser.get(authorize)
            Steps.check(page.status_code == 200, 'no consent page')
            consent = await browser.post(
                f'{url}/login/oauth/authorize',
                data={**params, 'login': 'octocat', 'authorize': '1'},
            )
    Steps.check(consent.status_code == 302, 'consent did not redirect')
    back = dict(
        urllib.parse.parse_qsl(
            urllib.parse.urlsplit(consent.headers['location']).query
        )
    )
    Steps.check(back['state'] == started.body['state'], 'state not echoed')
    response = await host.exchange_code(back['code'], CALLBACK, back['state'])
    Steps.check(response.ok, f'exchange_code: {response.body}')
    return response


async def run(steps: Steps) -> None:
    from imbi_plugin_testing.generation import plugin_under_test

    GitHubIdentityPlugin = plugin_under_test('imbi_plugin_github_identity')

    fake = GitHubFake()
    user = fake.add_user(
        'octocat',
        name='The Octocat',
        emails=[
            {
                'email': 'octocat@example.com',
                'primary': True,
                'verified': True,
                'visibility': 'private',
            }
        ],
        orgs=['aweber'],
    )
    oauth_app = fake.add_oauth_app(
        client_id=OAUTH_APP_CLIENT_ID, callback_urls=[CALLBACK]
    )
    github_app = fake.add_oauth_app(
        'github_app',
        client_id=GITHUB_APP_CLIENT_ID,
        callback_urls=[CALLBACK],
        permissions={'emails': 'read'},
    )
    with fake.serve() as url:
        dotcom = _host(
            GitHubIdentityPlugin,
            oauth_app,
            {'github_url': url, 'api_url': url},
        )
        ghes = _host(GitHubIdentityPlugin, github_app, {'github_url': url})

        async with steps.step('OAuth App on github.com: sign in with PKCE'):
            response = await _sign_in(
                dotcom, url, ['read:user', 'user:email', 'read:org']
            )
            profile, creds = response.result
            steps.check(profile.subject == str(user.id), 'subject not the id')
            steps.check(profile.email_verified, 'email not verified')
            steps.check(profile.groups == ['aweber'], 'no organizations')
            steps.check(creds.refresh_token is None, 'OAuth token expires')
            oauth_token = creds.access_token

        async with steps.step('GitHub App on GHES (/api/v3): sign in'):
            response = await _sign_in(ghes, url)
            _, creds = response.result
            steps.check(creds.expires_at is not None, 'no expiry')
            steps.check(bool(creds.refresh_token), 'no refresh token')
            steps.check(
                bool(fake.requests_to('^/api/v3/user$')), 'GHES path unused'
            )

        async with steps.step('refresh rotates; the old refresh token dies'):
            rotated = await ghes.refresh(creds.refresh_token)
            steps.check(rotated.ok, f'refresh: {rotated.body}')
            again = await ghes.refresh(creds.refresh_token)
            steps.check(again.status == 401, 'old refresh token still works')

        async with steps.step('secondary rate limit honoured (Retry-After)'):
            fake.limit_secondary(times=1, retry_after=0)
            response = await _sign_in(dotcom, url)
            steps.check(response.ok, 'rate limit not waited out')

        async with steps.step('revoke, twice (idempotent)'):
            first = await dotcom.revoke(oauth_token)
            second = await dotcom.revoke(oauth_token)
            steps.check(first.status == second.status == 204, 'revoke failed')
            steps.check(fake.tokens[oauth_token].revoked, 'token still live')
