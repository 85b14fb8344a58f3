"""Calls to SonarQube and the Imbi API, with timeouts, retries and errors.

One ``httpx.AsyncClient`` per action. Each upstream's credential rides
in a header of that upstream's requests only. Reads are retried once
after a 5xx, a 429 or a connection failure when the retry fits the
budget. The Imbi PATCH is retried once after a 429 only (Retry-After
honoured, within the budget): a 429 says the write was not applied, so
repeating it is safe, whereas after a 5xx or a dropped connection it may
have been.
"""

import asyncio
import collections.abc
import contextlib
import math
import random
import time
import typing
import urllib.parse

import httpx

from imbi_plugin_sonarqube_sync import _host
from imbi_plugin_sonarqube_sync._host import (
    PluginAuthenticationFailed,
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_sonarqube_sync.values import Measure

if typing.TYPE_CHECKING:
    from imbi_plugin_sonarqube_sync.options import Options, Secrets

#: No single request waits longer than this, whatever the budget.
REQUEST_TIMEOUT_CAP = 10.0
#: Attempts of one request, the first included (one retry).
ATTEMPTS = 2
#: The largest answer read from SonarQube or Imbi: a component's
#: measures with their metric definitions are tens of KiB.
MAX_RESPONSE_BYTES = 2 * 2**20
#: What a request may be retried after: ``read`` any transient failure
#: (5xx, 429, connection), ``write`` only a 429.
RetryOn = typing.Literal['read', 'write']
#: When to try again after a 429 that names no Retry-After.
RATE_LIMIT_WAIT = 60.0
_BACKOFF = (0.05, 0.25)
_MESSAGE_LIMIT = 300
_METRICS_NOT_FOUND = 'The following metric keys are not found:'


async def read_capped(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    upstream: str,
    **kwargs: typing.Any,
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
                    f'{upstream} answered {method} {request.url.path} with '
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


class Upstreams:
    """SonarQube reads and the Imbi write of one action."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        options: Options,
        secrets: Secrets,
        deadline: float,
    ) -> None:
        self._http = http
        self._options = options
        self._secrets = secrets
        self._deadline = deadline

    # -- SonarQube ----------------------------------------------------------

    async def measures(
        self, key: str, metric_keys: list[str], branch: str | None
    ) -> list[Measure]:
        """One ``/api/measures/component`` read, with metric types."""
        params = {
            'component': key,
            'metricKeys': ','.join(metric_keys),
            'additionalFields': 'metrics',
        }
        if branch is not None:
            params['branch'] = branch
        body = await self._sonarqube('/api/measures/component', params)
        component = body.get('component')
        raw_measures = (
            component.get('measures')
            if isinstance(component, collections.abc.Mapping)
            else None
        )
        if not isinstance(raw_measures, list):
            raise PluginUnavailableError(
                'SonarQube answered /api/measures/component without '
                'component.measures'
            )
        types = {
            m['key']: m.get('type')
            for m in body.get('metrics') or []
            if isinstance(m, collections.abc.Mapping) and 'key' in m
        }
        measures = []
        for item in raw_measures:
            if not isinstance(item, collections.abc.Mapping):
                continue
            metric = item.get('metric')
            raw = _measure_value(item)
            if isinstance(metric, str) and raw is not None:
                measures.append(Measure(metric, raw, types.get(metric)))
        return measures

    async def gate_status(self, key: str, branch: str | None) -> str:
        """The quality gate status (OK, WARN, ERROR or NONE)."""
        params = {'projectKey': key}
        if branch is not None:
            params['branch'] = branch
        body = await self._sonarqube(
            '/api/qualitygates/project_status', params
        )
        status = (body.get('projectStatus') or {}).get('status')
        if not isinstance(status, str):
            raise PluginUnavailableError(
                'SonarQube answered /api/qualitygates/project_status '
                'without projectStatus.status'
            )
        return status

    async def _sonarqube(
        self, path: str, params: dict[str, str]
    ) -> collections.abc.Mapping[str, typing.Any]:
        token = self._secrets.api_token
        headers = {'Accept': 'application/json'}
        auth: httpx.Auth | None = None
        if self._options.sonarqube_auth == 'bearer':
            headers['Authorization'] = f'Bearer {token}'
        else:
            # SonarQube 9.9 and older: the token is the login, no password.
            auth = httpx.BasicAuth(token, '')
        response = await self._send(
            'GET',
            self._options.sonarqube_url + path,
            'SonarQube',
            params=params,
            headers=headers,
            auth=auth,
            retry_on='read',
        )
        if response.status_code == httpx.codes.OK:
            return self._json(response, 'SonarQube')
        raise self._sonarqube_error(response, params)

    def _sonarqube_error(
        self, response: httpx.Response, params: dict[str, str]
    ) -> Exception:
        status = response.status_code
        message = self._upstream_message(response)
        key = params.get('component') or params.get('projectKey')
        where = f'{key!r}' + (
            f' on branch {params["branch"]!r}' if 'branch' in params else ''
        )
        if status == httpx.codes.UNAUTHORIZED:
            hint = (
                '; SonarQube 9.9 and older need sonarqube_auth=basic'
                if self._options.sonarqube_auth == 'bearer'
                else ''
            )
            return PluginAuthenticationFailed(
                'SonarQube rejected the api_token credential (HTTP 401): '
                'use a valid SonarQube user token (squ_...), not an '
                f'analysis token{hint}'
            )
        if status == httpx.codes.FORBIDDEN:
            return PluginAuthenticationFailed(
                f'SonarQube refused the api_token credential for {where} '
                f'(HTTP 403: {message}): use a user token (squ_...) of a '
                'user with Browse permission on the project; analysis '
                'tokens (sqa_/sqp_) cannot read measures'
            )
        if status == httpx.codes.NOT_FOUND:
            if not _has_key(response, 'errors', list):
                # A mistyped sonarqube_url or a proxy's page: not "no
                # such project", which would send the operator astray.
                return PluginUnavailableError(
                    f'{self._options.sonarqube_url} answered HTTP 404 '
                    "without SonarQube's error body (errors[]): check "
                    'sonarqube_url'
                )
            if message.startswith(_METRICS_NOT_FOUND):
                unknown = message.removeprefix(_METRICS_NOT_FOUND).strip()
                return ValueError(
                    f'SonarQube does not know the metric(s) {unknown} '
                    'named in action_config metrics'
                )
            return ValueError(
                f'SonarQube has no project {where} (HTTP 404: {message}); '
                'check the project key the gateway resolved'
            )
        if status == httpx.codes.BAD_REQUEST:
            return ValueError(
                f'SonarQube refused the request for {where}: {message}'
            )
        return PluginUnavailableError(
            f'SonarQube answered HTTP {status} for {where}: {message}'
        )

    # -- Imbi -----------------------------------------------------------------

    async def patch_project(
        self,
        org_slug: str,
        project_id: str,
        operations: list[dict[str, typing.Any]],
    ) -> None:
        """One JSON Patch of the project; retried after a 429 only."""
        url = '{}/organizations/{}/projects/{}'.format(
            self._options.imbi_url,
            urllib.parse.quote(org_slug, safe=''),
            urllib.parse.quote(project_id, safe=''),
        )
        response = await self._send(
            'PATCH',
            url,
            'the Imbi API',
            json=operations,
            headers={
                'Authorization': f'Bearer {self._secrets.imbi_api_key}',
                'Content-Type': 'application/json-patch+json',
                'Accept': 'application/json',
            },
            retry_on='write',
        )
        status = response.status_code
        if httpx.codes.is_success(status):
            return
        message = self._upstream_message(response)
        if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            raise PluginAuthenticationFailed(
                'the Imbi API rejected the imbi_api_key credential (HTTP '
                f'{status}: {message}): it must be a valid Imbi API key '
                'allowed to update projects'
            )
        if status in (httpx.codes.BAD_REQUEST, 422):
            raise ValueError(
                f'Imbi refused the update of project {project_id!r} (HTTP '
                f'{status}): {message}; check the JSON pointers in '
                'action_config'
            )
        if status == httpx.codes.NOT_FOUND:
            if not _has_key(response, 'detail', object):
                raise PluginUnavailableError(
                    f'{self._options.imbi_url} answered HTTP 404 without '
                    "the Imbi API's error body (detail): check imbi_url"
                )
            raise ValueError(
                f'Imbi has no project {project_id!r} in organization '
                f'{org_slug!r} at {self._options.imbi_url} ({message})'
            )
        raise PluginUnavailableError(
            f'the Imbi API answered HTTP {status}: {message}'
        )

    # -- plumbing -------------------------------------------------------------

    def _remaining(self) -> float:
        return self._deadline - asyncio.get_running_loop().time()

    async def _send(
        self,
        method: str,
        url: str,
        upstream: str,
        *,
        retry_on: RetryOn,
        **kwargs: typing.Any,
    ) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            timeout = max(min(REQUEST_TIMEOUT_CAP, self._remaining()), 0.01)
            try:
                response = await read_capped(
                    self._http,
                    method,
                    url,
                    timeout=timeout,
                    upstream=upstream,
                    **kwargs,
                )
            except httpx.TimeoutException:
                raise PluginTimeoutError(
                    f'{upstream} did not answer within {timeout:.1f}s'
                ) from None
            except httpx.TransportError as exc:
                problem = f'{upstream} is unreachable: {exc!s}'
                if (
                    retry_on == 'read'
                    and attempt < ATTEMPTS
                    and await self._pause(None)
                ):
                    continue
                raise PluginUnavailableError(problem) from None
            status = response.status_code
            if status != httpx.codes.TOO_MANY_REQUESTS and status < 500:
                return response
            rate_limited = status == httpx.codes.TOO_MANY_REQUESTS
            retry_after = _retry_after(response)
            if (
                (rate_limited or retry_on == 'read')
                and attempt < ATTEMPTS
                and await self._pause(retry_after)
            ):
                continue
            when = ''
            if retry_after is not None:
                when = f'; retry after {math.ceil(retry_after)}s'
            elif rate_limited:
                when = '; retry later (no Retry-After given)'
            message = (
                f'{upstream} answered HTTP {status}: '
                f'{self._upstream_message(response)}{when}'
            )
            if rate_limited:
                # PluginRateLimited on v3 hosts, PluginUnavailableError
                # on v1 ones.
                wait = RATE_LIMIT_WAIT if retry_after is None else retry_after
                raise _host.rate_limited(time.time() + wait, message)
            raise PluginUnavailableError(message)

    async def _pause(self, retry_after: float | None) -> bool:
        """Wait before a retry; False when the wait does not fit."""
        delay = (
            retry_after
            if retry_after is not None
            else random.uniform(*_BACKOFF)  # noqa: S311 - jitter
        )
        # Leave the retried request a second of its own.
        if delay + 1.0 > self._remaining():
            return False
        await asyncio.sleep(delay)
        return True

    def _json(
        self, response: httpx.Response, upstream: str
    ) -> collections.abc.Mapping[str, typing.Any]:
        try:
            body = response.json()
        except ValueError, RecursionError:
            body = None
        if not isinstance(body, collections.abc.Mapping):
            raise PluginUnavailableError(
                f'{upstream} answered {response.request.url.path} with a '
                'body that is not a JSON object'
            )
        return body

    def _upstream_message(self, response: httpx.Response) -> str:
        """The upstream's own error text, secrets masked, shortened."""
        try:
            body = response.json()
        except ValueError, RecursionError:
            body = None
        text = ''
        if isinstance(body, collections.abc.Mapping):
            errors = body.get('errors')
            detail = body.get('detail')
            if isinstance(errors, list):
                text = '; '.join(
                    str(e.get('msg'))
                    for e in errors
                    if isinstance(e, collections.abc.Mapping)
                )
            elif isinstance(detail, str):
                text = detail
            elif isinstance(detail, list):
                text = '; '.join(_validation_error(e) for e in detail)
        if not text:
            text = response.reason_phrase or f'HTTP {response.status_code}'
        for secret in (self._secrets.api_token, self._secrets.imbi_api_key):
            text = text.replace(secret, '<redacted>')
        return text[:_MESSAGE_LIMIT]


def _measure_value(
    item: collections.abc.Mapping[str, typing.Any],
) -> str | None:
    """The value of a measure; ``new_*`` metrics carry it in the period."""
    period = item.get('period')
    period_value = (
        period.get('value')
        if isinstance(period, collections.abc.Mapping)
        else None
    )
    value = item.get('value')
    if str(item.get('metric', '')).startswith('new_'):
        value = period_value if period_value is not None else value
    return str(value) if isinstance(value, (str, int, float)) else None


def _validation_error(error: object) -> str:
    if not isinstance(error, collections.abc.Mapping):
        return str(error)
    loc = '/'.join(str(part) for part in error.get('loc') or [])
    return f'{loc}: {error.get("msg")}' if loc else str(error.get('msg'))


def _retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get('retry-after')
    if header is None:
        return None
    try:
        seconds = float(header)
    except ValueError:
        return None
    # 'nan' and 'inf' parse as floats but are no wait anyone can honour.
    return max(seconds, 0.0) if math.isfinite(seconds) else None


@contextlib.asynccontextmanager
async def connect(
    options: Options, secrets: Secrets
) -> collections.abc.AsyncIterator[Upstreams]:
    """Both upstreams for one action, under its ``timeout_seconds``."""
    deadline = asyncio.get_running_loop().time() + options.timeout_seconds
    async with httpx.AsyncClient(
        follow_redirects=False,
        headers={'User-Agent': 'imbi-plugin-sonarqube-sync'},
    ) as http:
        yield Upstreams(http, options, secrets, deadline)


def _has_key(response: httpx.Response, key: str, kind: type) -> bool:
    """Whether the answer is a JSON object holding ``key``, a ``kind``."""
    try:
        body = response.json()
    except ValueError, RecursionError:
        # A body nested too deep to decode is no upstream of ours.
        return False
    return (
        isinstance(body, dict) and key in body and isinstance(body[key], kind)
    )
