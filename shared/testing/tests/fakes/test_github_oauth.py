"""The OAuth part of the GitHub stand-in, against GitHub's documented
behaviour (fakes/github/oauth.py)."""

import base64
import collections.abc
import time
import typing
import urllib.parse

import httpx
import pytest
from imbi_plugin_testing.fakes.github import GitHubFake, OAuthApp, oauth

CALLBACK = 'https://imbi.example.com/cb'
VERIFIER = 'v' * 43


@pytest.fixture
def fake() -> GitHubFake:
    fake = GitHubFake()
    fake.add_user(
        'octocat',
        emails=[{'email': 'o@example.com', 'primary': True, 'verified': True}],
        orgs=['aweber'],
        email='o@public.example',
    )
    fake.add_user(
        'newbie',
        emails=[
            {'email': 'n@example.com', 'primary': True, 'verified': False}
        ],
    )
    return fake


@pytest.fixture
def app(fake: GitHubFake) -> OAuthApp:
    return fake.add_oauth_app(callback_urls=[CALLBACK])


@pytest.fixture
def gh_app(fake: GitHubFake) -> OAuthApp:
    return fake.add_oauth_app(
        'github_app', callback_urls=[CALLBACK], permissions={'emails': 'read'}
    )


@pytest.fixture
async def client(
    fake: GitHubFake,
) -> collections.abc.AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://github.test'
    ) as client:
        yield client


def _authorize_url(app: OAuthApp, **params: str) -> str:
    query = {'client_id': app.client_id, 'state': 'st', **params}
    return (
        'http://github.test/login/oauth/authorize?'
        + urllib.parse.urlencode(query)
    )


def _query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def _code(
    fake: GitHubFake, app: OAuthApp, login: str = 'octocat', **params: str
) -> str:
    params.setdefault('redirect_uri', CALLBACK)
    return _query(oauth.approve(fake, _authorize_url(app, **params), login))[
        'code'
    ]


async def _token(
    client: httpx.AsyncClient, app: OAuthApp, **form: str
) -> dict[str, typing.Any]:
    response = await client.post(
        '/login/oauth/access_token',
        data={
            'client_id': app.client_id,
            'client_secret': app.client_secret,
            **form,
        },
        headers={'Accept': 'application/json'},
    )
    assert response.status_code == 200
    body: dict[str, typing.Any] = response.json()
    return body


# -- authorize ---------------------------------------------------------------


async def test_consent_page_and_form(
    fake: GitHubFake, app: OAuthApp, client: httpx.AsyncClient
) -> None:
    url = _authorize_url(app, redirect_uri=CALLBACK, scope='read:user')
    page = await client.get(url)
    assert page.status_code == 200
    assert '<form' in page.text
    consent = await client.post(
        '/login/oauth/authorize',
        data={**_query(url), 'login': 'octocat', 'authorize': '1'},
    )
    assert consent.status_code == 302
    back = _query(consent.headers['location'])
    assert back['state'] == 'st'
    assert back['code'] in oauth.state(fake).grants
    denied = await client.post(
        '/login/oauth/authorize',
        data={**_query(url), 'login': 'octocat', 'authorize': '0'},
    )
    assert _query(denied.headers['location'])['error'] == 'access_denied'
    unknown = await client.post(
        '/login/oauth/authorize', data={**_query(url), 'login': 'ghost'}
    )
    assert unknown.status_code == 422


async def test_unknown_client_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get('/login/oauth/authorize?client_id=nope')
    assert response.status_code == 404


@pytest.mark.parametrize(
    ('redirect_uri', 'ok'),
    [
        (CALLBACK, True),
        (CALLBACK + '/deeper', True),
        ('https://imbi.example.com/other', False),
        ('https://evil.example.com/cb', False),
        ('http://imbi.example.com/cb', False),
    ],
)
async def test_oauth_app_callback_rules(
    app: OAuthApp, client: httpx.AsyncClient, redirect_uri: str, ok: bool
) -> None:
    response = await client.get(_authorize_url(app, redirect_uri=redirect_uri))
    if ok:
        assert response.status_code == 200
        return
    assert response.status_code == 302
    location = response.headers['location']
    assert location.startswith(CALLBACK + '?')
    assert _query(location)['error'] == 'redirect_uri_mismatch'
    assert _query(location)['state'] == 'st'


async def test_github_app_callbacks_match_exactly(
    fake: GitHubFake, gh_app: OAuthApp
) -> None:
    with pytest.raises(oauth.AuthorizeError) as raised:
        oauth.approve(
            fake,
            _authorize_url(gh_app, redirect_uri=CALLBACK + '/x'),
            'octocat',
        )
    assert raised.value.response.status_code == 302


@pytest.mark.parametrize(
    'params',
    [
        {
            'code_challenge': oauth.s256(VERIFIER),
            'code_challenge_method': 'plain',
        },
        {'code_challenge': oauth.s256(VERIFIER)},
        {'code_challenge': 'short', 'code_challenge_method': 'S256'},
    ],
)
async def test_only_s256_challenges(
    app: OAuthApp, client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get(_authorize_url(app, **params))
    assert _query(response.headers['location'])['error'] == 'invalid_request'


async def test_a_suspended_app(
    app: OAuthApp, client: httpx.AsyncClient
) -> None:
    app.suspended = True
    response = await client.get(_authorize_url(app))
    assert _query(response.headers['location'])['error'] == (
        'application_suspended'
    )


# -- token endpoint ----------------------------------------------------------


async def test_exchange_with_pkce(
    fake: GitHubFake, app: OAuthApp, client: httpx.AsyncClient
) -> None:
    code = _code(
        fake,
        app,
        scope='read:user user:email read:user',
        code_challenge=oauth.s256(VERIFIER),
        code_challenge_method='S256',
    )
    body = await _token(
        client, app, code=code, redirect_uri=CALLBACK, code_verifier=VERIFIER
    )
    assert body['access_token'].startswith('gho_')
    assert body['scope'] == 'read:user,user:email'
    assert body['token_type'] == 'bearer'
    assert 'refresh_token' not in body
    again = await _token(client, app, code=code, code_verifier=VERIFIER)
    assert again['error'] == 'bad_verification_code'
    assert again['error_description'] == (
        'The code passed is incorrect or expired.'
    )
    assert again['error_uri'].startswith('https://docs.github.com/')


@pytest.mark.parametrize('verifier', [None, 'w' * 43, 'short'])
async def test_a_wrong_verifier_spends_the_code(
    fake: GitHubFake,
    app: OAuthApp,
    client: httpx.AsyncClient,
    verifier: str | None,
) -> None:
    code = _code(
        fake,
        app,
        code_challenge=oauth.s256(VERIFIER),
        code_challenge_method='S256',
    )
    form = {'code': code} | ({'code_verifier': verifier} if verifier else {})
    assert (await _token(client, app, **form))['error'] == (
        'bad_verification_code'
    )
    right = await _token(client, app, code=code, code_verifier=VERIFIER)
    assert right['error'] == 'bad_verification_code'


async def test_codes_expire_after_ten_minutes(
    fake: GitHubFake, app: OAuthApp, client: httpx.AsyncClient
) -> None:
    code = _code(fake, app)
    oauth.advance(fake, oauth.CODE_TTL_SECONDS)
    assert (await _token(client, app, code=code))['error'] == (
        'bad_verification_code'
    )


async def test_codes_are_bound_to_their_client(
    fake: GitHubFake, app: OAuthApp, client: httpx.AsyncClient
) -> None:
    other = fake.add_oauth_app(callback_urls=[CALLBACK])
    code = _code(fake, app)
    assert (await _token(client, other, code=code))['error'] == (
        'bad_verification_code'
    )


async def test_redirect_uri_must_match_the_authorize_one(
    fake: GitHubFake, app: OAuthApp, client: httpx.AsyncClient
) -> None:
    code = _code(fake, app, redirect_uri=CALLBACK + '/deeper')
    body = await _token(client, app, code=code, redirect_uri=CALLBACK)
    assert body['error'] == 'redirect_uri_mismatch'
    fresh = _code(fake, app, redirect_uri='')
    assert 'access_token' in await _token(
        client, app, code=fresh, redirect_uri=CALLBACK
    )


async def test_credentials_and_grant_types(
    fake: GitHubFake, app: OAuthApp, client: httpx.AsyncClient
) -> None:
    wrong = await client.post(
        '/login/oauth/access_token',
        data={'client_id': app.client_id, 'client_secret': 'nope'},
        headers={'Accept': 'application/json'},
    )
    assert wrong.status_code == 200
    assert wrong.json()['error'] == 'incorrect_client_credentials'
    odd = await _token(client, app, grant_type='password')
    assert odd['error'] == 'unsupported_grant_type'


async def test_answers_are_form_encoded_without_accept_json(
    fake: GitHubFake, app: OAuthApp, client: httpx.AsyncClient
) -> None:
    code = _code(fake, app, scope='repo')
    response = await client.post(
        '/login/oauth/access_token',
        params={'client_id': app.client_id},
        json={'client_secret': app.client_secret, 'code': code},
    )
    assert response.headers['content-type'].startswith(
        'application/x-www-form-urlencoded'
    )
    body = dict(urllib.parse.parse_qsl(response.text))
    assert body['scope'] == 'repo'
    assert body['access_token'].startswith('gho_')


async def test_a_broken_json_body_is_no_credentials(
    app: OAuthApp, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        '/login/oauth/access_token',
        content=b'{not json',
        headers={
            'Content-Type': 'application/json',
            'Accept': 'application/json',
        },
    )
    assert response.json()['error'] == 'incorrect_client_credentials'


async def test_unverified_primary_email(
    fake: GitHubFake, app: OAuthApp, client: httpx.AsyncClient
) -> None:
    code = _code(fake, app, login='newbie')
    body = await _token(client, app, code=code)
    assert body['error'] == 'unverified_user_email'


async def test_github_app_tokens_expire_and_rotate(
    fake: GitHubFake, gh_app: OAuthApp, client: httpx.AsyncClient
) -> None:
    code = _code(fake, gh_app, scope='repo')
    first = await _token(client, gh_app, code=code)
    assert first['access_token'].startswith('ghu_')
    assert first['refresh_token'].startswith('ghr_')
    assert first['scope'] == ''
    assert first['expires_in'] == oauth.ACCESS_TOKEN_TTL_SECONDS
    assert first['refresh_token_expires_in'] == oauth.REFRESH_TOKEN_TTL_SECONDS
    second = await _token(
        client,
        gh_app,
        grant_type='refresh_token',
        refresh_token=first['refresh_token'],
    )
    assert second['refresh_token'] != first['refresh_token']
    assert fake.tokens[first['access_token']].revoked
    dead = await _token(
        client,
        gh_app,
        grant_type='refresh_token',
        refresh_token=first['refresh_token'],
    )
    assert dead['error'] == 'bad_refresh_token'
    oauth.advance(fake, oauth.ACCESS_TOKEN_TTL_SECONDS)
    expired = await client.get(
        '/user', headers={'Authorization': f'Bearer {second["access_token"]}'}
    )
    assert expired.status_code == 401


# -- REST --------------------------------------------------------------------


async def _bearer(
    fake: GitHubFake, client: httpx.AsyncClient, app: OAuthApp, scope: str
) -> dict[str, str]:
    body = await _token(client, app, code=_code(fake, app, scope=scope))
    return {'Authorization': f'Bearer {body["access_token"]}'}


@pytest.mark.parametrize('prefix', ['', '/api/v3'])
async def test_user_in_both_shapes(
    fake: GitHubFake, app: OAuthApp, client: httpx.AsyncClient, prefix: str
) -> None:
    headers = await _bearer(fake, client, app, 'read:user')
    response = await client.get(f'{prefix}/user', headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body['login'] == 'octocat'
    assert body['id'] == fake.users['octocat'].id
    assert body['email'] == 'o@public.example'
    assert response.headers['x-oauth-scopes'] == 'read:user'
    assert int(response.headers['x-ratelimit-remaining']) < 5000


async def test_scopes_gate_emails_and_orgs(
    fake: GitHubFake, app: OAuthApp, client: httpx.AsyncClient
) -> None:
    narrow = await _bearer(fake, client, app, 'read:user')
    assert (
        await client.get('/user/emails', headers=narrow)
    ).status_code == 404
    orgs = await client.get('/user/orgs', headers=narrow)
    assert orgs.status_code == 403
    assert set(orgs.json()) == {'message', 'documentation_url'}
    wide = await _bearer(fake, client, app, 'user:email read:org')
    emails = await client.get('/user/emails', headers=wide)
    assert emails.json()[0]['email'] == 'o@example.com'
    orgs = await client.get('/user/orgs', headers=wide)
    assert [o['login'] for o in orgs.json()] == ['aweber']


async def test_github_app_permissions_gate_emails(
    fake: GitHubFake, gh_app: OAuthApp, client: httpx.AsyncClient
) -> None:
    headers = await _bearer(fake, client, gh_app, '')
    assert (
        await client.get('/user/emails', headers=headers)
    ).status_code == 200
    assert (await client.get('/user/orgs', headers=headers)).status_code == 200
    gh_app.permissions = {}
    headers = await _bearer(fake, client, gh_app, '')
    denied = await client.get('/user/emails', headers=headers)
    assert denied.status_code == 403
    assert denied.json()['message'] == 'Resource not accessible by integration'


# -- revoke ------------------------------------------------------------------


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f'{client_id}:{secret}'.encode()).decode()
    return {'Authorization': f'Basic {raw}'}


async def test_revoke(
    fake: GitHubFake, app: OAuthApp, client: httpx.AsyncClient
) -> None:
    token = (await _bearer(fake, client, app, ''))['Authorization'][7:]
    path = f'/api/v3/applications/{app.client_id}/token'
    auth = _basic(app.client_id, app.client_secret)

    async def delete(
        headers: dict[str, str], body: object = None, raw: bytes | None = None
    ) -> httpx.Response:
        return await client.request(
            'DELETE',
            path,
            headers=headers,
            json=body if raw is None else None,
            content=raw,
        )

    assert (await delete({}, {'access_token': token})).status_code == 401
    wrong = _basic(app.client_id, 'nope')
    assert (await delete(wrong, {'access_token': token})).status_code == 404
    assert (await delete(auth, raw=b'{broken')).status_code == 400
    missing = await delete(auth, {})
    assert missing.status_code == 422
    assert 'access_token' in missing.json()['message']
    done = await delete(auth, {'access_token': token})
    assert done.status_code == 204
    assert fake.tokens[token].revoked
    assert (await delete(auth, {'access_token': token})).status_code == 404
    other = await client.request(
        'DELETE',
        '/applications/someone-else/token',
        headers=auth,
        json={'access_token': token},
    )
    assert other.status_code == 404
    garbled = await delete({'Authorization': 'Basic !!!'}, {})
    assert garbled.status_code == 401


# -- rate limits -------------------------------------------------------------


async def test_primary_rate_limit_and_reset(
    fake: GitHubFake, app: OAuthApp, client: httpx.AsyncClient
) -> None:
    headers = await _bearer(fake, client, app, '')
    fake.primary_status = 429
    fake.exhaust_rate_limit(reset_in=0.2)
    limited = await client.get('/user', headers=headers)
    assert limited.status_code == 429
    assert limited.headers['x-ratelimit-remaining'] == '0'
    assert int(limited.headers['x-ratelimit-reset']) >= time.time()
    assert limited.json()['message'].startswith('API rate limit exceeded')
    revoke = await client.request(
        'DELETE',
        f'/applications/{app.client_id}/token',
        headers=_basic(app.client_id, app.client_secret),
        json={'access_token': 'x'},
    )
    assert revoke.status_code == 429
    fake.rate_reset_at = time.time() - 1
    assert (await client.get('/user', headers=headers)).status_code == 200


@pytest.mark.parametrize('retry_after', [7, None])
async def test_secondary_rate_limit(
    fake: GitHubFake,
    app: OAuthApp,
    client: httpx.AsyncClient,
    retry_after: int | None,
) -> None:
    headers = await _bearer(fake, client, app, '')
    fake.limit_secondary(times=1, retry_after=retry_after)
    limited = await client.get('/user', headers=headers)
    assert limited.status_code == 403
    assert 'secondary rate limit' in limited.json()['message']
    assert limited.headers.get('retry-after') == (
        None if retry_after is None else str(retry_after)
    )
    assert (await client.get('/user', headers=headers)).status_code == 200
