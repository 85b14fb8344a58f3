"""GitHub App credentials: JWT, installation lookup, installation token.

The two App routes are answered by respx; every other request passes
through to the served GitHub stand-in, which accepts the installation
token the access_tokens route hands out.
"""

import asyncio
import base64
import json
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
from imbi_plugin_testing.fakes.github import apps
from imbi_plugin_testing.fakes.github.repos import move_repository
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


def _escaped(pem: str, newline: str = '\\n') -> str:
    """A PEM pasted into a one-line field: line breaks as text."""
    return pem.strip().replace('\n', newline)


def _wrapped_base64(pem: str) -> str:
    encoded = base64.b64encode(pem.encode()).decode()
    return '\n'.join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


@pytest.mark.parametrize(
    'form',
    [
        lambda pem: pem,
        lambda pem: f'\n  {pem}\n\n',
        _escaped,
        lambda pem: _escaped(pem, '\\r\\n'),
        lambda pem: base64.b64encode(pem.encode()).decode(),
        _wrapped_base64,
    ],
    ids=[
        'pem',
        'pem with blank lines around',
        'escaped newlines',
        'escaped crlf',
        'base64',
        'wrapped base64',
    ],
)
async def test_every_accepted_key_form_works(
    world: World, github_app: GitHubApp, form: typing.Callable[[str], str]
) -> None:
    """The forms the README's credentials table lists (the
    github-actions plugin accepts the same)."""
    private_key = form(github_app.pem)
    world.scan.add(private_key)

    result = await world.call(
        credentials={
            'app_id': f' {github_app.app_id} ',
            'private_key': private_key,
        }
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


async def test_the_token_is_limited_to_the_repository(
    world: World, github_app: GitHubApp
) -> None:
    result = await world.call(credentials=github_app.credentials)

    assert result.status == 'ok', result.message
    sent = github_app.access_tokens.calls.last.request
    # GitHub's repositories take names without the owner.
    assert json.loads(sent.content) == {'repositories': ['billing-api']}


async def test_a_moved_repository_is_limited_by_id(
    world: World, github_app: GitHubApp
) -> None:
    """Renamed since the project link was made: GitHub redirects the
    lookup to /repositories/{id}, and the old name would not resolve."""
    move_repository(world.fake, world.repo, name='billing')
    moved = f'{world.url}/repositories/{world.repo.id}/installation'
    github_app.installation.respond(
        301,
        headers={'location': moved},
        json={'message': 'Moved Permanently', 'url': moved},
    )

    result = await world.call(credentials=github_app.credentials)

    assert result.status == 'ok', result.message
    assert world.repo.archived
    assert github_app.moved_installation.call_count == 1
    sent = github_app.access_tokens.calls.last.request
    assert json.loads(sent.content) == {'repository_ids': [world.repo.id]}


async def test_an_app_of_the_stand_in(world: World) -> None:
    """The whole exchange against the stand-in's App routes rather than
    respx, so the github_openapi session checks its requests too."""
    made = apps.add_app(world.fake, 'imbi-archiver')
    world.scan.add(made.private_key_pem)
    apps.install(
        world.fake,
        made,
        'acme',
        [world.repo],
        {'administration': 'write', 'metadata': 'read'},
    )
    world.repo.collaborators[made.bot_login] = 'admin'

    result = await world.call(
        credentials={
            'app_id': str(made.id),
            'private_key': made.private_key_pem,
        }
    )

    for request in world.fake.requests:
        world.scan.add(request.headers['authorization'].partition(' ')[2])
    (issued,) = apps.state(world.fake).issued
    world.scan.add(issued.value)
    assert result.status == 'ok', result.message
    assert world.repo.archived
    assert world.calls()[:2] == [
        'GET /repos/acme/billing-api/installation',
        f'POST /app/installations/{next(iter(made.installations))}'
        '/access_tokens',
    ]
    posted = world.fake.requests[1]
    assert json.loads(posted.body) == {'repositories': ['billing-api']}
    assert {r.headers['authorization'] for r in world.fake.requests[2:]} == {
        f'Bearer {issued.value}'
    }


@pytest.mark.parametrize(
    ('status', 'message'),
    [
        (
            422,
            'There is at least one repository that does not exist or is '
            'not accessible to the parent installation.',
        ),
        (404, 'Not Found'),
    ],
)
async def test_a_token_refused_for_the_repository(
    world: World, github_app: GitHubApp, status: int, message: str
) -> None:
    """422: the installation does not cover the repository; 404: it was
    removed since the lookup. Either way the App is not installed there,
    as the github-actions plugin says too."""
    github_app.access_tokens.side_effect = None
    github_app.access_tokens.respond(status, json={'message': message})
    missing = _host.optional('PluginInstallationMissing')

    with pytest.raises(missing or _host.PluginAuthenticationFailed) as raised:
        await world.call(credentials=github_app.credentials)

    assert str(raised.value).startswith(
        f'the GitHub App {github_app.app_id} is not installed on {REPO} '
    )
    if missing is not None:
        assert raised.value.owner_repo == REPO
    assert world.fake.requests == []


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
        base64.b64encode(b'not a key at all').decode(),
        'sk_live_' + 'q' * 40,
    ],
    ids=['text', 'truncated-pem', 'base64 of no PEM', 'no PEM'],
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
        "credential 'private_key' is not a GitHub App private key: store "
        'the .pem file GitHub generated for the App (from -----BEGIN RSA '
        'PRIVATE KEY----- to the END line) as it is, on one line with its '
        'line breaks written as \\n, or base64-encoded on one line'
    )
    assert github_app.installation.call_count == 0


@pytest.mark.parametrize(
    'form',
    [
        lambda pem: _escaped(pem).replace('A', 'B', 40),
        lambda pem: base64.b64encode(_escaped(pem).encode()).decode(),
        lambda pem: pem.replace('A', 'B', 40),
        lambda pem: pem[: len(pem) // 2],
    ],
    ids=[
        'corrupt escaped',
        'base64 of an escaped PEM',
        'corrupt',
        'cut',
    ],
)
async def test_a_malformed_form_of_the_key_fails(
    world: World, github_app: GitHubApp, form: typing.Callable[[str], str]
) -> None:
    private_key = form(github_app.pem)
    world.scan.add(private_key)

    result = await world.call(
        credentials={
            'app_id': str(github_app.app_id),
            'private_key': private_key,
        }
    )

    assert (result.status, result.message) == ('failed', app.NOT_A_KEY)
    assert github_app.installation.call_count == 0


@pytest.mark.parametrize('form', [lambda pem: pem, _escaped])
async def test_a_key_of_another_type_fails(
    world: World, github_app: GitHubApp, form: typing.Callable[[str], str]
) -> None:
    private_key = form(_ec_pem())
    world.scan.add(private_key)

    result = await world.call(
        credentials={
            'app_id': str(github_app.app_id),
            'private_key': private_key,
        }
    )

    assert (result.status, result.message) == ('failed', app.NOT_RSA)
    assert result.message == (
        "credential 'private_key' is not an RSA key: GitHub App keys are "
        'RSA (RS256)'
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
    credentials = app.parse('77', pem_of(rsa_key))
    monkeypatch.setitem(sys.modules, 'cryptography.hazmat.primitives', None)

    with pytest.raises(
        _host.PluginUnavailableError,
        match=r"need cryptography.*'cryptography>=3\.4\.1'",
    ):
        app.sign(credentials)


def test_pyjwt_without_rs256(
    rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_rs256(*_: typing.Any, **__: typing.Any) -> str:
        raise NotImplementedError('Algorithm not supported')

    monkeypatch.setattr(jwt, 'encode', no_rs256)

    with pytest.raises(
        _host.PluginUnavailableError, match=r'cryptography \(RS256\)'
    ):
        app.sign(app.parse('77', pem_of(rsa_key)))
