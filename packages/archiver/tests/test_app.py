"""GitHub App credentials: JWT, installation lookup, installation token.

The two App routes are answered by respx; every other request passes
through to the served GitHub stand-in, which accepts the installation
token the access_tokens route hands out.
"""

import asyncio
import sys
import time
import typing

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from imbi_plugin_archiver import _host, app
from imbi_plugin_testing.secrets import SecretScan

if typing.TYPE_CHECKING:
    from conftest import GitHubApp, World

REPO = 'acme/billing-api'


def pem_of(key: typing.Any) -> str:
    """``key`` as GitHub hands out App keys: PKCS#1 PEM."""
    return typing.cast(
        bytes,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
    ).decode()


async def test_archive_with_an_app(
    world: World, github_app: GitHubApp
) -> None:
    before = int(time.time())

    result = await world.call(credentials=github_app.credentials)

    assert result.status == 'ok', result.message
    assert world.repo.archived
    assert github_app.installation.call_count == 1
    assert github_app.access_tokens.call_count == 1
    (token,) = github_app.issued
    assert {r.headers['authorization'] for r in world.fake.requests} == {
        f'Bearer {token}'
    }
    claims = github_app.claims()
    assert claims['iss'] == str(github_app.app_id)
    assert before - 61 <= claims['iat'] <= before - 59
    assert claims['exp'] - claims['iat'] <= 600
    assert claims['exp'] > time.time() + 60
    for route in (github_app.installation, github_app.access_tokens):
        headers = route.calls.last.request.headers
        assert headers['accept'] == 'application/vnd.github+json'
        assert headers['x-github-api-version'] == '2022-11-28'


async def test_unarchive_with_an_app(
    world: World, github_app: GitHubApp
) -> None:
    world.repo.archived = True

    result = await world.call('unarchived', github_app.credentials)

    assert result.status == 'ok', result.message
    assert not world.repo.archived


async def test_key_with_escaped_newlines(
    world: World, github_app: GitHubApp
) -> None:
    """A PEM pasted through a one-line field arrives with literal \\n."""
    flat = github_app.pem.strip().replace('\n', '\\n')
    world.scan.add(flat)

    result = await world.call(
        credentials={'app_id': f' {github_app.app_id} ', 'private_key': flat}
    )

    assert result.status == 'ok', result.message


async def test_a_token_wins_over_the_app(
    world: World, github_app: GitHubApp
) -> None:
    result = await world.archive(
        credentials={**github_app.credentials, 'token': world.token}
    )

    assert result.status == 'ok', result.message
    assert github_app.installation.call_count == 0
    assert github_app.access_tokens.call_count == 0


async def test_app_not_installed_on_the_repository(
    world: World, github_app: GitHubApp
) -> None:
    github_app.installation.respond(
        404,
        json={
            'message': 'Not Found',
            'documentation_url': 'https://docs.github.com/rest',
        },
    )
    missing = _host.optional('PluginInstallationMissing')

    with pytest.raises(missing or _host.PluginAuthenticationFailed) as raised:
        await world.call(credentials=github_app.credentials)

    assert str(raised.value) == (
        f'the GitHub App {github_app.app_id} is not installed on {REPO} '
        '(or the repository does not exist): install the App on the '
        'repository\'s owner with access to it and the "Administration: '
        'write" repository permission, or store a token instead'
    )
    if missing is not None:
        assert raised.value.owner_repo == REPO
    assert github_app.access_tokens.call_count == 0
    assert world.fake.requests == []


async def test_installation_missing_is_the_hosts_class(
    world: World, github_app: GitHubApp
) -> None:
    github_app.installation.respond(404, json={'message': 'Not Found'})
    missing = _host.optional('PluginInstallationMissing')
    expected = missing or _host.PluginAuthenticationFailed

    with pytest.raises(expected, match='is not installed on'):
        await app.installation_token(
            app.parse(str(github_app.app_id), github_app.pem),
            app.sign(app.parse(str(github_app.app_id), github_app.pem)),
            world.url,
            'acme',
            'billing-api',
            time.monotonic() + 5,
        )


async def test_rejected_jwt(world: World, github_app: GitHubApp) -> None:
    github_app.installation.respond(
        401,
        json={
            'message': 'A JSON web token could not be decoded',
            'documentation_url': 'https://docs.github.com/rest',
        },
    )

    with pytest.raises(_host.PluginAuthenticationFailed) as raised:
        await world.call(credentials=github_app.credentials)

    assert str(raised.value) == (
        f"GitHub rejected the GitHub App {github_app.app_id}'s JWT (401 A "
        "JSON web token could not be decoded): check that 'app_id' is the "
        "App's ID and 'private_key' one of its current keys, and the "
        "host's clock"
    )


async def test_refused_installation_lookup(
    world: World, github_app: GitHubApp
) -> None:
    github_app.installation.respond(
        403, json={'message': 'Resource not accessible'}
    )

    with pytest.raises(
        _host.PluginAuthenticationFailed,
        match=r'^GitHub refused to name the installation of the App 424242 '
        r'for acme/billing-api \(403 Resource not accessible\)$',
    ):
        await world.call(credentials=github_app.credentials)


async def test_refused_installation_token(
    world: World, github_app: GitHubApp
) -> None:
    github_app.access_tokens.side_effect = None
    github_app.access_tokens.respond(
        403, json={'message': 'This installation has been suspended'}
    )

    with pytest.raises(_host.PluginAuthenticationFailed) as raised:
        await world.call(credentials=github_app.credentials)

    assert str(raised.value) == (
        'GitHub refused an installation token of the App '
        f'{github_app.app_id} (installation {github_app.installation_id}; '
        '403 This installation has been suspended): the installation may '
        'be suspended or removed'
    )
    assert world.fake.requests == []


@pytest.mark.parametrize(
    ('route', 'body', 'said'),
    [
        ('installation', {'app_id': 1}, 'installation lookup'),
        ('installation', {'id': '9001'}, 'installation lookup'),
        ('installation', ['x'], 'installation lookup'),
        ('access_tokens', {'expires_at': 'x'}, 'installation token'),
        ('access_tokens', {'token': '  '}, 'installation token'),
    ],
)
async def test_unexpected_answers_are_unavailable(
    world: World,
    github_app: GitHubApp,
    route: str,
    body: typing.Any,
    said: str,
) -> None:
    mocked: respx.Route = getattr(github_app, route)
    mocked.side_effect = None
    mocked.respond(201 if route == 'access_tokens' else 200, json=body)

    with pytest.raises(
        _host.PluginUnavailableError, match=f'^GitHub answered the {said}'
    ):
        await world.call(credentials=github_app.credentials)


async def test_rate_limited_exchange(
    world: World, github_app: GitHubApp
) -> None:
    github_app.installation.respond(
        403,
        headers={
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': str(int(time.time()) + 3600),
        },
        json={'message': 'API rate limit exceeded'},
    )
    expected = type(_host.rate_limited(0.0, 'x'))

    with pytest.raises(
        expected,
        match=r'^GitHub rate limit reached \(API rate limit exceeded\)',
    ):
        await world.call(credentials=github_app.credentials)


async def test_the_exchange_counts_against_the_budget(
    world: World, github_app: GitHubApp
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={'id': github_app.installation_id})

    github_app.installation.side_effect = slow
    started = time.monotonic()

    with pytest.raises(_host.PluginTimeoutError):
        await world.call(
            credentials=github_app.credentials,
            options={'timeout_seconds': 1},
        )

    assert time.monotonic() - started < 1.5
    assert world.fake.requests == []


@pytest.mark.parametrize(
    'app_id', ['Iv23liABCDEF', '12a', '-5', '0', '١٢٣', '1' * 30]
)
async def test_non_numeric_app_id_fails_without_a_request(
    world: World, github_app: GitHubApp, app_id: str
) -> None:
    result = await world.call(
        credentials={'app_id': app_id, 'private_key': github_app.pem}
    )

    assert result.status == 'failed'
    assert result.message == (
        "credential 'app_id' must be the GitHub App's numeric App ID (the "
        "App's settings page, 'App ID'), not its client ID, slug or name"
    )
    assert github_app.installation.call_count == 0


def _ec_pem() -> str:
    return pem_of(ec.generate_private_key(ec.SECP256R1()))


@pytest.mark.parametrize(
    'key',
    [
        'not a key at all',
        '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n'
        '-----END RSA PRIVATE KEY-----',
        _ec_pem(),
    ],
    ids=['text', 'truncated-pem', 'ec-key'],
)
async def test_unusable_private_key_fails_without_echoing_it(
    world: World, github_app: GitHubApp, key: str
) -> None:
    world.scan.add(key)

    result = await world.call(
        credentials={'app_id': str(github_app.app_id), 'private_key': key}
    )

    assert result.status == 'failed'
    assert result.message == (
        "credential 'private_key' is not a usable RSA private key: store "
        'the whole .pem file GitHub generated for the App (from -----BEGIN '
        'RSA PRIVATE KEY----- to the END line)'
    )
    assert github_app.installation.call_count == 0


@pytest.mark.parametrize(
    ('credentials', 'missing'),
    [
        ({'app_id': '424242'}, 'private_key'),
        ({'app_id': '424242', 'private_key': ' '}, 'private_key'),
        ({'private_key': 'x' * 40}, 'app_id'),
    ],
)
async def test_half_an_app_is_missing_credentials(
    world: World, credentials: dict[str, str], missing: str
) -> None:
    with pytest.raises(_host.PluginCredentialsMissing) as raised:
        await world.call(credentials=credentials)

    assert str(raised.value) == (
        f'credential {missing!r} is missing: a GitHub App needs both '
        "'app_id' and 'private_key' (or store a 'token')"
    )
    assert world.fake.requests == []


def test_app_credentials_repr_hides_the_key(
    rsa_key: rsa.RSAPrivateKey, secret_scan: SecretScan
) -> None:
    pem = pem_of(rsa_key)
    secret_scan.add(pem)
    credentials = app.parse('77', pem)

    assert repr(credentials) == (
        'AppCredentials(app_id=77, private_key=<hidden>)'
    )
    assert pem not in str(credentials)


def test_jwt_claims(rsa_key: rsa.RSAPrivateKey) -> None:
    credentials = app.parse('77', pem_of(rsa_key))

    signed = app.sign(credentials, now=1_000_000)

    assert jwt.decode(
        signed,
        rsa_key.public_key(),
        algorithms=['RS256'],
        options={'verify_exp': False, 'verify_iat': False},
    ) == {'iat': 999_940, 'exp': 1_000_540, 'iss': '77'}


def test_without_pyjwt(
    rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, 'jwt', None)

    with pytest.raises(
        _host.PluginUnavailableError, match=r"pip install 'pyjwt\[crypto\]"
    ):
        app.sign(app.parse('77', pem_of(rsa_key)))


def test_without_cryptography(
    rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_rs256(*_: typing.Any, **__: typing.Any) -> str:
        raise NotImplementedError('Algorithm not supported')

    monkeypatch.setattr(jwt, 'encode', no_rs256)

    with pytest.raises(
        _host.PluginUnavailableError, match=r'cryptography \(RS256\)'
    ):
        app.sign(app.parse('77', pem_of(rsa_key)))
