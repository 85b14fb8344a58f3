"""GitHub Apps: the App's JWT, its installations, installation tokens.

What a plugin holding a GitHub App's ``app_id`` and private key does
(GitHub's "Authenticating as a GitHub App installation"):

- ``GET /repos/{owner}/{repo}/installation`` with the App's JWT as
  Bearer: the installation covering the repository (``installation``
  schema), or 404 ``Not Found`` when the App is not installed there
  (GitHub does not tell a missing repository apart);
- ``POST /app/installations/{installation_id}/access_tokens`` with the
  JWT: 201 with an installation token (``ghs_``, one hour) and
  ``expires_at``; ``repositories`` narrows it to names of the
  installation (422 for one it does not cover), 404 for an unknown
  installation, 403 for a suspended one.

The JWT is checked as GitHub documents it: RS256 signed with the App's
key (``iss`` the App id, or its client id), ``exp`` in the future and at
most 10 minutes ahead, ``iat`` not in the future; otherwise 401 with
GitHub's messages. The signature is verified here with cryptography
directly rather than with a JWT library, so the stand-in does not share
the plugin's decoder. The App routes are not rate limited: GitHub counts
JWT requests apart from a token's quota.
"""

import base64
import binascii
import dataclasses
import json
import secrets
import time
import typing

import starlette.requests
import starlette.responses
import starlette.routing

from imbi_plugin_testing.fakes.github import shapes
from imbi_plugin_testing.fakes.github.core import (
    GitHubFake,
    Repository,
    Token,
    rest,
)

Request = starlette.requests.Request
Response = starlette.responses.Response

#: GitHub refuses an ``exp`` further ahead than this.
MAX_JWT_SECONDS = 600
#: Lifetime of an installation token.
TOKEN_SECONDS = 3600
_KEY = 'apps'


@dataclasses.dataclass
class Installation:
    id: int
    account: str
    #: Lower-case full names; None: every repository of the account.
    repositories: set[str] | None
    permissions: dict[str, str]
    suspended: bool = False


@dataclasses.dataclass
class GitHubApp:
    """A registered GitHub App and where it is installed."""

    id: int
    slug: str
    client_id: str
    #: PEM of the App's private key (what GitHub lets its owner download).
    private_key_pem: str = dataclasses.field(repr=False)
    public_key: typing.Any = dataclasses.field(repr=False)
    installations: dict[int, Installation] = dataclasses.field(
        default_factory=dict
    )

    @property
    def bot_login(self) -> str:
        return f'{self.slug}[bot]'


@dataclasses.dataclass
class AppsState:
    apps: dict[int, GitHubApp] = dataclasses.field(default_factory=dict)
    #: Installation tokens issued, newest last (tests add them to scans).
    issued: list[Token] = dataclasses.field(default_factory=list)


def state(fake: GitHubFake) -> AppsState:
    found = fake.extensions.get(_KEY)
    if found is None:
        found = fake.extensions[_KEY] = AppsState()
    return typing.cast(AppsState, found)


def add_app(fake: GitHubFake, slug: str = 'imbi-deployer') -> GitHubApp:
    """Register a GitHub App with a fresh 2048-bit RSA key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    app = GitHubApp(
        id=next(fake.ids),
        slug=slug,
        client_id='Iv23li' + secrets.token_hex(7),
        private_key_pem=pem,
        public_key=key.public_key(),
    )
    state(fake).apps[app.id] = app
    return app


def install(
    fake: GitHubFake,
    app: GitHubApp,
    account: str,
    repositories: list[Repository] | None = None,
    permissions: dict[str, str] | None = None,
) -> Installation:
    """Install ``app`` on ``account`` (all repositories, or those given).

    The App's bot becomes a collaborator with write access on the
    repositories, which is how the other routes see an installation
    token's reach.
    """
    installation = Installation(
        id=next(fake.ids),
        account=account,
        repositories=None
        if repositories is None
        else {r.full_name.lower() for r in repositories},
        permissions=dict(permissions or {}),
    )
    app.installations[installation.id] = installation
    for repo in fake.repositories.values():
        if _covers(installation, repo):
            repo.collaborators.setdefault(app.bot_login, 'write')
    return installation


def _covers(installation: Installation, repo: Repository) -> bool:
    if repo.owner.lower() != installation.account.lower():
        return False
    return (
        installation.repositories is None
        or repo.full_name.lower() in installation.repositories
    )


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + '=' * (-len(part) % 4))


def _iso(epoch: float) -> str:
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def authenticate_app(
    fake: GitHubFake, request: Request
) -> GitHubApp | Response:
    """The App whose JWT authenticates ``request``, or GitHub's 401."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    scheme, _, value = request.headers.get('authorization', '').partition(' ')
    if scheme.lower() != 'bearer' or not value.strip():
        return fake.error(401, 'A JSON web token could not be decoded')
    parts = value.strip().split('.')
    try:
        if len(parts) != 3:
            raise ValueError(parts)
        header = json.loads(_b64(parts[0]))
        claims = json.loads(_b64(parts[1]))
        signature = _b64(parts[2])
    except ValueError, binascii.Error, UnicodeDecodeError:
        return fake.error(401, 'A JSON web token could not be decoded')
    if not isinstance(header, dict) or header.get('alg') != 'RS256':
        return fake.error(401, 'A JSON web token could not be decoded')
    if not isinstance(claims, dict):
        return fake.error(401, 'A JSON web token could not be decoded')
    apps = state(fake).apps
    issuer = claims.get('iss')
    app = None
    if isinstance(issuer, int) or (
        isinstance(issuer, str) and issuer.isascii() and issuer.isdigit()
    ):
        app = apps.get(int(issuer))
    elif isinstance(issuer, str):
        app = next((a for a in apps.values() if a.client_id == issuer), None)
    if app is None:
        return fake.error(401, 'Integration not found')
    try:
        app.public_key.verify(
            signature,
            f'{parts[0]}.{parts[1]}'.encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        return fake.error(401, 'A JSON web token could not be decoded')
    now = time.time()
    issued, expires = claims.get('iat'), claims.get('exp')
    if not isinstance(issued, int) or issued > now:
        return fake.error(
            401,
            "'Issued at' claim ('iat') must be an Integer representing the "
            'time that the assertion was issued',
        )
    if not isinstance(expires, int) or expires <= now:
        return fake.error(
            401,
            "'Expiration time' claim ('exp') must be a numeric value "
            'representing the future time at which the assertion expires',
        )
    if expires > now + MAX_JWT_SECONDS:
        return fake.error(
            401, "'Expiration time' claim ('exp') is too far in the future"
        )
    return app


def _installation_json(
    fake: GitHubFake, app: GitHubApp, installation: Installation
) -> dict[str, typing.Any]:
    account = shapes.simple_user(fake, installation.account)
    api = fake.base_url
    return {
        'id': installation.id,
        'account': account,
        'repository_selection': 'all'
        if installation.repositories is None
        else 'selected',
        'access_tokens_url': (
            f'{api}/app/installations/{installation.id}/access_tokens'
        ),
        'repositories_url': f'{api}/installation/repositories',
        'html_url': (
            f'{fake.web_url}/settings/installations/{installation.id}'
        ),
        'app_id': app.id,
        'client_id': app.client_id,
        'target_id': account['id'],
        'target_type': account['type'],
        'permissions': dict(installation.permissions),
        'events': [],
        'created_at': shapes.CREATED,
        'updated_at': shapes.CREATED,
        'single_file_name': None,
        'has_multiple_single_files': False,
        'single_file_paths': [],
        'app_slug': app.slug,
        'suspended_by': None,
        'suspended_at': None,
    }


def routes(fake: GitHubFake) -> list[starlette.routing.BaseRoute]:
    apps = state(fake)

    async def repo_installation(request: Request) -> Response:
        app = authenticate_app(fake, request)
        if isinstance(app, Response):
            return app
        repo = fake.repository(
            request.path_params['owner'], request.path_params['repo']
        )
        found = (
            None
            if repo is None
            else next(
                (i for i in app.installations.values() if _covers(i, repo)),
                None,
            )
        )
        if found is None:
            return fake.error(404, 'Not Found')
        return fake.json(_installation_json(fake, app, found))

    async def access_tokens(request: Request) -> Response:
        app = authenticate_app(fake, request)
        if isinstance(app, Response):
            return app
        installation = app.installations.get(
            request.path_params['installation_id']
        )
        if installation is None:
            return fake.error(404, 'Not Found')
        if installation.suspended:
            return fake.error(403, 'This installation has been suspended')
        try:
            body = json.loads(await request.body() or b'{}')
        except ValueError:
            return fake.error(400, 'Problems parsing JSON')
        names = body.get('repositories') if isinstance(body, dict) else None
        if names is not None:
            covered = [
                repo
                for name in names
                if isinstance(name, str)
                and (repo := fake.repository(installation.account, name))
                is not None
                and _covers(installation, repo)
            ]
            if not isinstance(names, list) or len(covered) != len(names):
                return fake.error(
                    422,
                    'There is at least one repository that does not exist '
                    'or is not accessible to the parent installation.',
                )
        token = fake.issue_token(
            app.bot_login,
            prefix='ghs_',
            kind='installation',
            permissions=dict(installation.permissions),
            expires_at=time.time() + TOKEN_SECONDS,
        )
        apps.issued.append(token)
        return fake.json(
            {
                'token': token.value,
                'expires_at': _iso(typing.cast(float, token.expires_at)),
                'permissions': dict(installation.permissions),
                'repository_selection': 'all'
                if installation.repositories is None and names is None
                else 'selected',
            },
            201,
        )

    return [
        *rest(
            '/repos/{owner}/{repo}/installation', repo_installation, ['GET']
        ),
        *rest(
            '/app/installations/{installation_id:int}/access_tokens',
            access_tokens,
            ['POST'],
        ),
    ]
