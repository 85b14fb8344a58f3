"""github-identity through imbi-api 2.41's own /me/identities routes."""

import collections.abc
import os
import typing
import urllib.parse

import jwt
import pytest
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.github import GitHubFake
from imbi_plugin_testing.fakes.github import oauth as fake_oauth

Imbi = typing.Any


@pytest.fixture
def github(
    imbi: Imbi, secret_scan: SecretScan
) -> collections.abc.Iterator[tuple[Imbi, GitHubFake, str]]:
    fake = GitHubFake()
    fake.add_user('octocat', name='The Octocat')
    app = fake.add_oauth_app()
    secret_scan.add(app.client_secret)
    with fake.serve() as url:
        integration = imbi.integrate(
            'github-identity',
            options={'github_url': url, 'api_url': url},
            credentials={
                'client_id': app.client_id,
                'client_secret': app.client_secret,
            },
            capabilities={'identity': {}},
        )
        iid = integration['id']
        # The host builds the redirect_uri from IMBI_API_URL and the
        # Integration's id, known only now.
        app.callback_urls.append(
            f'https://imbi.example.com/api/me/identities/{iid}/callback'
        )
        # client_id is not secret: the host echoes it back.
        assert integration['credential_values'] == {'client_id': app.client_id}
        yield imbi, fake, iid


def test_connect_with_pkce_and_a_used_code(
    github: tuple[Imbi, GitHubFake, str], secret_scan: SecretScan
) -> None:
    imbi, fake, iid = github
    started = imbi.client.post(f'/api/me/identities/{iid}/start', json={})
    assert started.status_code == 200, started.text
    url = urllib.parse.urlsplit(started.json()['authorization_url'])
    params = dict(urllib.parse.parse_qsl(url.query))
    assert params['state'] == started.json()['state']
    assert params['redirect_uri'] == (
        f'https://imbi.example.com/api/me/identities/{iid}/callback'
    )
    assert params['code_challenge_method'] == 'S256'
    callback = fake_oauth.approve(
        fake, started.json()['authorization_url'], 'octocat'
    )
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    path = f'/api/me/identities/{iid}/callback'
    first = imbi.client.get(path, params=query, follow_redirects=False)
    assert first.status_code == 302, first.text
    assert first.headers['location'] == '/settings/connections'
    (saved,) = imbi.graph.connections
    assert saved['integration_id'] == iid
    assert saved['subject']
    assert saved['metadata'].get('login') == 'octocat'
    for token in fake.tokens:
        secret_scan.add(token)
        assert token not in repr(saved)
    again = imbi.client.get(path, params=query, follow_redirects=False)
    assert again.status_code == 400
    assert again.json()['detail'].startswith('Invalid state: ')


def test_login_through_the_identity_plugin(
    github: tuple[Imbi, GitHubFake, str], secret_scan: SecretScan
) -> None:
    """The Integration as the organization's login provider
    (``used_as_login``): ``GET /auth/oauth/{slug}`` to GitHub's consent,
    the callback makes the user from the verified e-mail and issues a
    session."""
    imbi, fake, _ = github
    fake.users['octocat'].emails = [
        {
            'email': 'octocat@example.com',
            'primary': True,
            'verified': True,
            'visibility': 'private',
        }
    ]
    callback_url = (
        'https://imbi.example.com/api/auth/oauth/github-identity-main/callback'
    )
    fake.oauth_apps[next(iter(fake.oauth_apps))].callback_urls.append(
        callback_url
    )
    promoted = imbi.client.put(
        '/api/organizations/aweber/integrations/github-identity-main/'
        'login-provider',
        json={'used_as_login': True},
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()['used_as_login'] is True
    started = imbi.client.get(
        '/api/auth/oauth/github-identity-main', follow_redirects=False
    )
    assert started.status_code == 307, started.text
    authorize = started.headers['location']
    params = dict(
        urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query)
    )
    assert params['redirect_uri'] == callback_url
    assert params['code_challenge_method'] == 'S256'
    back = fake_oauth.approve(fake, authorize, 'octocat')
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))
    answer = imbi.client.get(
        '/api/auth/oauth/github-identity-main/callback',
        params=query,
        follow_redirects=False,
    )
    assert answer.status_code == 307, answer.text
    location = answer.headers['location']
    assert location.startswith('/dashboard#access_token='), location
    access = dict(urllib.parse.parse_qsl(location.split('#', 1)[1]))
    secret_scan.add(access['access_token'])
    # A session the host's own JWT secret signs, for the new user.
    claims = jwt.decode(
        access['access_token'],
        os.environ['IMBI_AUTH_JWT_SECRET'],
        algorithms=['HS256'],
        options={'verify_aud': False},
    )
    assert claims['sub'] == 'octocat@example.com'
    for token in fake.tokens:
        secret_scan.add(token)
    assert list(imbi.graph.users) == ['octocat@example.com']
    assert imbi.graph.token_pairs == ['octocat@example.com']
    (saved,) = imbi.graph.connections
    assert saved['user_id'] == imbi.graph.users['octocat@example.com'].id
