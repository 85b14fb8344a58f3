"""GitHub REST and GraphQL over httpx: budget, retries, error mapping.

One :class:`GitHub` per plugin call. Every request is bounded by what is
left of the call's budget; reads are retried (at most twice, jittered) on
5xx answers and dropped connections; any request is retried after a rate
limit answer when the wait fits the budget. Errors map to the host's
error policy:

- 401 -> ``PluginAuthenticationFailed``;
- 403 / 429 with rate-limit signs -> wait and retry, else
  ``PluginRateLimited(retry_at)`` where the host has it (v3 hosts keep
  the job queued until then), ``PluginUnavailableError`` saying when to
  retry on v1;
- other 403 -> ``PluginAuthenticationFailed`` naming the permission
  GitHub asks for, when it says;
- 404 -> ``ValueError`` (repository not found or no access), unless the
  caller handles it; a 404 without GitHub's JSON ``message`` is not
  GitHub (a mistyped ``api_url``, a proxy): ``PluginUnavailableError``;
- 400 / 409 / 422 -> ``ValueError`` with GitHub's message, unless the
  caller handles it;
- 5xx, connection errors, malformed bodies -> ``PluginUnavailableError``;
- the budget or a request timeout -> ``PluginTimeoutError``.
"""

import asyncio
import collections.abc
import contextlib
import logging
import math
import random
import time
import typing

import httpx
import pydantic

from imbi_plugin_github_actions import _host
from imbi_plugin_github_actions._host import (
    PluginAuthenticationFailed,
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_github_actions.options import Options

LOGGER = logging.getLogger('imbi_plugin_github_actions')

API_VERSION = '2022-11-28'
REQUEST_TIMEOUT_SECONDS = 10.0
MAX_RETRIES = 2
#: The largest answer read: a page of 100 workflow runs (each with two
#: repository objects) is 1-2 MiB; a compare of 250 commits with files
#: a few MiB.
MAX_RESPONSE_BYTES = 16 * 2**20
#: GitHub's advice when a secondary limit gives no Retry-After.
SECONDARY_WAIT_SECONDS = 60.0
PER_PAGE = 100
#: Pages read per list at most (so 1,000 items at 100 a page).
MAX_PAGES = 10
_MESSAGE_CHARS = 300
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_USER_AGENT = 'imbi-plugin-github-actions'
#: GraphQL failures that leave the REST answer usable (401 still raises).
_GRAPHQL_SOFT = frozenset(range(300, 600)) - {401}


@contextlib.asynccontextmanager
async def budget(seconds: float) -> collections.abc.AsyncIterator[None]:
    """Bound a whole call; ``PluginTimeoutError`` when it runs out."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise PluginTimeoutError(
            f'GitHub call did not finish within {seconds:g} s'
        ) from None


def parse[M: pydantic.BaseModel](model: type[M], data: typing.Any) -> M:
    """Validate an upstream body; unexpected shapes are an outage."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise PluginUnavailableError(
            f'GitHub answered an unexpected {model.__name__} '
            f'({exc.error_count()} problem(s))'
        ) from None


def message_of(response: httpx.Response) -> str:
    """GitHub's ``message`` (or the start of the body), one line."""
    try:
        body = response.json()
    except ValueError, RecursionError:
        body = None
    text = ''
    if isinstance(body, dict) and isinstance(body.get('message'), str):
        text = body['message']
    elif response.text:
        text = response.text
    text = ' '.join(text.split())
    return text[:_MESSAGE_CHARS] or response.reason_phrase


def from_github(response: httpx.Response) -> bool:
    """Whether an error answer has GitHub's shape (a JSON ``message``)."""
    try:
        body = response.json()
    except ValueError, RecursionError:
        # A body nested too deep to decode is no upstream of ours.
        return False
    return isinstance(body, dict) and isinstance(body.get('message'), str)


def already_exists(response: httpx.Response) -> bool:
    """A 422 saying the object exists (errors[].code or the message)."""
    if response.status_code != 422:
        return False
    try:
        body = response.json()
    except ValueError, RecursionError:
        return False
    if not isinstance(body, dict):
        return False
    errors = body.get('errors')
    if isinstance(errors, list) and any(
        isinstance(e, dict) and e.get('code') == 'already_exists'
        for e in errors
    ):
        return True
    return 'already exists' in str(body.get('message', '')).lower()


def _scopes(header: str | None) -> set[str]:
    return {s.strip() for s in (header or '').split(',') if s.strip()}


def rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds to wait when ``response`` is a rate-limit answer."""
    if response.status_code not in (403, 429):
        return None
    headers = response.headers
    retry_after = headers.get('retry-after', '').strip()
    if retry_after.isascii() and retry_after.isdigit():
        return float(retry_after)
    if headers.get('x-ratelimit-remaining') == '0':
        try:
            reset = float(headers.get('x-ratelimit-reset', ''))
        except ValueError:
            return SECONDARY_WAIT_SECONDS
        return max(reset - time.time(), 0.0) + 1.0
    if 'rate limit' in message_of(response).lower():
        return SECONDARY_WAIT_SECONDS
    if response.status_code == 429:
        return SECONDARY_WAIT_SECONDS
    return None


def same_origin(url: str, api_url: str) -> bool:
    """Whether ``url`` has the scheme, host and port of ``api_url``.

    The token goes wherever a next-page link points: the host name alone
    would let an https API send it to http, or to another port.
    """
    try:
        target, api = httpx.URL(url), httpx.URL(api_url)
    except httpx.InvalidURL:
        return False
    return (target.scheme, target.host, target.port) == (
        api.scheme,
        api.host,
        api.port,
    )


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


class GitHub:
    """An authenticated session with one repository's GitHub."""

    def __init__(
        self, options: Options, token: str | None, owner: str, name: str
    ) -> None:
        self.options = options
        self.owner = owner
        self.name = name
        self.started = time.monotonic()
        self.deadline = self.started + options.timeout_seconds
        self._http = httpx.AsyncClient(
            base_url=options.api_url,
            headers={
                'Accept': 'application/vnd.github+json',
                'X-GitHub-Api-Version': API_VERSION,
                'User-Agent': _USER_AGENT,
            },
            follow_redirects=True,
        )
        if token is not None:
            self.authorize(token)

    def authorize(self, token: str) -> None:
        """Send ``token`` with every request from now on (a GitHub App's
        installation token is known only once the session is open)."""
        self._http.headers['Authorization'] = f'Bearer {token}'

    async def __aenter__(self) -> GitHub:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    @property
    def full_name(self) -> str:
        return f'{self.owner}/{self.name}'

    def repo_path(self, path: str = '') -> str:
        return f'/repos/{self.owner}/{self.name}{path}'

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def reserve(self) -> float:
        """Time kept back to answer after an optional step gives up."""
        return min(1.0, self.options.timeout_seconds * 0.2)

    # -- requests ----------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        json: typing.Any = None,
        handle: collections.abc.Container[int] = (),
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request; 2xx and statuses in ``handle`` are returned.

        ``headers`` override the session's (a GitHub App's JWT in place
        of the token).
        """
        retries = 0
        while True:
            response = await self._send(method, path, params, json, headers)
            retryable = response is None
            if response is not None:
                status = response.status_code
                if status == 404 and not from_github(response):
                    # A mistyped api_url or a proxy's page: not "no such
                    # repository", which would send the operator astray.
                    raise PluginUnavailableError(
                        f'{self.options.api_url} answered {method} {path} '
                        "with a 404 that is not GitHub's (no JSON message): "
                        'check api_url'
                    )
                if 200 <= status < 300 or status in handle:
                    return response
                wait = rate_limit_wait(response)
                if wait is not None:
                    if retries < MAX_RETRIES and self._fits(wait):
                        retries += 1
                        LOGGER.info(
                            'GitHub rate limit on %s %s; retrying in %.1f s',
                            method,
                            path,
                            wait,
                        )
                        await asyncio.sleep(wait)
                        continue
                    raise _host.rate_limited(
                        time.time() + wait,
                        f'GitHub rate limit reached ({message_of(response)}); '
                        f'retry after {math.ceil(wait)} s',
                    )
                retryable = status in _RETRY_STATUSES
            if method == 'GET' and retryable and retries < MAX_RETRIES:
                backoff = 0.2 * 2**retries + random.uniform(0, 0.2)  # noqa: S311
                if self._fits(backoff):
                    retries += 1
                    await asyncio.sleep(backoff)
                    continue
            if response is None:
                raise PluginUnavailableError(
                    f'GitHub at {self.options.api_url} is unreachable'
                )
            raise self.error(response)

    def _fits(self, wait: float) -> bool:
        """Whether waiting ``wait`` s still leaves time for a request."""
        return wait + 0.5 < self.remaining()

    async def _send(
        self,
        method: str,
        path: str,
        params: dict[str, str | int] | None,
        body: typing.Any,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        """The answer, or None when the connection failed."""
        left = self.remaining()
        if left <= 0:
            raise PluginTimeoutError(
                f'GitHub call did not finish within '
                f'{self.options.timeout_seconds} s'
            )
        try:
            return await read_capped(
                self._http,
                method,
                path,
                params=params,
                json=body,
                headers=headers,
                timeout=min(REQUEST_TIMEOUT_SECONDS, left),
            )
        except httpx.TimeoutException:
            raise PluginTimeoutError(
                f'GitHub did not answer {method} {path} in time'
            ) from None
        except httpx.TransportError as exc:
            LOGGER.warning(
                'GitHub %s %s failed: %s', method, path, type(exc).__name__
            )
            return None
        except httpx.HTTPError as exc:
            # A body that does not decode, a redirect loop: the answer is
            # unusable, and httpx's own exceptions must not escape.
            raise PluginUnavailableError(
                f'GitHub answered {method} {path} with an unusable '
                f'response ({type(exc).__name__})'
            ) from None

    def error(self, response: httpx.Response) -> Exception:
        """The policy's exception for an error answer."""
        status = response.status_code
        message = message_of(response)
        if status == 401:
            return PluginAuthenticationFailed(
                f'GitHub rejected the token: {message}'
            )
        if status == 403:
            needs = response.headers.get('x-accepted-github-permissions')
            accepted = _scopes(response.headers.get('x-accepted-oauth-scopes'))
            granted = _scopes(response.headers.get('x-oauth-scopes'))
            hint = ''
            if needs:
                hint = f' (needs permission {needs})'
            elif accepted and not accepted & granted:
                hint = f' (needs scope {" or ".join(sorted(accepted))})'
            return PluginAuthenticationFailed(
                f'GitHub denied access to {self.full_name}: {message}{hint}'
            )
        if status == 404:
            return ValueError(
                f'repository {self.full_name} not found or the token has no '
                f'access to it ({message})'
            )
        if status in (400, 409, 422):
            return ValueError(f'GitHub rejected the request: {message}')
        return PluginUnavailableError(f'GitHub answered {status}: {message}')

    async def get(
        self,
        path: str,
        params: dict[str, str | int] | None = None,
        handle: collections.abc.Container[int] = (),
    ) -> httpx.Response:
        return await self.request('GET', path, params=params, handle=handle)

    @staticmethod
    def body(response: httpx.Response) -> typing.Any:
        try:
            return response.json()
        except ValueError, RecursionError:
            raise PluginUnavailableError(
                f'GitHub answered {response.status_code} with a body that is '
                'not JSON'
            ) from None

    async def pages(
        self,
        path: str,
        params: dict[str, str | int] | None = None,
        key: str | None = None,
        max_pages: int = MAX_PAGES,
    ) -> list[typing.Any]:
        """Items of every page (Link rel=next), at most ``max_pages``."""
        items: list[typing.Any] = []
        response = await self.get(
            path, {**(params or {}), 'per_page': PER_PAGE}
        )
        page = 1
        while True:
            body = self.body(response)
            chunk = body.get(key) if key and isinstance(body, dict) else body
            if not isinstance(chunk, list):
                raise PluginUnavailableError(
                    f'GitHub answered {path} with an unexpected list shape'
                )
            items.extend(chunk)
            following = response.links.get('next', {}).get('url')
            if not following:
                return items
            if page >= max_pages:
                LOGGER.warning(
                    'GitHub list %s truncated at %d items (%d pages); '
                    'GitHub has more',
                    path,
                    len(items),
                    page,
                )
                return items
            if not same_origin(following, self.options.api_url):
                raise PluginUnavailableError(
                    'GitHub sent a next-page link to another host, scheme '
                    'or port'
                )
            response = await self.get(following)
            page += 1

    async def graphql(
        self, query: str, variables: dict[str, typing.Any]
    ) -> dict[str, typing.Any] | None:
        """``data`` of a GraphQL answer; None when GraphQL is unavailable.

        Partial answers (``data`` with ``errors``) are returned as far as
        they go; a 401 still raises, as it would for any REST call. The
        query gets what is left of the budget but :attr:`reserve`, so a
        GraphQL that does not answer leaves time to return the REST data.
        """
        left = self.remaining() - self.reserve
        if left <= 0:
            LOGGER.warning('GitHub GraphQL skipped: no time left')
            return None
        try:
            async with asyncio.timeout(left):
                response = await self.request(
                    'POST',
                    self.options.graphql_url,
                    json={'query': query, 'variables': variables},
                    handle=_GRAPHQL_SOFT,
                )
        except (TimeoutError, PluginTimeoutError) as exc:
            LOGGER.warning(
                'GitHub GraphQL did not answer in time (%s)',
                type(exc).__name__,
            )
            return None
        except PluginUnavailableError as exc:
            LOGGER.warning('GitHub GraphQL unavailable: %s', exc)
            return None
        if response.status_code >= 300:
            LOGGER.warning(
                'GitHub GraphQL answered %s: %s',
                response.status_code,
                message_of(response),
            )
            return None
        try:
            body = response.json()
        except ValueError, RecursionError:
            LOGGER.warning('GitHub GraphQL answered a body that is not JSON')
            return None
        data = body.get('data') if isinstance(body, dict) else None
        if not isinstance(data, dict):
            LOGGER.warning('GitHub GraphQL answered no data')
            return None
        return data
