"""GitHub App credentials: an installation token for one call.

v3 hosts may pass a GitHub App's ``app_id`` and ``private_key`` on
service paths instead of a token. The plugin signs a JWT with the key
(RS256, PyJWT), asks GitHub which installation of the App covers the
repository (``GET /repos/{owner}/{repo}/installation``), creates an
installation token for that repository only
(``POST /app/installations/{id}/access_tokens``) and uses it like any
token. The exchange runs inside the call's budget. The key, the JWT and
the installation token never appear in a message, a log or a repr.

Nothing is cached between calls: the plugin keeps no per-credential
state on its instance or in module globals (a cache would hold live
tokens beyond the call that needed them, keyed by the credentials), so
each call mints its own token.
"""

import base64
import binascii
import dataclasses
import re
import time
import typing

from imbi_plugin_archiver import _host
from imbi_plugin_archiver._host import (
    PluginAuthenticationFailed,
    PluginUnavailableError,
)
from imbi_plugin_archiver.client import GitHub
from imbi_plugin_archiver.errors import GitHubRefused, NotFound
from imbi_plugin_archiver.options import OptionError

if typing.TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

#: GitHub wants ``iat`` 60 s in the past (clock drift) and ``exp`` at
#: most 10 minutes after it is issued.
CLOCK_DRIFT_SECONDS = 60
JWT_LIFETIME_SECONDS = 540
INSTALL_PYJWT = "pip install 'pyjwt[crypto]>=2.8' 'cryptography>=3.4.1'"
#: One answer for a key that does not parse, whatever its form: it
#: names the field and the forms accepted, never the value.
NOT_A_KEY = (
    "credential 'private_key' is not a GitHub App private key: store "
    'the .pem file GitHub generated for the App (from -----BEGIN RSA '
    'PRIVATE KEY----- to the END line) as it is, on one line with its '
    'line breaks written as \\n, or base64-encoded on one line'
)
NOT_RSA = (
    "credential 'private_key' is not an RSA key: GitHub App keys are "
    'RSA (RS256)'
)
#: Where a redirected installation lookup lands: a renamed or
#: transferred repository, named by its id.
_MOVED = re.compile(r'/repositories/([0-9]+)/installation\Z')


class CredentialError(OptionError):
    """A stored App credential is unusable; never echoes its value."""


@dataclasses.dataclass(frozen=True)
class AppCredentials:
    """A GitHub App's ID and private key (PEM)."""

    app_id: int
    private_key: str = dataclasses.field(repr=False)

    def __repr__(self) -> str:
        return f'AppCredentials(app_id={self.app_id}, private_key=<hidden>)'


def parse(app_id: str, private_key: str) -> AppCredentials:
    """Validated App credentials; :class:`CredentialError` if unusable."""
    text = app_id.strip()
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 2**63):
        raise CredentialError(
            "credential 'app_id' must be the GitHub App's numeric App ID "
            "(the App's settings page, 'App ID'), not its client ID, slug "
            'or name'
        )
    return AppCredentials(int(text), private_key)


def pem_of(private_key: str) -> bytes:
    """The PEM of ``private_key``, in any of the three forms operators
    store (the github-actions plugin accepts the same, with the same
    errors):

    - the PEM itself, line breaks and all;
    - the PEM pasted into a one-line field, its line breaks written as
      a literal ``\\n`` (or ``\\r\\n``);
    - the PEM base64-encoded (on one line, or wrapped).

    Locals holding key material have names error trackers scrub.
    """
    # Neither PEM nor base64 has a backslash: a literal \n is always an
    # escaped line break.
    private_key = (
        private_key.replace('\\r\\n', '\n').replace('\\n', '\n').strip()
    )
    if '-----BEGIN' in private_key:
        return private_key.encode()
    try:
        private_key_pem = base64.b64decode(
            ''.join(private_key.split()), validate=True
        )
    except binascii.Error, ValueError:
        raise CredentialError(NOT_A_KEY) from None
    if b'-----BEGIN' not in private_key_pem:
        raise CredentialError(NOT_A_KEY)
    return private_key_pem


def load_key(private_key: str) -> RSAPrivateKey:
    """The App's RSA key; :class:`CredentialError` naming the field,
    never showing the key, when it is not one."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError:
        raise PluginUnavailableError(
            'GitHub App credentials need cryptography, which is not '
            f'installed in the host: {INSTALL_PYJWT}'
        ) from None
    try:
        loaded = serialization.load_pem_private_key(
            pem_of(private_key), password=None
        )
    except ValueError, TypeError, UnicodeError:
        # cryptography's messages describe the data it could not read;
        # none of it belongs in a result a host shows or logs.
        raise CredentialError(NOT_A_KEY) from None
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise CredentialError(NOT_RSA)
    return loaded


def sign(credentials: AppCredentials, now: float | None = None) -> str:
    """The App's JWT: RS256, ``iss`` the App ID, valid for 9 minutes."""
    try:
        import jwt
    except ImportError:
        raise PluginUnavailableError(
            'GitHub App credentials need PyJWT with cryptography, which '
            f'is not installed in the host: {INSTALL_PYJWT}'
        ) from None
    private_key = load_key(credentials.private_key)
    issued = int(time.time() if now is None else now) - CLOCK_DRIFT_SECONDS
    claims = {
        'iat': issued,
        'exp': issued + CLOCK_DRIFT_SECONDS + JWT_LIFETIME_SECONDS,
        'iss': str(credentials.app_id),
    }
    try:
        return jwt.encode(claims, private_key, algorithm='RS256')
    except NotImplementedError:
        # PyJWT without cryptography has no RS256.
        raise PluginUnavailableError(
            'GitHub App credentials need PyJWT with cryptography (RS256), '
            f'which is not installed in the host: {INSTALL_PYJWT}'
        ) from None


def _not_installed(
    app_id: int, repository: str, integration: str | None
) -> Exception:
    message = (
        f'the GitHub App {app_id} is not installed on {repository} (or '
        'the repository does not exist): install the App on the '
        'repository\'s owner with access to it and the "Administration: '
        'write" repository permission, or store a token instead'
    )
    missing = _host.optional('PluginInstallationMissing')
    if missing is not None:
        # imbi-api's 403 app_not_installed answer carries both.
        return typing.cast(
            Exception,
            missing(
                message, owner_repo=repository, integration_slug=integration
            ),
        )
    return PluginAuthenticationFailed(message)


def _scope(landed: str, name: str) -> dict[str, typing.Any]:
    """The token's reach: only the repository acted on.

    By name (GitHub's ``repositories`` takes names without the owner),
    unless GitHub redirected the installation lookup to
    ``/repositories/{id}``: the repository was renamed or transferred,
    its old name no longer resolves, and its id does.
    """
    moved = _MOVED.search(landed)
    if moved is not None:
        return {'repository_ids': [int(moved[1])]}
    return {'repositories': [name]}


async def installation_token(
    credentials: AppCredentials,
    jwt_token: str,
    api_url: str,
    owner: str,
    name: str,
    deadline: float,
    integration: str | None = None,
) -> str:
    """An installation token of the App limited to ``owner/name``;
    ``integration`` is the v3 Integration's slug, for the error that
    says the App is not installed."""
    repository = f'{owner}/{name}'
    async with GitHub.client(jwt_token) as http:
        github = GitHub(
            http,
            api_url,
            deadline,
            rejected=(
                f"the GitHub App {credentials.app_id}'s JWT (401 {{}}): "
                "check that 'app_id' is the App's ID and 'private_key' "
                "one of its current keys, and the host's clock"
            ),
        )
        try:
            found, landed = await github.located(
                'GET', f'/repos/{owner}/{name}/installation'
            )
        except NotFound:
            raise _not_installed(
                credentials.app_id, repository, integration
            ) from None
        except GitHubRefused as exc:
            raise PluginAuthenticationFailed(
                f'GitHub refused to name the installation of the App '
                f'{credentials.app_id} for {repository} ({exc.status} '
                f'{exc.message})'
            ) from None
        installation = found.get('id') if isinstance(found, dict) else None
        if not isinstance(installation, int) or isinstance(installation, bool):
            raise PluginUnavailableError(
                'GitHub answered the installation lookup with an '
                'unexpected object (no numeric id)'
            )
        try:
            # A second token after a retried 5xx is harmless: it expires
            # within the hour and nothing else changed.
            created = await github.request(
                'POST',
                f'/app/installations/{installation}/access_tokens',
                _scope(landed, name),
            )
        except GitHubRefused as exc:
            if exc.status in (404, 422):
                # 404: uninstalled since the lookup; 422: the
                # installation does not cover this repository.
                raise _not_installed(
                    credentials.app_id, repository, integration
                ) from None
            raise PluginAuthenticationFailed(
                f'GitHub refused an installation token of the App '
                f'{credentials.app_id} (installation {installation}; '
                f'{exc.status} {exc.message}): the installation may be '
                'suspended or removed'
            ) from None
    token = created.get('token') if isinstance(created, dict) else None
    if not isinstance(token, str) or not token.strip():
        raise PluginUnavailableError(
            'GitHub answered the installation token request with an '
            'unexpected object (no token)'
        )
    return token.strip()
