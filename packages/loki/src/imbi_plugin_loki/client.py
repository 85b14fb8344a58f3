"""Loki's HTTP API over httpx: timeouts, retries and error mapping.

Imported lazily by the plugin (httpx is not loaded until a call).
"""

import asyncio
import email.utils
import logging
import random
import time
import types
import typing

import httpx

from imbi_plugin_loki import _host
from imbi_plugin_loki._host import (
    PluginAuthenticationFailed,
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_loki.options import Options

LOGGER = logging.getLogger(__name__)

USER_AGENT = 'imbi-plugin-loki/0.1.0'
MAX_RETRIES = 2
#: The largest answer read (query_range can legitimately be large: Loki
#: allows 5,000 entries of 256 KiB lines by default, far more than a host
#: page needs). Beyond it the call fails instead of holding the body.
MAX_RESPONSE_BYTES = 64 * 2**20
_RETRY_STATUSES = frozenset({429, 500, 502, 503})
#: When a 429 names no Retry-After: how long v3 hosts' queues back off
#: (the same pause imbi-api asks for after a plugin timeout).
RATE_LIMIT_PAUSE_SECONDS = 5.0
_REASON_CHARS = 300


def _reason(response: httpx.Response) -> str:
    text = ' '.join(response.text.split())
    return text[:_REASON_CHARS] or response.reason_phrase


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get('retry-after')
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except TypeError, ValueError:
        return None
    return max(float(when.timestamp()) - time.time(), 0.0)


def _backoff(attempt: int) -> float:
    # Jitter spreads the retries of parallel environment searches.
    return 0.2 * 2.0**attempt + random.uniform(0, 0.1)  # noqa: S311


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
                    f'Loki answered {method} {request.url.path} with '
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


class LokiClient:
    """One call's HTTP session against one Loki (or gateway)."""

    def __init__(
        self, options: Options, authorization: str | None, deadline: float
    ) -> None:
        headers = {'Accept': 'application/json', 'User-Agent': USER_AGENT}
        if options.tenant:
            headers['X-Scope-OrgID'] = options.tenant
        if authorization:
            headers['Authorization'] = authorization
        self._deadline = deadline
        self._http = httpx.AsyncClient(
            base_url=options.url,
            headers=headers,
            verify=options.verify_tls,
            timeout=httpx.Timeout(float(options.timeout_seconds)),
            follow_redirects=False,
        )

    async def __aenter__(self) -> LokiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        await self._http.aclose()

    def _remaining(self) -> float:
        return self._deadline - asyncio.get_running_loop().time()

    async def get(self, path: str, params: dict[str, str]) -> typing.Any:
        """GET an API path; the ``data`` member of a success answer."""
        for attempt in range(MAX_RETRIES + 1):
            try:
                response = await read_capped(
                    self._http, 'GET', path, params=params
                )
            except httpx.TimeoutException:
                raise PluginTimeoutError(
                    f'Loki did not answer {path} in time'
                ) from None
            except httpx.TransportError as exc:
                if attempt < MAX_RETRIES and await self._pause(
                    _backoff(attempt)
                ):
                    continue
                raise PluginUnavailableError(
                    f'cannot reach Loki ({type(exc).__name__}: {exc})'
                ) from None
            if response.status_code in _RETRY_STATUSES:
                delay = _retry_after(response)
                if attempt < MAX_RETRIES and await self._pause(
                    _backoff(attempt) if delay is None else delay
                ):
                    continue
                raise self._retries_exhausted(response, delay)
            return self._data(path, response)
        raise AssertionError('unreachable')  # pragma: no cover

    async def _pause(self, delay: float) -> bool:
        """Sleep before a retry if the budget allows it."""
        if delay >= self._remaining():
            return False
        LOGGER.debug('retrying a Loki request in %.2fs', delay)
        await asyncio.sleep(delay)
        return True

    @staticmethod
    def _retries_exhausted(
        response: httpx.Response, delay: float | None
    ) -> Exception:
        if response.status_code == 429:
            when = f'in {delay:.0f}s' if delay is not None else 'later'
            pause = RATE_LIMIT_PAUSE_SECONDS if delay is None else delay
            return _host.rate_limited(
                time.time() + pause,
                f'Loki is rate limiting requests (HTTP 429: '
                f'{_reason(response)}); retry {when}',
            )
        return PluginUnavailableError(
            f'Loki is unavailable (HTTP {response.status_code}: '
            f'{_reason(response)})'
        )

    @staticmethod
    def _data(path: str, response: httpx.Response) -> typing.Any:
        status = response.status_code
        if status == 200:
            try:
                body = response.json()
            except ValueError, RecursionError:
                body = None
            if not isinstance(body, dict) or body.get('status') != 'success':
                raise PluginUnavailableError(
                    f'Loki answered {path} with a body that is not a '
                    'success JSON document'
                )
            return body.get('data')
        reason = _reason(response)
        if status == 400:
            raise ValueError(f'Loki rejected the query: {reason}')
        if status == 401 and 'no org id' in reason.lower():
            raise ValueError(
                'Loki requires a tenant: set the plugin option `tenant` '
                '(sent as X-Scope-OrgID)'
            )
        if status in (401, 403):
            raise PluginAuthenticationFailed(
                f'Loki refused the credentials (HTTP {status}: {reason})'
            )
        if status == 504:
            raise PluginTimeoutError(f'Loki timed out (HTTP 504: {reason})')
        raise PluginUnavailableError(
            f'Loki answered {path} with HTTP {status}: {reason}'
        )
