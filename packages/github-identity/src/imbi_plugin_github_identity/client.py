"""HTTP calls to GitHub: budgets, retries, rate limits and error mapping.

Imported lazily by the plugin (it pulls in httpx). Every secret (the
client secret, codes, verifiers, tokens) travels in a request body or
header, never in a URL: httpx logs every request URL at INFO.
"""

import asyncio
import dataclasses
import logging
import random
import time
import typing
import urllib.parse

import httpx

from imbi_plugin_github_identity import _host
from imbi_plugin_github_identity._host import (
    PluginAuthenticationFailed,
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_github_identity.options import Options

LOGGER = logging.getLogger(__name__)

API_VERSION = '2022-11-28'
USER_AGENT = 'imbi-plugin-github-identity'
#: Cap of one request; the call's remaining budget may cut it shorter.
REQUEST_TIMEOUT_SECONDS = 5.0
#: Retries of one request (after 5xx/connection errors, or rate limits).
MAX_RETRIES = 2
#: The largest answer read: a token, the user, 100 e-mails or 100
#: organizations a page are a few hundred KiB at most.
MAX_RESPONSE_BYTES = 2 * 2**20
BACKOFF_SECONDS = 0.25
#: A secondary rate limit without Retry-After: GitHub asks for >= 60 s.
SECONDARY_DEFAULT_WAIT = 60.0
#: Time left after a rate-limit wait for the retried request itself.
WAIT_MARGIN_SECONDS = 0.5
MAX_ORG_PAGES = 10

#: What "GitHub did not do it" is raised as: on v3 hosts a rate limit
#: is PluginRateLimited, which is no PluginUnavailableError.
UNAVAILABLE: tuple[type[Exception], ...] = tuple(
    cls
    for cls in (PluginUnavailableError, _host.optional('PluginRateLimited'))
    if cls is not None
)
_CHECK_FAILED: tuple[type[Exception], ...] = (
    *UNAVAILABLE,
    PluginTimeoutError,
    TimeoutError,
)

#: Token endpoint errors caused by the caller's code or redirect_uri.
INPUT_ERRORS = frozenset(
    {'bad_verification_code', 'redirect_uri_mismatch', 'unverified_user_email'}
)
#: Token endpoint errors that mean the credential or grant is no good.
AUTH_ERRORS = frozenset({'incorrect_client_credentials', 'bad_refresh_token'})


@dataclasses.dataclass(frozen=True)
class RateLimit:
    kind: typing.Literal['primary', 'secondary']
    wait: float


def rate_limit(response: httpx.Response) -> RateLimit | None:
    """GitHub's primary or secondary rate-limit answer, per its docs."""
    if response.status_code not in (403, 429):
        return None
    message = _message(response).lower()
    retry_after = _number(response.headers.get('retry-after'))
    if 'secondary rate limit' in message or (
        retry_after is not None
        and response.headers.get('x-ratelimit-remaining') != '0'
    ):
        wait = SECONDARY_DEFAULT_WAIT if retry_after is None else retry_after
        return RateLimit('secondary', wait)
    if response.headers.get('x-ratelimit-remaining') == '0':
        reset = _number(response.headers.get('x-ratelimit-reset'))
        wait = SECONDARY_DEFAULT_WAIT if reset is None else reset - time.time()
        return RateLimit('primary', max(wait, 0.0))
    if response.status_code == 429:
        return RateLimit('secondary', SECONDARY_DEFAULT_WAIT)
    return None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _message(response: httpx.Response) -> str:
    """GitHub's ``message`` (REST) or ``error_description`` (OAuth)."""
    try:
        body = response.json()
    except ValueError, RecursionError:
        return ''
    if isinstance(body, dict):
        text = body.get('message') or body.get('error_description') or ''
        return str(text)
    return ''


async def read_capped(
    http: httpx.AsyncClient, method: str, url: str, **kwargs: typing.Any
) -> httpx.Response:
    """``http.request`` reading at most ``MAX_RESPONSE_BYTES`` of the body.

    The body is streamed and the read stops at the cap, so a hostile or
    broken upstream cannot make the host hold an unbounded answer.
    """
    auth = kwargs.pop('auth', httpx.USE_CLIENT_DEFAULT)
    request = http.build_request(method, url, **kwargs)
    streamed = await http.send(request, auth=auth, stream=True)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in streamed.aiter_bytes():
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise PluginUnavailableError(
                    f'GitHub answered {method} {request.url.path} with '
                    f'more than {MAX_RESPONSE_BYTES // 2**20} MiB, the cap '
                    'on one answer; not reading the rest'
                )
            chunks.append(chunk)
    finally:
        await streamed.aclose()
    # The body is decoded already: a Content-Encoding would decode twice.
    headers = [
        (k, v)
        for k, v in streamed.headers.multi_items()
        if k.lower() != 'content-encoding'
    ]
    return httpx.Response(
        streamed.status_code,
        headers=headers,
        content=b''.join(chunks),
        request=request,
        extensions={
            k: v
            for k, v in streamed.extensions.items()
            if k in ('http_version', 'reason_phrase')
        },
    )


class GitHubClient:
    """One call's worth of requests to one GitHub (github.com or GHES)."""

    def __init__(
        self,
        options: Options,
        client_id: str,
        client_secret: str,
        deadline: float,
    ) -> None:
        self.options = options
        self.client_id = client_id
        self._client_secret = client_secret
        self._deadline = deadline
        self._secrets = [client_secret]
        self._http = httpx.AsyncClient(
            headers={'User-Agent': USER_AGENT},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f'<GitHubClient {self.options.github_url}>'

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    def secret(self, *values: str | None) -> None:
        """Values to scrub from any upstream text put into an error."""
        self._secrets.extend(v for v in values if v)

    # -- OAuth (web host) ----------------------------------------------------

    async def exchange_code(
        self, code: str, redirect_uri: str, code_verifier: str | None
    ) -> dict[str, typing.Any]:
        """The token answer for an authorization code."""
        self.secret(code, code_verifier)
        form = {'code': code, 'redirect_uri': redirect_uri}
        if code_verifier:
            form['code_verifier'] = code_verifier
        return await self._token(form, 'exchange the code')

    async def refresh(self, refresh_token: str) -> dict[str, typing.Any]:
        """The token answer for a refresh token (the old pair dies)."""
        self.secret(refresh_token)
        return await self._token(
            {'grant_type': 'refresh_token', 'refresh_token': refresh_token},
            'refresh the token',
        )

    async def _token(
        self, form: dict[str, str], what: str
    ) -> dict[str, typing.Any]:
        form = {
            'client_id': self.client_id,
            'client_secret': self._client_secret,
            **form,
        }
        # Not retried after a 5xx or a lost connection: GitHub may have
        # spent the code or rotated the refresh token already.
        response = await self._send(
            'POST',
            f'{self.options.github_url}/login/oauth/access_token',
            retry=False,
            data=form,
            headers={'Accept': 'application/json'},
        )
        if response.status_code != 200:
            raise PluginUnavailableError(
                f'GitHub answered HTTP {response.status_code} to {what} at '
                f'{self.options.github_url} (check github_url)'
            )
        body = self._json(response)
        if not isinstance(body, dict):
            raise PluginUnavailableError(
                f'GitHub answered an unexpected body to {what}'
            )
        error = body.get('error')
        if error is not None:
            raise self._oauth_error(str(error), body, what)
        token = body.get('access_token')
        if not isinstance(token, str) or not token:
            raise PluginUnavailableError(
                f'GitHub answered no access_token to {what}'
            )
        self.secret(token, body.get('refresh_token'))
        return body

    def _oauth_error(
        self, error: str, body: dict[str, typing.Any], what: str
    ) -> Exception:
        description = self._scrub(str(body.get('error_description') or ''))
        text = f'GitHub refused to {what}: {description or error} ({error})'
        if error in INPUT_ERRORS:
            return ValueError(text)
        if error in AUTH_ERRORS:
            return PluginAuthenticationFailed(text)
        return PluginUnavailableError(text)

    # -- REST ----------------------------------------------------------------

    async def get(
        self, path: str, token: str, *, optional: bool = False
    ) -> typing.Any:
        """GET a REST resource; None when ``optional`` and not allowed."""
        response = await self._rest_get(self.options.api_url + path, token)
        return self._rest_result(response, path, optional)

    async def get_all(
        self, path: str, token: str, *, optional: bool = False
    ) -> list[typing.Any] | None:
        """Every page of a REST list (Link rel="next" on the API host)."""
        url: str | None = f'{self.options.api_url}{path}?per_page=100'
        items: list[typing.Any] = []
        for _ in range(MAX_ORG_PAGES):
            if url is None:
                break
            response = await self._rest_get(url, token)
            page = self._rest_result(response, path, optional)
            if page is None:
                return None
            if not isinstance(page, list):
                raise PluginUnavailableError(
                    f'GitHub answered an unexpected body for {path}'
                )
            items.extend(page)
            url = self._next_page(response)
        return items

    def _next_page(self, response: httpx.Response) -> str | None:
        """The next page, only on the API host: it gets the token."""
        link = response.links.get('next', {}).get('url')
        if not link:
            return None
        api = urllib.parse.urlsplit(self.options.api_url)
        target = urllib.parse.urlsplit(link)
        if (target.scheme, target.netloc) != (api.scheme, api.netloc):
            return None
        return str(link)

    async def _rest_get(self, url: str, token: str) -> httpx.Response:
        return await self._send(
            'GET', url, retry=True, headers=self._rest_headers(token)
        )

    def _rest_result(
        self, response: httpx.Response, path: str, optional: bool
    ) -> typing.Any:
        status = response.status_code
        if status == 200:
            return self._json(response)
        message = self._scrub(_message(response)) or f'HTTP {status}'
        if optional and status in (403, 404):
            LOGGER.debug('GitHub does not allow %s: %s', path, message)
            return None
        if status in (401, 403):
            raise PluginAuthenticationFailed(
                f'GitHub refused {path}: {message} (HTTP {status})'
            )
        raise PluginUnavailableError(
            f'GitHub answered HTTP {status} for {path}: {message}'
        )

    def _rest_headers(self, token: str) -> dict[str, str]:
        self.secret(token)
        return {
            'Accept': 'application/vnd.github+json',
            'Authorization': f'Bearer {token}',
            'X-GitHub-Api-Version': API_VERSION,
        }

    async def revoke(self, token: str) -> None:
        """Delete one token; an already invalid token is fine.

        GitHub answers 404 both for a token it does not know and for a
        wrong client_id or client_secret: the token itself then tells
        (GET /user answers 401 once it is gone). Whenever the token may
        still work, a WARNING says so (never with the token or secret).
        """
        self.secret(token)
        client_id = urllib.parse.quote(self.client_id, safe='')
        response = await self._send(
            'DELETE',
            f'{self.options.api_url}/applications/{client_id}/token',
            retry=True,
            auth=httpx.BasicAuth(self.client_id, self._client_secret),
            json={'access_token': token},
            headers={
                'Accept': 'application/vnd.github+json',
                'X-GitHub-Api-Version': API_VERSION,
            },
        )
        status = response.status_code
        if status == 204:
            return
        message = self._scrub(_message(response)) or f'HTTP {status}'
        if status == 422:
            LOGGER.debug('GitHub token already invalid: %s', message)
            return
        if status == 404:
            if await self._token_is_dead(token):
                LOGGER.debug('GitHub token already invalid: %s', message)
                return
            LOGGER.warning(
                'Revoking a GitHub token failed: GitHub answered HTTP 404 '
                '(%s) and the token may still work; check the client_id or '
                'client_secret of the OAuth app',
                message,
            )
            return
        LOGGER.warning(
            'Revoking a GitHub token failed: HTTP %s %s', status, message
        )

    async def _token_is_dead(self, token: str) -> bool:
        """True when GitHub no longer accepts ``token`` (401 on /user).

        GitHub has answered the revoke: a check that cannot finish ends
        a little before the call's budget, so the WARNING is still
        logged instead of the host's timeout.
        """
        try:
            # Already past (no time left): times out at once.
            async with asyncio.timeout(self.remaining() - WAIT_MARGIN_SECONDS):
                response = await self._rest_get(
                    f'{self.options.api_url}/user', token
                )
        except _CHECK_FAILED:
            return False
        return response.status_code == 401

    # -- plumbing ------------------------------------------------------------

    def remaining(self) -> float:
        return self._deadline - time.monotonic()

    async def _send(
        self,
        method: str,
        url: str,
        *,
        retry: bool,
        **kwargs: typing.Any,
    ) -> httpx.Response:
        """One request, retried per the error policy within the budget."""
        failures = 0
        limited = 0
        while True:
            timeout = min(REQUEST_TIMEOUT_SECONDS, self.remaining())
            if timeout <= 0:
                raise PluginTimeoutError('GitHub call ran out of budget')
            try:
                response = await read_capped(
                    self._http, method, url, timeout=timeout, **kwargs
                )
            except httpx.TimeoutException:
                raise PluginTimeoutError(
                    f'GitHub did not answer {method} {_path(url)} in time'
                ) from None
            except httpx.TransportError as exc:
                if retry and await self._backoff(failures):
                    failures += 1
                    continue
                raise PluginUnavailableError(
                    f'cannot reach GitHub for {method} {_path(url)}: '
                    f'{type(exc).__name__}'
                ) from None
            limit = rate_limit(response)
            if limit is not None:
                if limited < MAX_RETRIES and await self._wait(limit.wait):
                    limited += 1
                    continue
                retry_at = time.time() + limit.wait
                when = time.strftime(
                    '%Y-%m-%dT%H:%M:%SZ', time.gmtime(retry_at)
                )
                # PluginRateLimited on v3 hosts (their queues back off
                # until retry_at), PluginUnavailableError on v1.
                raise _host.rate_limited(
                    retry_at,
                    f'GitHub {limit.kind} rate limit exceeded; retry after '
                    f'{when} ({limit.wait:.0f} s)',
                )
            if response.status_code >= 500:
                if retry and await self._backoff(failures):
                    failures += 1
                    continue
                raise PluginUnavailableError(
                    f'GitHub answered HTTP {response.status_code} for '
                    f'{method} {_path(url)}'
                )
            return response

    async def _backoff(self, failures: int) -> bool:
        """Sleep before retry ``failures + 1``; False when none is left."""
        if failures >= MAX_RETRIES:
            return False
        # Jitter spreads retries of many callers; it is not security.
        jitter = 0.5 + random.random()  # noqa: S311
        return await self._wait(BACKOFF_SECONDS * 2**failures * jitter)

    async def _wait(self, seconds: float) -> bool:
        """Sleep if the budget allows the wait and one more request."""
        if seconds + WAIT_MARGIN_SECONDS > self.remaining():
            return False
        await asyncio.sleep(seconds)
        return True

    def _json(self, response: httpx.Response) -> typing.Any:
        try:
            return response.json()
        except ValueError, RecursionError:
            raise PluginUnavailableError(
                f'GitHub answered a malformed body (HTTP '
                f'{response.status_code}) for {_path(str(response.url))}'
            ) from None

    def _scrub(self, text: str) -> str:
        for value in self._secrets:
            text = text.replace(value, '***')
        return text


def _path(url: str) -> str:
    return urllib.parse.urlsplit(url).path
