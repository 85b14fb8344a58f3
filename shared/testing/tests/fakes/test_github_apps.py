"""The GitHub App part of the GitHub stand-in (fakes/github/apps.py),
against GitHub's documented JWT rules and App routes."""

import base64
import collections.abc
import json
import time
import typing

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from imbi_plugin_testing.fakes.github import GitHubFake, apps


def _part(data: dict[str, typing.Any]) -> str:
    raw = base64.urlsafe_b64encode(json.dumps(data).encode())
    return raw.rstrip(b'=').decode()


def sign(pem: str, claims: dict[str, typing.Any], alg: str = 'RS256') -> str:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    head = f'{_part({"alg": alg, "typ": "JWT"})}.{_part(claims)}'
    signature = key.sign(head.encode(), padding.PKCS1v15(), hashes.SHA256())
    return (
        head + '.' + base64.urlsafe_b64encode(signature).rstrip(b'=').decode()
    )


class World(typing.NamedTuple):
    fake: GitHubFake
    app: apps.GitHubApp
    installation: apps.Installation
    client: httpx.AsyncClient

    def jwt(self, **claims: typing.Any) -> dict[str, str]:
        now = int(time.time())
        body = {'iat': now - 60, 'exp': now + 540, 'iss': str(self.app.id)}
        body.update(claims)
        token = sign(self.app.private_key_pem, body)
        return {'authorization': f'Bearer {token}'}


@pytest.fixture
async def world() -> collections.abc.AsyncIterator[World]:
    fake = GitHubFake()
    repo = fake.add_repository('acme', 'app')
    fake.add_repository('acme', 'other')
    app = apps.add_app(fake)
    installation = apps.install(fake, app, 'acme', [repo], {'actions': 'read'})
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://github.test'
    ) as client:
        yield World(fake, app, installation, client)


async def test_the_installation_of_a_repository(world: World) -> None:
    response = await world.client.get(
        '/repos/acme/app/installation', headers=world.jwt()
    )
    assert response.status_code == 200
    body = response.json()
    assert (body['id'], body['app_id'], body['app_slug']) == (
        world.installation.id,
        world.app.id,
        'imbi-deployer',
    )
    assert body['repository_selection'] == 'selected'
    assert body['account']['login'] == 'acme'


async def test_the_client_id_is_an_issuer_too(world: World) -> None:
    response = await world.client.get(
        '/api/v3/repos/acme/app/installation',
        headers=world.jwt(iss=world.app.client_id),
    )
    assert response.status_code == 200


@pytest.mark.parametrize('path', ['/repos/acme/other', '/repos/acme/nope'])
async def test_not_installed_is_a_404(world: World, path: str) -> None:
    response = await world.client.get(
        path + '/installation', headers=world.jwt()
    )
    assert response.status_code == 404
    assert response.json()['message'] == 'Not Found'


@pytest.mark.parametrize(
    ('claims', 'message'),
    [
        # Times as seconds from when the test runs, not from collection.
        ({'exp': 700}, 'is too far in the future'),
        ({'exp': -1}, "'Expiration time' claim ('exp')"),
        ({'iat': 120}, "'Issued at' claim ('iat')"),
        ({'iss': '999999'}, 'Integration not found'),
    ],
    ids=['exp too far', 'expired', 'issued in the future', 'unknown app'],
)
async def test_jwt_rules(
    world: World, claims: dict[str, typing.Any], message: str
) -> None:
    now = int(time.time())
    claims = {
        name: now + value if name in ('exp', 'iat') else value
        for name, value in claims.items()
    }
    response = await world.client.get(
        '/repos/acme/app/installation', headers=world.jwt(**claims)
    )
    assert response.status_code == 401
    assert message in response.json()['message']


@pytest.mark.parametrize(
    'authorization',
    [
        '',
        'Bearer not.a.jwt',
        'Bearer ghp_' + 'x' * 36,
        'token abc',
    ],
)
async def test_what_is_not_a_jwt(world: World, authorization: str) -> None:
    response = await world.client.get(
        '/repos/acme/app/installation',
        headers={'authorization': authorization} if authorization else {},
    )
    assert response.status_code == 401


async def test_another_apps_key_is_refused(world: World) -> None:
    other = apps.add_app(world.fake, 'other')
    now = int(time.time())
    token = sign(
        other.private_key_pem,
        {'iat': now - 60, 'exp': now + 60, 'iss': str(world.app.id)},
    )
    response = await world.client.get(
        '/repos/acme/app/installation',
        headers={'authorization': f'Bearer {token}'},
    )
    assert response.status_code == 401
    assert (
        response.json()['message'] == 'A JSON web token could not be decoded'
    )


async def test_an_installation_token(world: World) -> None:
    path = f'/app/installations/{world.installation.id}/access_tokens'
    response = await world.client.post(
        path, headers=world.jwt(), json={'repositories': ['app']}
    )
    assert response.status_code == 201
    body = response.json()
    (issued,) = apps.state(world.fake).issued
    assert body['token'] == issued.value
    assert issued.value.startswith('ghs_')
    assert issued.kind == 'installation'
    assert issued.user_login == 'imbi-deployer[bot]'
    assert body['permissions'] == {'actions': 'read'}
    assert body['expires_at'].endswith('Z')
    # The token works on the REST routes, as the App's bot.
    repo = await world.client.get(
        '/repos/acme/app',
        headers={'authorization': f'Bearer {issued.value}'},
    )
    assert repo.status_code == 200


async def test_token_refusals(world: World) -> None:
    path = f'/app/installations/{world.installation.id}/access_tokens'
    outside = await world.client.post(
        path, headers=world.jwt(), json={'repositories': ['other']}
    )
    assert outside.status_code == 422
    unknown = await world.client.post(
        '/app/installations/1/access_tokens', headers=world.jwt()
    )
    assert unknown.status_code == 404
    world.installation.suspended = True
    suspended = await world.client.post(path, headers=world.jwt())
    assert suspended.status_code == 403
    assert apps.state(world.fake).issued == []
