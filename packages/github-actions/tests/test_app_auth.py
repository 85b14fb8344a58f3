"""GitHub App credentials: the JWT, the installation, the token, errors."""

import base64
import dataclasses
import json
import sys
import time
import typing

import pytest
from github_actions_helpers import NAME, OWNER, GitHub, handler
from imbi_plugin_github_actions import _host, app_auth, options
from imbi_plugin_testing import Fault, SecretScan, make_context
from imbi_plugin_testing.fakes.github import apps
from imbi_plugin_testing.secrets import current_scan

INSTALLATION = f'/repos/{OWNER}/{NAME}/installation'


def _claims(jwt: str) -> dict[str, typing.Any]:
    payload = jwt.split('.')[1]
    decoded: dict[str, typing.Any] = json.loads(
        base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4))
    )
    return decoded


def _pem_body(pem: str) -> str:
    return ''.join(
        line for line in pem.splitlines() if not line.startswith('-----')
    )


@pytest.fixture
def app(github: GitHub, secret_scan: SecretScan) -> apps.GitHubApp:
    """An App installed on the repository with the deploy permissions."""
    made = apps.add_app(github.fake)
    secret_scan.add(made.private_key_pem, _pem_body(made.private_key_pem))
    apps.install(
        github.fake,
        made,
        OWNER,
        [github.repo],
        {'actions': 'write', 'contents': 'write', 'metadata': 'read'},
    )
    return made


@dataclasses.dataclass
class Answer:
    result: typing.Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def call(
    github: GitHub,
    credentials: dict[str, str],
    method: str,
    *args: typing.Any,
    **options: typing.Any,
) -> Answer:
    """The handler called as a host's service path calls it (v1 hosts
    pass only a token; the plugin takes the App pair all the same)."""
    ctx = make_context(
        'deployment',
        options=github.options(repository=f'{OWNER}/{NAME}', **options),
        # v3 hosts name the Integration (dropped where the field is absent).
        integration_slug='github-apps',
    )
    try:
        found = await getattr(handler()(), method)(ctx, credentials, *args)
    except Exception as exc:
        # What a host would log or report (its frames' locals included):
        # the secret scan reads it.
        scan = current_scan()
        assert scan is not None
        scan.record_exception(exc)
        return Answer(error=exc)
    return Answer(result=found)


def _app_credentials(app: apps.GitHubApp) -> dict[str, str]:
    return {'app_id': str(app.id), 'private_key': app.private_key_pem}


def _scan_exchanged(github: GitHub, secret_scan: SecretScan) -> None:
    """The JWTs sent and the tokens issued must not leak either."""
    for request in github.fake.requests:
        scheme, _, value = request.headers.get('authorization', '').partition(
            ' '
        )
        if scheme.lower() == 'bearer' and value:
            secret_scan.add(value)
    for token in apps.state(github.fake).issued:
        secret_scan.add(token.value)


async def test_an_app_deploys_with_an_installation_token(
    github: GitHub, app: apps.GitHubApp, secret_scan: SecretScan
) -> None:
    creds = _app_credentials(app)
    mark = github.mark()
    before = int(time.time())
    response = await call(
        github, creds, 'list_workflows', workflow='deploy.yml'
    )
    after = int(time.time())
    assert response.ok, response.error
    sent = github.fake.requests[mark:]
    (issued,) = apps.state(github.fake).issued
    assert [f'{r.method} {r.path}' for r in sent[:2]] == [
        f'GET {INSTALLATION}',
        f'POST /app/installations/{app_installation(app)}/access_tokens',
    ]
    assert json.loads(sent[1].body) == {'repositories': [NAME]}
    jwt = sent[0].headers['authorization'].removeprefix('Bearer ')
    assert sent[1].headers['authorization'] == f'Bearer {jwt}'
    claims = _claims(jwt)
    assert claims['iss'] == str(app.id)
    assert before - 60 <= claims['iat'] <= after - 60
    assert 0 < claims['exp'] - claims['iat'] <= 660
    assert claims['exp'] <= after + 600
    assert all(
        r.headers['authorization'] == f'Bearer {issued.value}'
        for r in sent[2:]
    )
    assert len(sent) > 2
    _scan_exchanged(github, secret_scan)


def app_installation(app: apps.GitHubApp) -> int:
    (installation,) = app.installations
    return installation


async def test_a_run_dispatched_by_the_app_is_found(
    github: GitHub, app: apps.GitHubApp, secret_scan: SecretScan
) -> None:
    creds = _app_credentials(app)
    response = await call(
        github, creds, 'trigger_deployment', 'main', workflow='deploy.yml'
    )
    assert response.ok, response.error
    run = response.result
    status = await call(github, creds, 'get_deployment_status', run.run_id)
    assert status.ok, status.error
    _scan_exchanged(github, secret_scan)


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
    github: GitHub,
    app: apps.GitHubApp,
    secret_scan: SecretScan,
    form: typing.Callable[[str], str],
) -> None:
    """The forms the README's credentials table lists (the archiver
    plugin accepts the same)."""
    private_key = form(app.private_key_pem)
    secret_scan.add(private_key)
    creds = {'app_id': str(app.id), 'private_key': private_key}
    response = await call(github, creds, 'list_refs', 'branch')
    assert response.ok, response.error
    _scan_exchanged(github, secret_scan)


async def test_a_token_wins_over_the_app(
    github: GitHub, app: apps.GitHubApp
) -> None:
    creds = {**_app_credentials(app), 'token': github.token.value}
    mark = github.mark()
    assert (await call(github, creds, 'list_refs', 'branch')).ok
    assert not any('installation' in p for p in github.since(mark))


@pytest.mark.parametrize(
    ('drop', 'missing'), [('private_key', 'private_key'), ('app_id', 'app_id')]
)
async def test_half_an_app_is_a_missing_credential(
    github: GitHub, app: apps.GitHubApp, drop: str, missing: str
) -> None:
    creds = _app_credentials(app)
    creds[drop] = ' '
    mark = github.mark()
    response = await call(github, creds, 'list_workflows')
    assert isinstance(response.error, _host.PluginCredentialsMissing)
    assert str(response.error).startswith(
        f'credential {missing!r} is missing: '
    )
    assert github.since(mark) == []


async def test_an_app_id_that_is_not_a_number(
    github: GitHub, app: apps.GitHubApp, secret_scan: SecretScan
) -> None:
    # The key pasted into the wrong field: the error must not show it.
    creds = {
        'app_id': app.private_key_pem,
        'private_key': app.private_key_pem,
    }
    mark = github.mark()
    response = await call(github, creds, 'list_workflows')
    assert isinstance(response.error, _host.PluginCredentialsMissing)
    assert "credential 'app_id' is not a GitHub App id" in str(response.error)
    assert github.since(mark) == []


def _ec_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@pytest.mark.parametrize(
    ('key', 'wording'),
    [
        (lambda pem: pem.replace('A', 'B', 40), 'is not a GitHub App'),
        (lambda pem: pem[: len(pem) // 2], 'is not a GitHub App'),
        (
            lambda pem: base64.b64encode(b'not a key at all').decode(),
            'is not a GitHub App',
        ),
        (lambda pem: 'sk_live_' + 'q' * 40, 'is not a GitHub App'),
        (
            lambda pem: _escaped(pem).replace('A', 'B', 40),
            'is not a GitHub App',
        ),
        (
            lambda pem: base64.b64encode(_escaped(pem).encode()).decode(),
            'is not a GitHub App',
        ),
        (lambda pem: _ec_key(), 'is not an RSA key'),
        (lambda pem: _escaped(_ec_key()), 'is not an RSA key'),
    ],
    ids=[
        'corrupt',
        'cut',
        'base64 of no PEM',
        'no PEM',
        'corrupt escaped',
        'base64 of an escaped PEM',
        'EC key',
        'escaped EC key',
    ],
)
async def test_a_malformed_key_is_refused_before_any_request(
    github: GitHub,
    app: apps.GitHubApp,
    secret_scan: SecretScan,
    key: typing.Callable[[str], str],
    wording: str,
) -> None:
    bad = key(app.private_key_pem)
    secret_scan.add(bad, _pem_body(bad))
    creds = {'app_id': str(app.id), 'private_key': bad}
    mark = github.mark()
    response = await call(github, creds, 'list_workflows')
    assert isinstance(response.error, _host.PluginCredentialsMissing)
    assert f"credential 'private_key' {wording}" in str(response.error)
    assert str(response.error) in (app_auth.NOT_A_KEY, app_auth.NOT_RSA)
    assert response.error.__cause__ is None
    assert github.since(mark) == []


async def test_an_app_not_installed_on_the_repository(
    github: GitHub, secret_scan: SecretScan
) -> None:
    elsewhere = github.fake.add_repository(OWNER, 'other')
    app = apps.add_app(github.fake)
    secret_scan.add(app.private_key_pem)
    apps.install(github.fake, app, OWNER, [elsewhere], {'actions': 'read'})
    creds = _app_credentials(app)
    mark = github.mark()
    response = await call(github, creds, 'list_workflows')
    missing = _host.optional('PluginInstallationMissing')
    if missing is not None:
        # v3 hosts from imbi-common 2.31: a terminal 403 app_not_installed.
        assert isinstance(response.error, missing)
        assert response.error.owner_repo == f'{OWNER}/{NAME}'
        assert response.error.integration_slug == 'github-apps'
    else:
        assert isinstance(response.error, _host.PluginAuthenticationFailed)
    assert f'GitHub App {app.id} is not installed on {OWNER}/{NAME}' in str(
        response.error
    )
    assert github.since(mark) == [f'GET {INSTALLATION}']
    _scan_exchanged(github, secret_scan)


async def test_a_key_of_another_app_is_an_authentication_failure(
    github: GitHub, app: apps.GitHubApp, secret_scan: SecretScan
) -> None:
    other = apps.add_app(github.fake, 'someone-else')
    secret_scan.add(other.private_key_pem)
    creds = {
        'app_id': str(app.id),
        'private_key': other.private_key_pem,
    }
    response = await call(github, creds, 'list_workflows')
    assert isinstance(response.error, _host.PluginAuthenticationFailed)
    assert "GitHub rejected the GitHub App's JWT" in str(response.error)
    assert 'A JSON web token could not be decoded' in str(response.error)
    _scan_exchanged(github, secret_scan)


async def test_a_suspended_installation_is_refused(
    github: GitHub, app: apps.GitHubApp, secret_scan: SecretScan
) -> None:
    for installation in app.installations.values():
        installation.suspended = True
    creds = _app_credentials(app)
    response = await call(github, creds, 'list_workflows')
    assert isinstance(response.error, _host.PluginAuthenticationFailed)
    assert 'This installation has been suspended' in str(response.error)
    _scan_exchanged(github, secret_scan)


@pytest.mark.parametrize('status', [404, 422])
async def test_a_token_refused_for_the_repository(
    github: GitHub, app: apps.GitHubApp, secret_scan: SecretScan, status: int
) -> None:
    github.fake.inject(
        Fault(
            path='/access_tokens$',
            status=status,
            body={
                'message': 'There is at least one repository that does '
                'not exist or is not accessible to the parent '
                'installation.'
            },
        )
    )
    creds = _app_credentials(app)
    response = await call(github, creds, 'list_workflows')
    expected = (
        _host.optional('PluginInstallationMissing')
        or _host.PluginAuthenticationFailed
    )
    assert isinstance(response.error, expected)
    assert 'not accessible to the parent installation' in str(response.error)
    _scan_exchanged(github, secret_scan)


async def test_an_unexpected_token_answer_is_unavailable(
    github: GitHub, app: apps.GitHubApp, secret_scan: SecretScan
) -> None:
    github.fake.inject(
        Fault(path='/access_tokens$', status=201, body={'expires_at': 'x'})
    )
    creds = _app_credentials(app)
    response = await call(github, creds, 'list_workflows')
    assert isinstance(response.error, _host.PluginUnavailableError)
    _scan_exchanged(github, secret_scan)


async def test_the_exchange_counts_against_the_budget(
    github: GitHub, app: apps.GitHubApp, secret_scan: SecretScan
) -> None:
    github.fake.inject(Fault(path='/installation$', latency=1.5))
    creds = _app_credentials(app)
    started = time.monotonic()
    response = await call(github, creds, 'list_workflows', timeout_seconds=1)
    assert isinstance(response.error, _host.PluginTimeoutError)
    assert time.monotonic() - started < 1.4
    _scan_exchanged(github, secret_scan)


def test_no_repr_shows_the_key(app: apps.GitHubApp) -> None:
    given = options.AppCredentials(str(app.id), app.private_key_pem)
    loaded = app_auth.load(given)
    body = _pem_body(app.private_key_pem)
    for text in (repr(given), repr(loaded)):
        assert body[:40] not in text
        assert str(app.id) in text
    token = app_auth.InstallationToken(token='ghs_' + 'k' * 36, expires_at='')
    assert 'k' * 36 not in repr(token)


def test_the_jwt_is_inside_githubs_window(app: apps.GitHubApp) -> None:
    loaded = app_auth.load(
        options.AppCredentials(str(app.id), app.private_key_pem)
    )
    claims = _claims(loaded.jwt(now=1_000_000))
    assert claims == {
        'iat': 1_000_000 - 60,
        'exp': 1_000_000 + 540,
        'iss': str(app.id),
    }


async def test_a_jwt_refused_for_the_token(
    github: GitHub, app: apps.GitHubApp, secret_scan: SecretScan
) -> None:
    github.fake.inject(
        Fault(
            path='/access_tokens$',
            status=401,
            body={
                'message': "'Expiration time' claim ('exp') is too far in "
                'the future',
            },
        )
    )
    creds = _app_credentials(app)
    response = await call(github, creds, 'list_workflows')
    assert isinstance(response.error, _host.PluginAuthenticationFailed)
    assert 'too far in the future' in str(response.error)
    assert f'app_id {app.id}' in str(response.error)
    _scan_exchanged(github, secret_scan)


@pytest.mark.parametrize('missing', ['jwt', 'cryptography'])
async def test_app_credentials_without_pyjwt_or_cryptography(
    github: GitHub,
    app: apps.GitHubApp,
    monkeypatch: pytest.MonkeyPatch,
    missing: str,
) -> None:
    # imbi-api 2.41 installs plugins with --no-deps: the App's libraries
    # may be absent where a token still works. Say what to install.
    for name in list(sys.modules):
        if name == missing or name.startswith(f'{missing}.'):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, missing, None)
    monkeypatch.delitem(sys.modules, app_auth.__name__)
    monkeypatch.delattr(sys.modules['imbi_plugin_github_actions'], 'app_auth')
    mark = github.mark()
    response = await call(github, _app_credentials(app), 'list_workflows')
    assert isinstance(response.error, _host.PluginUnavailableError)
    assert "pip install 'pyjwt[crypto]>=2.8'" in str(response.error)
    assert response.error.__cause__ is None
    assert github.since(mark) == []
