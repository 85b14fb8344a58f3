"""The GitHub REST calls of the archiver, with GitHub's rules applied.

- Redirects (301 for reads, 307 for writes to renamed or transferred
  repositories) are followed by hand, at most five, repeating the
  request verbatim as GitHub documents (a transfer must never turn into
  a GET), and only on the api_url's origin, so the token never travels
  to another host.
- 401 raises ``PluginAuthenticationFailed``; rate limits (403/429 with
  ``x-ratelimit-remaining: 0``, or "secondary rate limit") are waited
  out when the wait fits the budget, twice at most, else
  ``PluginRateLimited`` (``PluginUnavailableError`` on v1 hosts) says
  when to retry; 5xx and connection errors are retried (reads and
  idempotent writes only) with jittered backoff, then
  ``PluginUnavailableError``; timeouts ``PluginTimeoutError``. Other
  4xx raise :class:`GitHubRefused`.
- Every request's timeout is what remains of the call's budget.
"""

import asyncio
import dataclasses
import datetime
import random
import time
import typing
import urllib.parse

import httpx

from imbi_plugin_archiver import _host
from imbi_plugin_archiver._host import (
    PluginAuthenticationFailed,
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_archiver.errors import GitHubRefused, NotFound
from imbi_plugin_archiver.options import NAME

API_VERSION = '2022-11-28'
USER_AGENT = 'imbi-plugin-archiver/0.1.0'
MAX_REDIRECTS = 5
MAX_RETRIES = 2
#: The largest answer read: one repository object (parent and source
#: included) is tens of KiB.
MAX_RESPONSE_BYTES = 2 * 2**20
#: Seconds kept back from the budget so a result can still be built.
RESERVE_SECONDS = 0.2
_REDIRECTS = frozenset({301, 302, 307, 308})
_jitter = random.SystemRandom()


@dataclasses.dataclass(frozen=True)
class Repo:
    """The fields of GitHub's repository object the archiver reads."""

    id: int
    owner: str
    name: str
    html_url: str
    archived: bool

    @property
    def full_name(self) -> str:
        return f'{self.owner}/{self.name}'

    @classmethod
    def from_json(cls, body: typing.Any) -> Repo:
        try:
            repo = cls(
                id=body['id'],
                owner=body['owner']['login'],
                name=body['name'],
                html_url=body['html_url'],
                archived=body['archived'],
            )
        except KeyError as exc:
            raise PluginUnavailableError(
                'GitHub answered with an unexpected repository object '
                f'(missing {exc})'
            ) from None
        except TypeError:
            raise PluginUnavailableError(
                'GitHub answered with an unexpected repository object (not '
                'a JSON object)'
            ) from None
        if not (
            isinstance(repo.id, int)
            and isinstance(repo.owner, str)
            and isinstance(repo.name, str)
            and isinstance(repo.html_url, str)
            and isinstance(repo.archived, bool)
        ):
            raise PluginUnavailableError(
                'GitHub answered with an unexpected repository object'
            )
        return repo


def _from_github(response: httpx.Response) -> bool:
    """Whether an error answer has GitHub's shape (a JSON ``message``)."""
    try:
        body = response.json()
    except ValueError, RecursionError:
        # A body nested too deep to decode is no upstream of ours.
        return False
    return isinstance(body, dict) and isinstance(body.get('message'), str)


def _message(response: httpx.Response) -> str:
    """GitHub's ``message``, short, or the status line."""
    try:
        body = response.json()
    except ValueError, RecursionError:
        body = None
    parts: list[typing.Any] = []
    if isinstance(body, dict):
        parts.append(body.get('message'))
        errors = body.get('errors')
        if isinstance(errors, list):
            parts.extend(
                e.get('message') or e.get('code')
                for e in errors
                if isinstance(e, dict)
            )
    text = ': '.join(p.strip() for p in parts if isinstance(p, str) and p)
    if text:
        return ' '.join(text.split())[:300]
    return response.reason_phrase or f'HTTP {response.status_code}'


def _rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds to wait when ``response`` is a rate limit, else None."""
    if response.status_code not in (403, 429):
        return None
    headers = response.headers
    retry_after: float | None = None
    try:
        retry_after = float(headers.get('retry-after', ''))
    except ValueError:
        retry_after = None
    secondary = 'secondary rate limit' in _message(response).lower()
    if headers.get('x-ratelimit-remaining') == '0' and not secondary:
        if retry_after is not None:
            return retry_after
        try:
            reset = float(headers.get('x-ratelimit-reset', ''))
        except ValueError:
            return 60.0
        return max(reset - time.time(), 0.0) + 1.0
    if secondary or response.status_code == 429:
        # GitHub: without Retry-After wait at least a minute.
        return retry_after if retry_after is not None else 60.0
    return None


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
    """One call's GitHub session: token, API root and deadline."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        api_url: str,
        deadline: float,
        *,
        rejected: str = 'the token (401 {}): it is invalid, expired or '
        'revoked',
    ) -> None:
        self.http = http
        self.api_url = api_url
        self.deadline = deadline
        #: What a 401 says after "GitHub rejected"; ``{}`` is GitHub's
        #: message.
        self.rejected = rejected
        self._origin = _origin(api_url)

    @classmethod
    def client(cls, token: str) -> httpx.AsyncClient:
        """The HTTP client; the token travels in a header only."""
        return httpx.AsyncClient(
            headers={
                'Accept': 'application/vnd.github+json',
                'Authorization': f'Bearer {token}',
                'User-Agent': USER_AGENT,
                'X-GitHub-Api-Version': API_VERSION,
            },
            follow_redirects=False,
        )

    # -- time -------------------------------------------------------------

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _timeout(self) -> float:
        remaining = self.remaining() - RESERVE_SECONDS
        if remaining <= 0:
            raise PluginTimeoutError(
                'the time budget ran out before GitHub answered'
            )
        return remaining

    def _fits(self, wait: float) -> bool:
        return wait + RESERVE_SECONDS + 0.5 < self.remaining()

    # -- requests ---------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        body: dict[str, typing.Any] | None = None,
        *,
        retry: bool = True,
    ) -> typing.Any:
        """The JSON answer of a 2xx; GitHub's rules as in the docstring.

        ``retry`` allows repeating after a 5xx or connection error,
        which only reads and idempotent writes may.
        """
        answer, _ = await self.located(method, path, body, retry=retry)
        return answer

    async def located(
        self,
        method: str,
        path: str,
        body: dict[str, typing.Any] | None = None,
        *,
        retry: bool = True,
    ) -> tuple[typing.Any, str]:
        """:meth:`request`'s answer and the URL path that gave it: after
        a redirect, ``/repositories/{id}`` plus the rest of the path."""
        for attempt in range(MAX_RETRIES + 1):
            last = attempt == MAX_RETRIES
            try:
                response = await self._follow(method, path, body)
            except httpx.TimeoutException:
                raise PluginTimeoutError(
                    f'GitHub did not answer {method} {path} in time'
                ) from None
            except httpx.TransportError as exc:
                backoff = self._backoff(attempt)
                if retry and not last and self._fits(backoff):
                    await asyncio.sleep(backoff)
                    continue
                raise PluginUnavailableError(
                    f'GitHub at {self._origin} could not be reached '
                    f'({type(exc).__name__}); retry later'
                ) from None
            status = response.status_code
            if status == 401:
                raise PluginAuthenticationFailed(
                    'GitHub rejected '
                    + self.rejected.format(_message(response))
                )
            wait = _rate_limit_wait(response)
            if wait is not None:
                if not last and self._fits(wait):
                    await asyncio.sleep(wait)
                    continue
                raise _host.rate_limited(
                    time.time() + wait,
                    f'GitHub rate limit reached ({_message(response)}); '
                    f'retry after {_clock(wait)}',
                )
            if status >= 500:
                backoff = self._backoff(attempt)
                if retry and not last and self._fits(backoff):
                    await asyncio.sleep(backoff)
                    continue
                raise PluginUnavailableError(
                    f'GitHub answered {status} {_message(response)} to '
                    f'{method} {path}; retry later'
                )
            if status == 404:
                if not _from_github(response):
                    # A mistyped api_url or a proxy's page is not "the
                    # repository is gone", which would skip the archive.
                    raise PluginUnavailableError(
                        f'{self._origin} answered {method} {path} with a '
                        "404 that is not GitHub's (no JSON message): check "
                        'api_url'
                    )
                raise NotFound(status, _message(response))
            if status >= 300:
                raise GitHubRefused(status, _message(response))
            try:
                return response.json(), response.request.url.path
            except ValueError, RecursionError:
                raise PluginUnavailableError(
                    f'GitHub answered {status} to {method} {path} with a '
                    'body that is not JSON'
                ) from None
        raise AssertionError('unreachable')  # pragma: no cover

    @staticmethod
    def _backoff(attempt: int) -> float:
        return float(0.2 * 2**attempt * _jitter.uniform(0.5, 1.5))

    async def _follow(
        self, method: str, path: str, body: dict[str, typing.Any] | None
    ) -> httpx.Response:
        url = self.api_url + path
        for _ in range(MAX_REDIRECTS + 1):
            response = await read_capped(
                self.http, method, url, json=body, timeout=self._timeout()
            )
            location = response.headers.get('location')
            if response.status_code not in _REDIRECTS or not location:
                return response
            url = urllib.parse.urljoin(url, location)
            if _origin(url) != self._origin:
                raise PluginUnavailableError(
                    f'GitHub redirected {method} {path} to another host '
                    f'({_origin(url)}); not following it with the token'
                )
        raise PluginUnavailableError(
            f'GitHub redirected {method} {path} more than '
            f'{MAX_REDIRECTS} times'
        )

    # -- the calls --------------------------------------------------------

    async def repository(self, owner: str, name: str) -> Repo | None:
        """The repository (redirects followed), None when not found."""
        try:
            body = await self.request('GET', f'/repos/{owner}/{name}')
        except NotFound:
            return None
        return Repo.from_json(body)

    async def set_archived(self, repo: Repo, archived: bool) -> Repo:
        """PATCH ``archived``; safe to repeat, so retried like a read."""
        body = await self.request(
            'PATCH', f'/repos/{repo.full_name}', {'archived': archived}
        )
        return Repo.from_json(body)

    async def transfer(self, repo: Repo, new_owner: str) -> str:
        """Start moving ``repo`` to ``new_owner`` (GitHub answers 202);
        the name the repository will have there.

        GitHub's 202 carries the repository with its original owner and
        the name of the move; the name is read from it, the repository's
        own when the answer has none. Not retried after a 5xx or lost
        connection: the transfer may have started, and a second one
        would be refused.
        """
        body = await self.request(
            'POST',
            f'/repos/{repo.full_name}/transfer',
            {'new_owner': new_owner},
            retry=False,
        )
        # GitHub answers with the repository: anything else did not come
        # from GitHub, and no transfer was started.
        Repo.from_json(body)
        name = body.get('name') if isinstance(body, dict) else None
        if (
            isinstance(name, str)
            and NAME.match(name)
            and name not in ('.', '..')
        ):
            return name
        return repo.name

    async def wait_until_at(
        self, repo: Repo, owner: str, name: str | None = None
    ) -> Repo | None:
        """Poll until ``repo`` answers at ``owner``; None if out of time.

        A transfer completes asynchronously after its 202; until then
        the new address is a 404, or a redirect back to the old home
        when the repository lived there before.
        """
        interval = 0.1
        while True:
            found = await self.repository(owner, name or repo.name)
            if (
                found is not None
                and found.id == repo.id
                and found.owner.lower() == owner.lower()
            ):
                return found
            if not self._fits(interval + 0.5):
                return None
            await asyncio.sleep(interval)
            interval = min(interval * 2, 1.0)


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f'{parts.scheme}://{parts.netloc}'.lower()


def _clock(wait: float) -> str:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        seconds=wait
    )
    return when.strftime('%H:%M:%S UTC')
