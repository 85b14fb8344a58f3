"""github (identity) through imbi-api's own /me/identities routes."""

import collections.abc
import os
import typing
import urllib.parse

import pytest
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.github import GitHubFake
from imbi_plugin_testing.fakes.github import oauth as fake_oauth

Imbi = typing.Any
PLUGIN_ID = 'plugin-github'
#: What the host builds from IMBI_API_URL.
CALLBACK = f'https://imbi.example.com/api/me/identities/{PLUGIN_ID}/callback'
#: The host's login callback (``settings.oauth_callback_url``): by slug.
LOGIN_CALLBACK = 'https://imbi.example.com/api/auth/oauth/github/callback'


@pytest.fixture
def github(
    imbi: Imbi, secret_scan: SecretScan
) -> collections.abc.Iterator[tuple[Imbi, GitHubFake]]:
    fake = GitHubFake()
    fake.add_user(
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
    )
    app = fake.add_oauth_app(callback_urls=[CALLBACK, LOGIN_CALLBACK])
    secret_scan.add(app.client_secret)
    with fake.serve() as url:
        imbi.graph.add_identity_plugin(
            PLUGIN_ID,
            'github',
            client_id=app.client_id,
            client_secret=app.client_secret,
            options={'github_url': url, 'api_url': url},
            login=True,
        )
        yield imbi, fake


def _start(imbi: Imbi) -> dict[str, typing.Any]:
    response = imbi.client.post(
        f'/api/me/identities/{PLUGIN_ID}/start', json={}
    )
    assert response.status_code == 200, response.text
    return typing.cast(dict[str, typing.Any], response.json())


def _approve(
    fake: GitHubFake, started: dict[str, typing.Any]
) -> dict[str, str]:
    callback = fake_oauth.approve(
        fake, started['authorization_url'], 'octocat'
    )
    # Not registered with the secret scan: the code is single-use and
    # travels in the callback URL, which the host's access log records.
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))


def test_connect_with_pkce(
    github: tuple[Imbi, GitHubFake], secret_scan: SecretScan
) -> None:
    imbi, fake = github
    started = _start(imbi)
    url = urllib.parse.urlsplit(started['authorization_url'])
    params = dict(urllib.parse.parse_qsl(url.query))
    # The host put its own signed state in the URL; the plugin's PKCE
    # challenge and the host-built redirect_uri travel with it.
    assert params['state'] == started['state']
    assert params['redirect_uri'] == CALLBACK
    assert params['code_challenge_method'] == 'S256'
    query = _approve(fake, started)
    callback = imbi.client.get(
        f'/api/me/identities/{PLUGIN_ID}/callback',
        params=query,
        follow_redirects=False,
    )
    assert callback.status_code == 302, callback.text
    assert callback.headers['location'] == '/settings/connections'
    (saved,) = imbi.graph.connections
    assert saved['subject']
    assert saved['access'] != fake.tokens  # stored encrypted
    for token in fake.tokens:
        secret_scan.add(token)
        assert token not in repr(saved)


def test_a_used_code_is_the_hosts_400(
    github: tuple[Imbi, GitHubFake], secret_scan: SecretScan
) -> None:
    imbi, fake = github
    query = _approve(fake, _start(imbi))
    path = f'/api/me/identities/{PLUGIN_ID}/callback'
    first = imbi.client.get(path, params=query, follow_redirects=False)
    assert first.status_code == 302, first.text
    for token in fake.tokens:
        secret_scan.add(token)
    again = imbi.client.get(path, params=query, follow_redirects=False)
    assert again.status_code == 400
    assert again.json()['detail'].startswith('Invalid state: ')


def _login(imbi: Imbi, fake: GitHubFake) -> typing.Any:
    """``GET /auth/oauth/github`` to GitHub's consent and back to the
    host's login callback; the host's answer to the callback."""
    started = imbi.client.get(
        '/api/auth/oauth/github',
        params={'redirect_uri': '/dashboard'},
        follow_redirects=False,
    )
    assert started.is_redirect, started.text
    authorize = started.headers['location']
    params = dict(
        urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query)
    )
    assert params['redirect_uri'] == LOGIN_CALLBACK
    assert params['code_challenge_method'] == 'S256'
    callback = fake_oauth.approve(fake, authorize, 'octocat')
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    return imbi.client.get(
        '/api/auth/oauth/github/callback',
        params=query,
        follow_redirects=False,
    )


def _session(answer: typing.Any, secret_scan: SecretScan) -> dict[str, str]:
    """The tokens the host issued (registered as secrets: no log record
    may hold them). 2.5 puts both in the redirect's fragment; 2.11 the
    refresh token only in an HttpOnly cookie."""
    assert answer.status_code == 307, answer.text
    target, _, fragment = answer.headers['location'].partition('#')
    assert target == '/dashboard'
    found = dict(urllib.parse.parse_qsl(fragment))
    if 'refresh_token' not in found:
        found['refresh_token'] = answer.cookies['imbi_refresh_token']
    secret_scan.add(found['access_token'], found['refresh_token'])
    return found


def test_login_through_the_identity_plugin(
    github: tuple[Imbi, GitHubFake], secret_scan: SecretScan
) -> None:
    """The host's login route runs the plugin's authorization URL and
    code exchange, creates the user from the plugin's verified e-mail,
    saves the connection and issues its own session; a second login
    finds the same user by that e-mail."""
    import jwt

    imbi, fake = github
    first = _session(_login(imbi, fake), secret_scan)
    for token in fake.tokens:
        secret_scan.add(token)
    assert first['token_type'] == 'bearer'
    claims = jwt.decode(
        first['access_token'],
        os.environ['IMBI_AUTH_JWT_SECRET'],
        algorithms=['HS256'],
    )
    assert claims['sub'] == 'octocat@example.com'
    (user,) = imbi.graph.users.values()
    assert user.display_name == 'The Octocat'
    assert not user.is_admin
    (saved,) = imbi.graph.connections
    assert saved['user_id'] == user.id
    assert saved['subject'] == '1000'
    assert imbi.graph.token_pairs == ['octocat@example.com']
    second = _session(_login(imbi, fake), secret_scan)
    for token in fake.tokens:
        secret_scan.add(token)
    assert second['access_token'] != first['access_token']
    assert list(imbi.graph.users.values()) == [user]
    assert [c['user_id'] for c in imbi.graph.connections] == [user.id] * 2
    assert imbi.graph.token_pairs == ['octocat@example.com'] * 2
