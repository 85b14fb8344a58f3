"""Matrix profile of the GitHub identity plugin (OAuth web flow).

The stand-in holds one user and a GitHub App (expiring user tokens with
refresh tokens, so all three upstream methods work with one set of
credentials), a live user token to revoke and a live refresh token.
Every call goes through the :class:`Host` the way imbi-api makes it:
``exchange_code`` after ``authorization_request`` (no network) and the
browser's consent (approved in Python, no network), with the host's own
signed ``state`` and the verifier it stored.
"""

import pathlib
import secrets
import time
import typing
import urllib.parse

from imbi_plugin_testing.contract import ContractSpec
from imbi_plugin_testing.fakes.github import GitHubFake
from imbi_plugin_testing.fakes.github import oauth as fake_oauth
from imbi_plugin_testing.generation import V3
from imbi_plugin_testing.host import Host, HostResponse
from imbi_plugin_testing.profiles import BadInput, Profile, UpstreamCall
from imbi_plugin_testing.secrets import current_scan
from imbi_plugin_testing.standin import Fault, StandIn

CALLBACK = 'https://imbi.example.com/api/me/identities/github/callback'
_DOCS = 'https://docs.github.com/rest'
_RATE_DOCS = (
    'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api'
)


class _Seeded(GitHubFake):
    """The GitHub stand-in with a user, a GitHub App and live tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.add_user(
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
        self.github_app = self.add_oauth_app(
            'github_app',
            callback_urls=[CALLBACK],
            permissions={'emails': 'read'},
        )
        expires = time.time() + fake_oauth.ACCESS_TOKEN_TTL_SECONDS
        self.access_token = self.issue_token(
            'octocat',
            prefix='ghu_',
            client_id=self.github_app.client_id,
            kind='app',
            permissions=dict(self.github_app.permissions),
            expires_at=expires,
        ).value
        paired = self.issue_token(
            'octocat',
            prefix='ghu_',
            client_id=self.github_app.client_id,
            kind='app',
            permissions=dict(self.github_app.permissions),
            expires_at=expires,
        )
        self.refresh_token = 'ghr_' + secrets.token_urlsafe(56)
        fake_oauth.state(self).refresh_tokens[self.refresh_token] = (
            fake_oauth.RefreshToken(
                value=self.refresh_token,
                client_id=self.github_app.client_id,
                user_login='octocat',
                access_token=paired.value,
                expires_at=time.time() + fake_oauth.REFRESH_TOKEN_TTL_SECONDS,
            )
        )


class _GitHubHost(Host):
    """A Host that knows its stand-in (to approve a consent, find the
    seeded tokens)."""

    def __init__(self, fake: _Seeded, url: str, budget: int) -> None:
        super().__init__(
            _plugin(),
            plugin_options={
                'github_url': url,
                # github.com shape: REST at the root of its own host.
                'api_url': url,
                'timeout_seconds': budget,
            },
            credentials={
                'client_id': fake.github_app.client_id,
                'client_secret': fake.github_app.client_secret,
            },
        )
        self.fake = fake
        scan = current_scan()
        if scan is not None:
            scan.add(fake.access_token, fake.refresh_token)


def _plugin() -> type:
    from imbi_plugin_testing.generation import plugin_under_test

    GitHubIdentityPlugin = plugin_under_test('imbi_plugin_github_identity')

    return GitHubIdentityPlugin


def _fake() -> StandIn:
    return _Seeded()


def _host(fake: StandIn, url: str, budget: int) -> Host:
    if not isinstance(fake, _Seeded):
        raise TypeError(f'not the seeded GitHub stand-in: {fake!r}')
    return _GitHubHost(fake, url, budget)


def _seeded(host: Host) -> _Seeded:
    if not isinstance(host, _GitHubHost):
        raise TypeError(f'not a host made by this profile: {host!r}')
    return host.fake


async def _start(host: Host) -> tuple[HostResponse, str, str]:
    """authorization_request and the browser's consent: the host's
    answer, the code and the host's state (no upstream request)."""
    started = await host.authorization_request(CALLBACK)
    if not started.ok:
        return started, '', ''
    callback = fake_oauth.approve(
        _seeded(host), started.body['authorization_url'], 'octocat'
    )
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    scan = current_scan()
    if scan is not None:
        scan.add(query['code'])
    return started, query['code'], query['state']


async def _exchange(
    host: Host,
    *,
    code: str | None = None,
    redirect_uri: str = CALLBACK,
    **options: typing.Any,
) -> HostResponse:
    """The web flow's callback; ``options`` change after the start."""
    started, issued, state = await _start(host)
    if not started.ok:
        return started
    host.plugin_options.update(options)
    return await host.exchange_code(
        issued if code is None else code, redirect_uri, state
    )


async def _refresh(host: Host, **options: typing.Any) -> HostResponse:
    host.plugin_options.update(options)
    return await host.refresh(_seeded(host).refresh_token)


async def _revoke(host: Host, **options: typing.Any) -> HostResponse:
    host.plugin_options.update(options)
    return await host.revoke(_seeded(host).access_token)


def _contract() -> ContractSpec:
    async def call(
        plugin: typing.Any, ctx: typing.Any, creds: dict[str, str]
    ) -> object:
        return await plugin.exchange_code(
            ctx, creds, 'a1b2c3d4e5f6a7b8c9d0', CALLBACK, None
        )

    return ContractSpec(
        plugin=_plugin(),
        readme=pathlib.Path('packages/github-identity/README.md'),
        credentials={
            'client_id': 'Iv23liContract',
            'client_secret': 'c0ntract' * 5,
        },
        options=lambda url: {'github_url': url, 'api_url': url},
        call=call,
        context_kind='identity',
    )


def _rate_headers(remaining: int) -> dict[str, str]:
    """GitHub sends its rate-limit headers with every REST answer; a
    rejection that is not a rate limit still has requests left."""
    return {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': str(remaining),
        'x-ratelimit-used': str(5000 - remaining),
        'x-ratelimit-reset': str(int(time.time()) + 3600),
        'x-ratelimit-resource': 'core',
        'x-github-request-id': 'C0DE:1A2B:3C4D5E:6F7A8B:6565F00D',
    }


def _error_bodies() -> dict[str, Fault]:
    def error(message: str, status: int, remaining: int = 4999) -> Fault:
        docs = _RATE_DOCS if status == 429 else _DOCS
        return Fault(
            body={
                'message': message,
                'documentation_url': docs,
                'status': str(status),
            },
            headers=_rate_headers(remaining),
        )

    return {
        '401': error('Bad credentials', 401),
        '403': error('Resource not accessible by integration', 403),
        '404': error('Not Found', 404),
        # A secondary rate limit: requests left in the hour, Retry-After
        # (from the matrix) says when to come back.
        '429': error(
            'You have exceeded a secondary rate limit. Please wait a few '
            'minutes before you try again.',
            429,
            4990,
        ),
        '500': error('Server Error', 500),
        '503': error(
            'No server is currently available to service your request. '
            'Sorry about that. Please try resubmitting your request and '
            'contact us if the problem persists.',
            503,
        ),
    }


#: GitHub's token endpoint (/login/oauth/access_token) reports every
#: OAuth error with HTTP 200 and an ``error`` field: rejected client
#: credentials are ``incorrect_client_credentials`` and a dead refresh
#: token ``bad_refresh_token`` (both PluginAuthenticationFailed, issue
#: 7). An HTTP 401/403/404 there is not GitHub's OAuth server judging a
#: credential but something else answering at ``github_url`` (a proxy, a
#: wrong host or path): PluginUnavailableError saying "check github_url".
#: For refresh this matters: PluginAuthenticationFailed makes the host
#: mark the user's connection expired, which a misrouted request must not.
_TOKEN_ENDPOINT = {
    '401': 'PluginUnavailableError',
    '403': 'PluginUnavailableError',
    '404': 'PluginUnavailableError',
}

#: revoke is best effort (issue 7, the base class): 204 is done, 404 and
#: 422 mean the token is already invalid (success), and every other
#: failure - refused connection, 401/403 (GitHub rejecting the app's
#: Basic auth), a rate limit still there after the retries the budget
#: allows, 5xx after two retries, a 2xx with a malformed body - is logged
#: without the token and not raised, so the host answers 204 ('ok').
#: Only a timeout is raised (PluginTimeoutError, POLICY): the README
#: promises it so a disconnect that could not revoke is not reported as
#: done.
_REVOKE = {
    'refused': 'ok',
    '401': 'ok',
    '403': 'ok',
    '404': 'ok',
    '429': 'ok',
    '500': 'ok',
    '503': 'ok',
    'malformed': 'ok',
}


def _bad_inputs() -> list[BadInput]:
    return [
        BadInput(
            'relative redirect_uri with ../',
            lambda h: h.authorization_request('../../identities/callback'),
            'ValueError',
            'redirect_uri must be an absolute http(s) URL',
        ),
        BadInput(
            'javascript: redirect_uri on exchange_code',
            lambda h: _exchange(h, redirect_uri='javascript:alert(1)//'),
            'ValueError',
            'redirect_uri must be an absolute http(s) URL',
        ),
        BadInput(
            'redirect_uri with a CRLF header injection',
            lambda h: _exchange(
                h, redirect_uri=CALLBACK + '\r\nSet-Cookie: session=x'
            ),
            'ValueError',
            'redirect_uri',
        ),
        BadInput(
            'redirect_uri with backticks, quotes and braces',
            lambda h: _exchange(
                h, redirect_uri='https://imbi.example.com/`id`/"{{7*7}}"'
            ),
            'ValueError',
            'redirect_uri',
        ),
        BadInput(
            'scope with a newline',
            lambda h: h.authorization_request(
                CALLBACK, ['read:user\nX-Injected: 1']
            ),
            'ValueError',
            'invalid OAuth scope',
        ),
        BadInput(
            'empty authorization code',
            lambda h: _exchange(h, code='  '),
            'ValueError',
            'authorization code is empty',
        ),
        BadInput(
            'empty refresh token',
            lambda h: h.refresh(''),
            'ValueError',
            'refresh token is empty',
        ),
        BadInput(
            'blank token to revoke',
            lambda h: h.revoke(' \n'),
            'ValueError',
            'token to revoke is empty',
        ),
        BadInput(
            'github_url without a scheme',
            lambda h: _refresh(h, github_url='github.example.com'),
            'ValueError',
            "'github_url' must be an absolute http(s) URL",
        ),
        BadInput(
            'github_url with a template placeholder',
            lambda h: _exchange(
                h, github_url='https://github.example.com/${org}'
            ),
            'ValueError',
            "'github_url' must be an absolute http(s) URL",
        ),
        BadInput(
            'github_url with an out-of-range port',
            lambda h: _refresh(
                h, github_url='https://github.example.com:99999'
            ),
            'ValueError',
            "'github_url'",
        ),
        BadInput(
            'api_url with a query',
            lambda h: _revoke(h, api_url='https://api.github.com/?per_page=1'),
            'ValueError',
            "'api_url' must not have a query",
        ),
        BadInput(
            'non-boolean use_pkce',
            lambda h: _exchange(h, use_pkce='sometimes'),
            'ValueError',
            "'use_pkce' must be a boolean",
        ),
        BadInput(
            'non-numeric timeout_seconds',
            lambda h: _revoke(h, timeout_seconds='10s'),
            'ValueError',
            "'timeout_seconds' must be a whole number of seconds",
        ),
        BadInput(
            'zero timeout_seconds',
            lambda h: _refresh(h, timeout_seconds='0'),
            'ValueError',
            "'timeout_seconds' must be a whole number of seconds",
        ),
    ]


def profile() -> Profile:
    return Profile(
        slug='github-identity' if V3 else 'github',
        folder='github-identity',
        make_fake=_fake,
        make_host=_host,
        calls=[
            UpstreamCall('exchange_code', _exchange, dict(_TOKEN_ENDPOINT)),
            # Faults on the profile read, after a good token exchange.
            UpstreamCall(
                'exchange_code-profile_read',
                _exchange,
                {'404': 'PluginUnavailableError'},
                target=Fault(path=r'/user$', method='GET'),
            ),
            UpstreamCall('refresh', _refresh, dict(_TOKEN_ENDPOINT)),
            UpstreamCall('revoke', _revoke, dict(_REVOKE)),
        ],
        bad_inputs=_bad_inputs(),
        contract=_contract,
        error_bodies=_error_bodies(),
    )
