"""GitHub App credentials: an installation token for one call.

v3 hosts may pass a GitHub App's ``app_id`` and ``private_key`` on
service paths instead of a token. The plugin signs a JWT with the key
(RS256, PyJWT), asks GitHub which installation of the App covers the
repository (``GET /repos/{owner}/{repo}/installation``), creates an
installation token for it (``POST /app/installations/{id}/access_tokens``)
and uses that like any token. The exchange runs inside the call's
budget. The key, the JWT and the installation token never appear in a
message, a log or a repr; nothing is cached between calls.
"""

import dataclasses
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

#: GitHub wants ``iat`` 60 s in the past (clock drift) and ``exp`` at
#: most 10 minutes after it is issued.
CLOCK_DRIFT_SECONDS = 60
JWT_LIFETIME_SECONDS = 540
INSTALL_PYJWT = "pip install 'pyjwt[crypto]>=2.8'"


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
    private_key = private_key.strip()
    if '\n' not in private_key and '\\n' in private_key:
        # Pasted through a single-line field: the newlines arrived
        # escaped.
        private_key = private_key.replace('\\n', '\n')
    return AppCredentials(int(text), private_key)


def sign(credentials: AppCredentials, now: float | None = None) -> str:
    """The App's JWT: RS256, ``iss`` the App ID, valid for 9 minutes."""
    try:
        import jwt
    except ImportError:
        raise PluginUnavailableError(
            'GitHub App credentials need PyJWT with cryptography, which '
            f'is not installed in the host: {INSTALL_PYJWT}'
        ) from None
    issued = int(time.time() if now is None else now) - CLOCK_DRIFT_SECONDS
    claims = {
        'iat': issued,
        'exp': issued + CLOCK_DRIFT_SECONDS + JWT_LIFETIME_SECONDS,
        'iss': str(credentials.app_id),
    }
    try:
        return jwt.encode(claims, credentials.private_key, algorithm='RS256')
    except NotImplementedError:
        # PyJWT without cryptography has no RS256.
        raise PluginUnavailableError(
            'GitHub App credentials need PyJWT with cryptography (RS256), '
            f'which is not installed in the host: {INSTALL_PYJWT}'
        ) from None
    except Exception:
        # Whatever the key's parser said may quote the key: say nothing
        # of it, and drop the chain.
        raise CredentialError(
            "credential 'private_key' is not a usable RSA private key: "
            'store the whole .pem file GitHub generated for the App '
            '(from -----BEGIN RSA PRIVATE KEY----- to the END line)'
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


async def installation_token(
    credentials: AppCredentials,
    jwt_token: str,
    api_url: str,
    owner: str,
    name: str,
    deadline: float,
    integration: str | None = None,
) -> str:
    """An installation token of the App for ``owner/name``;
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
            found = await github.request(
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
                'POST', f'/app/installations/{installation}/access_tokens'
            )
        except GitHubRefused as exc:
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
