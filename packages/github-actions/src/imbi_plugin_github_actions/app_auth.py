"""GitHub App credentials: the App's JWT and an installation token.

On v3 service paths the host may pass a GitHub App's ``app_id`` and
``private_key`` instead of a token. Each call then signs a short-lived
JWT (RS256; ``iat`` 60 s in the past against clock drift, ``exp`` under
GitHub's 10-minute maximum), asks GitHub for the App's installation on
the repository (``GET /repos/{owner}/{repo}/installation``) and creates
an installation token limited to that repository
(``POST /app/installations/{id}/access_tokens``), all inside the call's
budget. PyJWT (and cryptography under it) is imported with this module,
on the first App call only.

The key, the JWT and the installation token travel only in the
Authorization header: never in a log, an exception or a repr.

Nothing is cached between calls: the plugin keeps no per-credential
state on its instance or in module globals (a cache would hold live
tokens beyond the call that needed them, keyed by the credentials), so
each call mints its own token.
"""

import base64
import binascii
import dataclasses
import time
import typing

import jwt
import pydantic
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from imbi_plugin_github_actions import _host
from imbi_plugin_github_actions._host import (
    PluginAuthenticationFailed,
    PluginCredentialsMissing,
)
from imbi_plugin_github_actions.client import GitHub, message_of, parse
from imbi_plugin_github_actions.options import AppCredentials

#: GitHub's advice: issued a minute ago, so a clock slightly ahead of
#: GitHub's does not make the JWT "issued in the future".
BACKDATE_SECONDS = 60
#: GitHub refuses an ``exp`` more than 10 minutes ahead of its clock; a
#: minute under that leaves room for a clock running ahead.
LIFETIME_SECONDS = 540
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


@dataclasses.dataclass(frozen=True)
class AppKey:
    """A GitHub App id and its loaded RSA key."""

    app_id: str
    private_key: rsa.RSAPrivateKey = dataclasses.field(repr=False)

    def jwt(self, now: float | None = None) -> str:
        """A JWT that authenticates as the App (RS256)."""
        issued = int(time.time() if now is None else now)
        claims = {
            'iat': issued - BACKDATE_SECONDS,
            'exp': issued + LIFETIME_SECONDS,
            'iss': self.app_id,
        }
        return jwt.encode(claims, self.private_key, algorithm='RS256')


class Installation(pydantic.BaseModel):
    id: int


class InstallationToken(pydantic.BaseModel):
    token: str = pydantic.Field(min_length=1, repr=False)
    expires_at: str


def pem_of(private_key: str) -> bytes:
    """The PEM of ``private_key``, in any of the three forms operators
    store (the archiver plugin accepts the same, with the same errors):

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
        raise PluginCredentialsMissing(NOT_A_KEY) from None
    if b'-----BEGIN' not in private_key_pem:
        raise PluginCredentialsMissing(NOT_A_KEY)
    return private_key_pem


def load(app: AppCredentials) -> AppKey:
    """The App's key, checked before any request; the error names the
    field and never shows the key."""
    try:
        private_key = serialization.load_pem_private_key(
            pem_of(app.private_key), password=None
        )
    except ValueError, TypeError, UnicodeError:
        # cryptography's messages describe the data it could not read;
        # none of it belongs in an error a host shows or logs.
        raise PluginCredentialsMissing(NOT_A_KEY) from None
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise PluginCredentialsMissing(NOT_RSA)
    return AppKey(app.app_id, private_key)


def _not_installed(
    gh: GitHub, app_id: str, detail: str, integration: str | None
) -> Exception:
    """``PluginInstallationMissing`` where the host has it (imbi-common
    2.31+: a terminal 403 ``app_not_installed``), else
    ``PluginAuthenticationFailed``."""
    message = (
        f'the GitHub App {app_id} is not installed on {gh.full_name} '
        f'({detail}): install it there, or grant the installation that '
        'repository'
    )
    missing = _host.optional('PluginInstallationMissing')
    if missing is None:
        return PluginAuthenticationFailed(message)
    return typing.cast(
        Exception,
        missing(
            message, owner_repo=gh.full_name, integration_slug=integration
        ),
    )


async def installation_token(
    gh: GitHub, app: AppKey, integration: str | None = None
) -> str:
    """An installation token for ``gh``'s repository, made with the
    App's JWT (two requests, inside the call's budget)."""
    auth_headers = {'Authorization': f'Bearer {app.jwt()}'}
    found = await gh.request(
        'GET',
        gh.repo_path('/installation'),
        headers=auth_headers,
        handle=(401, 404),
    )
    if found.status_code == 401:
        raise _rejected(app, found)
    if found.status_code == 404:
        raise _not_installed(gh, app.app_id, message_of(found), integration)
    installation = parse(Installation, gh.body(found))
    made = await gh.request(
        'POST',
        f'/app/installations/{installation.id}/access_tokens',
        json={'repositories': [gh.name]},
        headers=auth_headers,
        handle=(401, 404, 422),
    )
    if made.status_code == 401:
        raise _rejected(app, made)
    if made.status_code in (404, 422):
        # 404: uninstalled since the lookup; 422: the installation does
        # not cover this repository.
        raise _not_installed(gh, app.app_id, message_of(made), integration)
    return parse(InstallationToken, gh.body(made)).token


def _rejected(app: AppKey, response: typing.Any) -> Exception:
    return PluginAuthenticationFailed(
        f"GitHub rejected the GitHub App's JWT (app_id {app.app_id}): "
        f'{message_of(response)}: check app_id and private_key'
    )
