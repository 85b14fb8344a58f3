"""github-identity through imbi-api 2.41's own /me/identities routes."""

import collections.abc
import typing
import urllib.parse

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
