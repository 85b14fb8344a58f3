"""GitHub App token refresh: rotation, and the old pair dies."""

import httpx
from github_identity_helpers import GitHub
from imbi_plugin_github_identity._host import PluginAuthenticationFailed
from imbi_plugin_testing import Host
from imbi_plugin_testing.fakes.github import oauth as fake_oauth


async def _signed_in_app(github: GitHub) -> tuple[Host, str, str]:
    host = github.host(github.github_app, ghes=True)
    response = await github.sign_in(host)
    _, creds = response.result
    return host, creds.access_token, creds.refresh_token


async def test_refresh_rotates_the_pair(github: GitHub) -> None:
    host, access, refresh = await _signed_in_app(github)
    response = await host.refresh(refresh)
    assert response.status == 200, response.body
    new = response.result
    assert new.access_token.startswith('ghu_')
    assert new.access_token != access
    assert new.refresh_token.startswith('ghr_')
    assert new.refresh_token != refresh
    assert new.expires_at is not None
    assert 'refresh_token_expires_at' in new.extra
    sent = github.fake.requests_to('/login/oauth/access_token')[-1]
    assert b'grant_type=refresh_token' in sent.body
    assert sent.query == ''

    # The old refresh token is dead: the host marks the connection expired.
    again = await host.refresh(refresh)
    assert again.status == 401
    assert isinstance(again.error, PluginAuthenticationFailed)
    assert 'bad_refresh_token' in str(again.error)

    # The old access token is dead, the new one works.
    async with httpx.AsyncClient(base_url=f'{github.url}/api/v3') as api:
        old = await api.get(
            '/user', headers={'Authorization': f'Bearer {access}'}
        )
        current = await api.get(
            '/user', headers={'Authorization': f'Bearer {new.access_token}'}
        )
    assert old.status_code == 401
    assert current.status_code == 200


async def test_an_expired_refresh_token(github: GitHub) -> None:
    host, _, refresh = await _signed_in_app(github)
    fake_oauth.advance(github.fake, fake_oauth.REFRESH_TOKEN_TTL_SECONDS + 1)
    response = await host.refresh(refresh)
    assert response.status == 401


async def test_refresh_with_a_wrong_client_secret(github: GitHub) -> None:
    host, _, refresh = await _signed_in_app(github)
    host.credentials['client_secret'] = 'e' * 40
    github.scan.add('e' * 40)
    response = await host.refresh(refresh)
    assert response.status == 401
    assert 'incorrect_client_credentials' in str(response.error)


async def test_an_oauth_app_token_has_nothing_to_refresh(
    github: GitHub,
) -> None:
    host = github.host()
    response = await github.sign_in(host)
    _, creds = response.result
    assert creds.refresh_token is None
    refreshed = await host.refresh('ghr_' + 'x' * 40)
    assert refreshed.status == 401


async def test_non_expiring_github_app_tokens(github: GitHub) -> None:
    github.github_app.expiring_tokens = False
    host = github.host(github.github_app)
    response = await github.sign_in(host)
    _, creds = response.result
    assert creds.expires_at is None
    assert creds.refresh_token is None
    assert creds.extra == {}
