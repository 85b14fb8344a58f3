"""The GitHub identity handler, shared by the v1 and v3 plugin classes.

Module top level imports only the stdlib and this package's stdlib-only
modules; the host's models and errors come through ``_host`` and httpx
with ``client`` on the first call.
"""

import asyncio
import collections.abc
import datetime
import logging
import secrets
import time
import typing
import urllib.parse

from imbi_plugin_github_identity import _host, spec
from imbi_plugin_github_identity._host import (
    AuthorizationRequest,
    IdentityCredentials,
    IdentityProfile,
    PluginContext,
    PluginCredentialsMissing,
    PluginTimeoutError,
)

if typing.TYPE_CHECKING:
    from imbi_plugin_github_identity import convert, pkce
    from imbi_plugin_github_identity import options as plugin_options
    from imbi_plugin_github_identity.client import GitHubClient
else:
    # Loaded by the first call, not at the host's start-up.
    convert = _host.deferred('imbi_plugin_github_identity.convert')
    pkce = _host.deferred('imbi_plugin_github_identity.pkce')
    plugin_options = _host.deferred('imbi_plugin_github_identity.options')

LOGGER = logging.getLogger(__name__)
_NO_WHITESPACE = frozenset(' \t\r\n,')


class GitHubIdentityHandler:
    """OAuth 2.0 web flow against github.com or GitHub Enterprise Server.

    A plain mixin: ``plugin.GitHubIdentityPlugin`` (v1) and
    ``_v3.GitHubIdentity`` (v3) add the host's base class.
    """

    async def authorization_request(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        redirect_uri: str,
        scopes: list[str] | None = None,
    ) -> AuthorizationRequest:
        client_id = _credential(credentials, 'client_id')
        options = plugin_options.read_options(plugin_options.raw(ctx))
        _check_redirect_uri(redirect_uri)
        wanted = list(scopes) if scopes else list(spec.DEFAULT_SCOPES)
        for scope in wanted:
            if not scope or _NO_WHITESPACE & set(scope):
                raise ValueError(f'invalid OAuth scope {scope!r}')
        state = secrets.token_urlsafe(32)
        query = {
            'client_id': client_id,
            'redirect_uri': redirect_uri,
            'scope': ' '.join(wanted),
            'state': state,
            'allow_signup': 'true' if options.allow_signup else 'false',
        }
        verifier = None
        if options.use_pkce:
            verifier = pkce.new_verifier()
            query['code_challenge'] = pkce.challenge(verifier)
            query['code_challenge_method'] = 'S256'
        url = (
            f'{options.github_url}/login/oauth/authorize?'
            + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        )
        return AuthorizationRequest(
            authorization_url=url, state=state, code_verifier=verifier
        )

    async def exchange_code(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        code: str,
        redirect_uri: str,
        code_verifier: str | None = None,
    ) -> tuple[IdentityProfile, IdentityCredentials]:
        client_id, client_secret = _credentials(credentials)
        options = plugin_options.read_options(plugin_options.raw(ctx))
        if not isinstance(code, str) or not code.strip():
            raise ValueError('the authorization code is empty')
        _check_redirect_uri(redirect_uri)
        if code_verifier is not None and not pkce.is_valid_verifier(
            code_verifier
        ):
            raise ValueError(
                'code_verifier must be 43..128 characters of '
                '[A-Za-z0-9-._~] (RFC 7636)'
            )

        async def work(
            client: GitHubClient,
        ) -> tuple[IdentityProfile, IdentityCredentials]:
            body = await client.exchange_code(
                code.strip(), redirect_uri, code_verifier
            )
            creds = _credentials_from(body)
            return await _profile(client, options, creds), creds

        return await _call(options, client_id, client_secret, work)

    async def refresh(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        refresh_token: str,
    ) -> IdentityCredentials:
        client_id, client_secret = _credentials(credentials)
        options = plugin_options.read_options(plugin_options.raw(ctx))
        if not isinstance(refresh_token, str) or not refresh_token.strip():
            raise ValueError('the refresh token is empty')

        async def work(client: GitHubClient) -> IdentityCredentials:
            body = await client.refresh(refresh_token.strip())
            return _credentials_from(body)

        return await _call(options, client_id, client_secret, work)

    async def revoke(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        token: str,
    ) -> None:
        """Best effort: failures are logged (without the token)."""
        client_id, client_secret = _credentials(credentials)
        options = plugin_options.read_options(plugin_options.raw(ctx))
        if not isinstance(token, str) or not token.strip():
            raise ValueError('the token to revoke is empty')

        async def work(client: GitHubClient) -> None:
            from imbi_plugin_github_identity.client import UNAVAILABLE

            try:
                await client.revoke(token.strip())
            except UNAVAILABLE as exc:
                LOGGER.warning('Revoking a GitHub token failed: %s', exc)

        await _call(options, client_id, client_secret, work)


def _credential(credentials: dict[str, str], name: str) -> str:
    value = credentials.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PluginCredentialsMissing(f'credential {name!r} is missing')
    return value.strip()


def _credentials(credentials: dict[str, str]) -> tuple[str, str]:
    return (
        _credential(credentials, 'client_id'),
        _credential(credentials, 'client_secret'),
    )


def _check_redirect_uri(redirect_uri: str) -> None:
    if not isinstance(redirect_uri, str) or not plugin_options.is_http_url(
        redirect_uri
    ):
        raise ValueError(
            f'redirect_uri must be an absolute http(s) URL, got '
            f'{redirect_uri!r}'
        )


def _credentials_from(
    body: collections.abc.Mapping[str, typing.Any],
) -> IdentityCredentials:
    return convert.build_credentials(body, datetime.datetime.now(datetime.UTC))


async def _profile(
    client: GitHubClient,
    options: plugin_options.Options,
    creds: IdentityCredentials,
) -> IdentityProfile:
    """/user, plus /user/emails and /user/orgs when the token may read
    them (asked concurrently: they are independent)."""
    token = creds.access_token
    try:
        async with asyncio.TaskGroup() as group:
            user = group.create_task(client.get('/user', token))
            emails = (
                group.create_task(
                    client.get(
                        '/user/emails?per_page=100', token, optional=True
                    )
                )
                if convert.may_read(creds.scopes, convert.EMAIL_SCOPES)
                else None
            )
            orgs = (
                group.create_task(
                    client.get_all('/user/orgs', token, optional=True)
                )
                if options.include_organizations
                and convert.may_read(creds.scopes, convert.ORG_SCOPES)
                else None
            )
    except ExceptionGroup as failed:
        # The first failure is the answer; the group wrapper is noise to
        # the host's error mapping.
        raise failed.exceptions[0] from None
    return convert.build_profile(
        user.result(),
        emails.result() if emails else None,
        orgs.result() if orgs else None,
    )


async def _call[T](
    options: plugin_options.Options,
    client_id: str,
    client_secret: str,
    work: collections.abc.Callable[
        [GitHubClient], collections.abc.Awaitable[T]
    ],
) -> T:
    """Run ``work`` with a fresh client inside the call's budget."""
    from imbi_plugin_github_identity.client import GitHubClient

    budget = options.timeout_seconds
    try:
        async with asyncio.timeout(budget):
            async with GitHubClient(
                options, client_id, client_secret, time.monotonic() + budget
            ) as client:
                return await work(client)
    except TimeoutError:
        raise PluginTimeoutError(
            f'GitHub call exceeded its {budget} s budget'
        ) from None
