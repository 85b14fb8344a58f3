"""A model of how imbi-api and imbi-gateway call plugins.

Built from docs/upstreams/host.md and nothing looser: a fresh handler instance
per call, options merged plugin < project type < project with no default
applied, every call under ``asyncio.wait_for`` (identity calls excepted),
exceptions mapped to the HTTP answer the host gives, the multi-environment
logs fan-out, deployment credentials and inputs, lifecycle result mapping
and both webhook dispatch styles.
"""

import asyncio
import collections.abc
import dataclasses
import datetime
import hashlib
import hmac
import json
import logging
import os
import secrets as pysecrets
import time
import typing
import urllib.parse

import pydantic

from imbi_plugin_testing import _host
from imbi_plugin_testing import _host as plugin_errors
from imbi_plugin_testing import context as contexts
from imbi_plugin_testing._host import (
    ConfigValue,
    CursorExpiredError,
    LifecycleResult,
    LogFilter,
    LogHistogramBucket,
    LogQuery,
    LogResult,
    PluginContext,
    PluginCredentialsMissing,
)
from imbi_plugin_testing.generation import ManifestView, handler_of
from imbi_plugin_testing.secrets import current_scan

LOGGER = logging.getLogger(__name__)

HOST_TIMEOUT_SECONDS = 10.0
TIMEOUT_DETAIL = 'Plugin timed out'
#: IMBI_API_URL when the environment sets none.
DEFAULT_API_URL = 'https://imbi.example.com/api'
#: Starlette's answer to an unhandled exception: the text reaches only
#: the server log.
INTERNAL_ERROR = 'Internal Server Error'
#: Where the host's identity callback sends the browser once the
#: connection is saved (a 302, no body).
CONNECTIONS_PAGE = '/settings/connections'
LIST_KEYS_CACHE_SECONDS = 60.0
#: Calls a v3 host refuses (503) when the Integration's credential blob
#: decrypts to an empty dict (configuration and logs routes).
BLOB_METHODS = frozenset(
    {
        'list_keys',
        'get_values',
        'set_value',
        'delete_key',
        'search',
        'histogram',
        'schema',
    }
)
_FILTER_OPS = ('eq', 'ne', 'contains', 'starts_with', 'regex')


@dataclasses.dataclass
class HostResponse:
    """What the host answers: status, JSON body and headers.

    ``result`` is the plugin's return value on success and ``error`` the
    exception it raised, for assertions beyond the HTTP answer.
    """

    status: int
    body: typing.Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    result: typing.Any = None
    error: BaseException | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """Success, a redirect included (the identity callback's 302)."""
        return 200 <= self.status < 400

    @property
    def detail(self) -> typing.Any:
        """The body's ``detail``; for a 500 (whose body is the plain text
        ``Internal Server Error``) the exception text, which reaches only
        the server log."""
        if isinstance(self.body, dict) and 'detail' in self.body:
            return self.body['detail']
        return None if self.error is None else str(self.error)


def _auth_failed_type() -> type[Exception]:
    return typing.cast(
        type[Exception], plugin_errors.PluginAuthenticationFailed
    )


def _jsonable(value: typing.Any) -> typing.Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode='json')
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


#: Options that are secrets although the manifest cannot say so (a
#: PluginOption has no secret flag): the scan registers their values.
#: cloudwatch's external_id guards a role against the confused deputy.
SECRET_OPTIONS = frozenset({'external_id'})


def _bucket_count_error(bucket_count: int) -> dict[str, typing.Any]:
    """FastAPI's 422 for the host's ``Query(ge=1, le=1440)``."""
    low = bucket_count < 1
    return {
        'detail': [
            {
                'type': 'greater_than_equal' if low else 'less_than_equal',
                'loc': ['query', 'bucket_count'],
                'msg': 'Input should be '
                + (
                    'greater than or equal to 1'
                    if low
                    else 'less than or equal to 1440'
                ),
                'input': str(bucket_count),
                'ctx': {'ge': 1} if low else {'le': 1440},
            }
        ]
    }


def _promote_warning(step: str, exc: BaseException) -> str:
    """The host's sanitized warning for a failed promote step."""
    return f'{step} failed ({type(exc).__name__}); see server logs.'


def _stamp_environment(result: LogResult, environment: str | None) -> None:
    """imbi-api's rule: ``raw['environment']`` is set only when an
    environment was asked for and the plugin left the key out."""
    if environment:
        for entry in result.entries:
            if 'environment' not in entry.raw:
                entry.raw['environment'] = environment


def _warning_text(exc: BaseException) -> str:
    """How an environment's failure reads in the host's warning: the
    host's own timeout is an HTTPException, whose text is
    ``503: Plugin timed out``."""
    if isinstance(exc, TimeoutError):
        return f'503: {TIMEOUT_DETAIL}'
    return str(exc)


class Host:
    """Call one plugin class the way the Imbi host does.

    ``plugin_options``, ``project_type_options`` and ``project_options``
    are the three option layers; ``credentials`` the stored (decrypted)
    dict; ``identity_token`` a bound user identity's access token
    (deployment and lifecycle calls then get ``{'access_token': ...}``),
    and ``refresh_identity`` how the host refreshes it after a
    ``PluginAuthenticationFailed``. Credential values are registered with
    the active secret scan, except those named in ``public_credentials``
    (a URL stored as a credential is not a secret) and an OAuth plugin's
    ``client_id``, which GitHub itself puts in URLs.
    """

    def __init__(
        self,
        plugin: type,
        *,
        plugin_options: dict[str, typing.Any] | None = None,
        project_type_options: dict[str, typing.Any] | None = None,
        project_options: dict[str, typing.Any] | None = None,
        credentials: dict[str, str] | None = None,
        identity_token: str | None = None,
        refresh_identity: collections.abc.Callable[[], str] | None = None,
        timeout: float = HOST_TIMEOUT_SECONDS,
        read_secrets: bool = True,
        project: dict[str, typing.Any] | None = None,
        public_credentials: collections.abc.Collection[str] = (),
        environments: collections.abc.Collection[str] | None = None,
        plugin_id: str = 'plugin-id',
    ) -> None:
        self.plugin = plugin
        #: The organization's environments (``None``: any); ``deploy``
        #: and ``promote`` answer 404 for another, as the host does.
        self.environments = None if environments is None else set(environments)
        self.plugin_id = plugin_id
        self.manifest = plugin.manifest  # type: ignore[attr-defined]
        #: The manifest as the host reads it, in either generation.
        self.view = ManifestView(plugin)
        #: A v3 plugin: the host instantiates its capability's handler,
        #: splits options into Integration and capability options and
        #: applies the 2.41 hosts' rules (host-v3.md section 3).
        self.v3 = self.view.v3
        self.handler = handler_of(plugin)
        self.plugin_options = dict(plugin_options or {})
        self.project_type_options = dict(project_type_options or {})
        self.project_options = dict(project_options or {})
        self.credentials = dict(credentials or {})
        self.identity_token = identity_token
        self.refresh_identity = refresh_identity
        self.timeout = timeout
        self.read_secrets = read_secrets
        self.project = dict(project or {})
        self.instances: list[object] = []
        self.calls: list[str] = []
        self._keys_cache: dict[str | None, tuple[float, typing.Any]] = {}
        self._state_key = pysecrets.token_bytes(32)
        self._pending_verifiers: dict[str, str | None] = {}
        #: LinkWriteback objects plugins set (hosts whose ctx has it).
        self.link_writebacks: list[typing.Any] = []
        scan = current_scan()
        if scan is not None:
            scan.add(
                *(
                    value
                    for name, value in self.credentials.items()
                    if name not in public_credentials
                    and name not in self._public_fields()
                    and not (name == 'client_id' and self._oauth())
                ),
                identity_token,
            )

    # -- plumbing -----------------------------------------------------------

    def _public_fields(self) -> set[str]:
        """Credential fields the manifest declares ``secret=False`` (v3
        CredentialField, imbi-common 2.12.2+): an App ID is no secret."""
        return {
            field.name
            for field in self.view.credentials
            if getattr(field, 'secret', True) is False
        }

    def _oauth(self) -> bool:
        """OAuth clients' ids are public (they travel in URLs)."""
        return self.view.auth_type in ('oauth2', 'oidc')

    def options(self) -> dict[str, typing.Any]:
        """Plugin < project type < project; PluginOption.default unused."""
        merged: dict[str, typing.Any] = {}
        merged.update(self.plugin_options)
        merged.update(self.project_type_options)
        merged.update(self.project_options)
        return merged

    def context(
        self, kind: contexts.ContextKind, **fields: typing.Any
    ) -> PluginContext:
        """The ctx the host builds for a call of ``kind``.

        Identity calls get no project fields and the plugin's own options
        only (no project-type or project layer exists for them).
        """
        values = {} if kind == 'identity' else dict(self.project)
        values.update(fields)
        options = values.pop('options', None)
        if self.v3 and options is None:
            return self._context_v3(kind, values)
        if options is None:
            options = (
                dict(self.plugin_options)
                if kind == 'identity'
                else self.options()
            )
        scan = current_scan()
        if scan is not None:
            scan.add(
                *(
                    value
                    for name, value in options.items()
                    if name in SECRET_OPTIONS and isinstance(value, str)
                )
            )
        return contexts.make_context(kind, options=options, **values)

    def option_layers(
        self,
    ) -> tuple[dict[str, typing.Any], dict[str, typing.Any]]:
        """v3: (Integration options, capability options).

        ``plugin_options`` holds what an admin saved on the Integration:
        names the manifest declares at Integration level go to
        ``integration_options``, the rest to the capability's options,
        which the project type's and the project's ``USES`` edges
        override (imbi-api 2.41 ``resolve_capability``).
        """
        names = {o.name for o in self.view.integration_options}
        integration = {
            k: v for k, v in self.plugin_options.items() if k in names
        }
        capability = {
            k: v for k, v in self.plugin_options.items() if k not in names
        }
        capability.update(self.project_type_options)
        capability.update(self.project_options)
        return integration, capability

    def _context_v3(
        self, kind: contexts.ContextKind, values: dict[str, typing.Any]
    ) -> PluginContext:
        """The ctx of a 2.41 host: ``assignment_options`` is the
        capability options (not merged with the Integration's); identity
        flows and the gateway leave it empty."""
        integration, capability = self.option_layers()
        if kind == 'identity':
            # No project, so no USES edge: the Integration's own layers.
            names = {o.name for o in self.view.integration_options}
            capability = {
                k: v for k, v in self.plugin_options.items() if k not in names
            }
        scan = current_scan()
        if scan is not None:
            scan.add(
                *(
                    value
                    for name, value in {**integration, **capability}.items()
                    if name in SECRET_OPTIONS and isinstance(value, str)
                )
            )
        assignment = {} if kind in ('identity', 'webhook') else capability
        values.setdefault('integration_options', integration)
        values.setdefault('capability_options', dict(capability))
        return contexts.make_context(kind, options=assignment, **values)

    def empty_blob(self, method: str) -> HostResponse | None:
        """v3: configuration and logs answer 503 when the Integration's
        decrypted credentials are empty, even if no field is required."""
        # The create-Integration route leaves blank values out, so a blob
        # of blanks is stored as an empty one.
        stored = {k: v for k, v in self.credentials.items() if v}
        if self.v3 and method in BLOB_METHODS and not stored:
            return HostResponse(
                503,
                {
                    'detail': 'Integration has no credentials configured',
                },
            )
        return None

    def new_instance(self) -> typing.Any:
        instance = self.handler()
        self.instances.append(instance)
        return instance

    async def invoke(
        self,
        method: str,
        *args: typing.Any,
        wrap: bool = True,
        **kwargs: typing.Any,
    ) -> typing.Any:
        """Call ``method`` on a fresh instance, under the host's timeout.

        Exceptions propagate (a ``TimeoutError`` when the limit hit);
        every exception is reported to the active secret scan.
        """
        self.calls.append(method)
        bound = getattr(self.new_instance(), method)
        try:
            if wrap:
                return await asyncio.wait_for(
                    bound(*args, **kwargs), self.timeout
                )
            return await bound(*args, **kwargs)
        except BaseException as exc:
            scan = current_scan()
            if scan is not None:
                scan.record_exception(exc)
            raise

    async def respond(
        self,
        method: str,
        *args: typing.Any,
        wrap: bool = True,
        cursor_conflict: bool = False,
        convert: collections.abc.Callable[[typing.Any], typing.Any]
        | None = None,
        **kwargs: typing.Any,
    ) -> HostResponse:
        """Call and map the outcome to the host's HTTP answer."""
        refused = self.empty_blob(method)
        if refused is not None:
            return refused
        started = time.monotonic()
        try:
            result = await self._with_identity_retry(
                method, *args, wrap=wrap, **kwargs
            )
        except BaseException as exc:
            response = self.error_response(exc, cursor_conflict)
            response.elapsed = time.monotonic() - started
            return response
        body = convert(result) if convert else _jsonable(result)
        return HostResponse(
            200 if result is not None else 204,
            body,
            result=result,
            elapsed=time.monotonic() - started,
        )

    async def _with_identity_retry(
        self, method: str, *args: typing.Any, **kwargs: typing.Any
    ) -> typing.Any:
        try:
            return await self.invoke(method, *args, **kwargs)
        except _auth_failed_type():
            if self.identity_token is None or self.refresh_identity is None:
                raise
            self.identity_token = self.refresh_identity()
            scan = current_scan()
            if scan is not None:
                scan.add(self.identity_token)
            if 'credentials' in kwargs:
                kwargs['credentials'] = {'access_token': self.identity_token}
            return await self.invoke(method, *args, **kwargs)

    @staticmethod
    def error_response(
        exc: BaseException, cursor_conflict: bool = False
    ) -> HostResponse:
        """The host's HTTP answer for an exception from a plugin call."""
        if isinstance(exc, TimeoutError):
            return HostResponse(
                503,
                {'detail': TIMEOUT_DETAIL},
                {'Retry-After': '5'},
                error=exc,
            )
        if isinstance(exc, PluginCredentialsMissing):
            return HostResponse(503, {'detail': str(exc)}, error=exc)
        if isinstance(exc, CursorExpiredError) and cursor_conflict:
            return HostResponse(
                409,
                {'detail': {'error': 'cursor_expired', 'message': str(exc)}},
                error=exc,
            )
        installation_missing = _host.optional('PluginInstallationMissing')
        if installation_missing is not None and isinstance(
            exc, installation_missing
        ):
            return HostResponse(
                403,
                {
                    'detail': {
                        'error': 'app_not_installed',
                        'message': str(exc),
                    }
                },
                error=exc,
            )
        if isinstance(exc, plugin_errors.IdentityAuthorizationPending):
            return HostResponse(202, {'detail': str(exc)}, error=exc)
        if isinstance(exc, plugin_errors.IdentityAuthorizationExpired):
            return HostResponse(410, {'detail': str(exc)}, error=exc)
        if not isinstance(exc, Exception):
            raise exc
        LOGGER.debug('Exception in ASGI application: %r', exc)
        return HostResponse(500, INTERNAL_ERROR, error=exc)

    # -- configuration -------------------------------------------------------

    async def list_keys(self, environment: str | None = None) -> HostResponse:
        """GET keys: cached 60 s per environment, cleared on writes."""
        cached = self._keys_cache.get(environment)
        if cached and time.monotonic() - cached[0] < LIST_KEYS_CACHE_SECONDS:
            return HostResponse(200, _jsonable(cached[1]), result=cached[1])
        response = await self.respond(
            'list_keys',
            ctx=self.context('configuration', environment=environment),
            credentials=self.credentials,
        )
        if response.ok:
            self._keys_cache[environment] = (time.monotonic(), response.result)
        return response

    async def get_values(
        self, keys: list[str] | None = None, environment: str | None = None
    ) -> HostResponse:
        """POST values:fetch (needs the read_secrets permission)."""
        if not self.read_secrets:
            return HostResponse(403, {'detail': 'Permission denied'})
        return await self.respond(
            'get_values',
            ctx=self.context('configuration', environment=environment),
            credentials=self.credentials,
            keys=keys,
        )

    async def set_value(
        self,
        key: str,
        value: str,
        data_type: str,
        environment: str | None = None,
    ) -> HostResponse:
        """PUT /{key:path} with a ConfigValue body."""
        secret = any(
            dt.name == data_type and dt.secret for dt in self.view.data_types
        )
        response = await self.respond(
            'set_value',
            ctx=self.context('configuration', environment=environment),
            credentials=self.credentials,
            key=key,
            value=ConfigValue(data_type=data_type, value=value, secret=secret),
        )
        self._keys_cache.clear()
        return response

    async def delete_key(
        self, key: str, environment: str | None = None
    ) -> HostResponse:
        response = await self.respond(
            'delete_key',
            ctx=self.context('configuration', environment=environment),
            credentials=self.credentials,
            key=key,
        )
        self._keys_cache.clear()
        return response

    # -- logs ----------------------------------------------------------------

    @staticmethod
    def log_query(
        *,
        start: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        filters: list[str] | None = None,
        limit: int = 100,
        cursor: str | None = None,
        levels: list[str] | None = None,
    ) -> LogQuery:
        """A LogQuery built the way the host parses query parameters."""
        now = datetime.datetime.now(datetime.UTC)
        end = end or now
        start = start or end - datetime.timedelta(minutes=30)
        if start.tzinfo is None:
            start = start.replace(tzinfo=datetime.UTC)
        if end.tzinfo is None:
            end = end.replace(tzinfo=datetime.UTC)
        if not 1 <= limit <= 1000:
            raise ValueError('limit must be between 1 and 1000')
        parsed = []
        for text in filters or []:
            field, op, value = text.split(':', 2)
            if op not in _FILTER_OPS:
                raise ValueError(f'unknown filter operator {op!r}')
            parsed.append(LogFilter(field=field, op=op, value=value))
        return LogQuery(
            start_time=start,
            end_time=end,
            filters=parsed,
            limit=limit,
            cursor=cursor,
            levels=list(levels or []),
        )

    async def search(
        self, query: LogQuery, environments: list[str] | None = None
    ) -> HostResponse:
        """Search as imbi-api does: no ``environments`` means one call
        with ``ctx.environment`` None (the request named none)."""
        envs: list[str | None] = list(environments or []) or [None]
        refused = self.empty_blob('search')
        if refused is not None:
            return refused
        if query.cursor is not None and len(envs) > 1:
            return HostResponse(
                400,
                {
                    'detail': 'Pagination is only supported for '
                    'single-environment searches; received multiple '
                    'environments with a cursor'
                },
            )
        if len(envs) == 1:
            response = await self.respond(
                'search',
                ctx=self.context('logs', environment=envs[0]),
                credentials=self.credentials,
                query=query,
                cursor_conflict=True,
            )
            if response.ok:
                self._scan_warnings(response.result)
                _stamp_environment(response.result, envs[0])
                response.body = _jsonable(response.result)
            return response
        outcomes = await asyncio.gather(
            *(self._search_one(env, query) for env in envs)
        )
        entries = []
        warnings: list[str] = []
        total = 0
        for env, outcome in zip(envs, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                warnings.append(
                    f'Search for environment {env!r} failed: '
                    f'{_warning_text(outcome)}'
                )
                continue
            entries.extend(outcome.entries)
            warnings.extend(outcome.warnings)
            total += outcome.total or 0
        entries.sort(key=lambda e: e.timestamp, reverse=True)
        merged = LogResult(
            entries=entries[: query.limit],
            next_cursor=None,
            total=total or None,
            warnings=warnings,
        )
        self._scan_warnings(merged)
        return HostResponse(200, _jsonable(merged), result=merged)

    async def _search_one(
        self, environment: str | None, query: LogQuery
    ) -> LogResult | BaseException:
        try:
            result: LogResult = await self.invoke(
                'search',
                ctx=self.context('logs', environment=environment),
                credentials=self.credentials,
                query=query,
            )
        except Exception as exc:
            return exc
        _stamp_environment(result, environment)
        return result

    def _scan_warnings(self, result: LogResult) -> None:
        scan = current_scan()
        if scan is not None:
            for warning in result.warnings:
                scan.record_text('LogResult.warnings', warning)

    async def histogram(
        self,
        query: LogQuery,
        environments: list[str] | None = None,
        bucket_count: int = 60,
    ) -> HostResponse:
        """Histogram: only with supports_histogram; environments summed.

        Over several environments a failing one is dropped silently (the
        host only logs it); over one its error is the answer.
        """
        if not 1 <= bucket_count <= 1440:
            return HostResponse(422, _bucket_count_error(bucket_count))
        if not self.view.supports_histogram:
            return HostResponse(200, [], result=[])
        envs: list[str | None] = list(environments or []) or [None]
        # The host builds LogQuery(start, end, filters): no levels, no
        # cursor, the default limit.
        query = LogQuery(
            start_time=query.start_time,
            end_time=query.end_time,
            filters=query.filters,
        )
        responses = await asyncio.gather(
            *(
                self.respond(
                    'histogram',
                    ctx=self.context('logs', environment=env),
                    credentials=self.credentials,
                    query=query,
                    bucket_count=bucket_count,
                )
                for env in envs
            )
        )
        if len(responses) == 1 and not responses[0].ok:
            return responses[0]
        for env, response in zip(envs, responses, strict=True):
            if not response.ok:
                LOGGER.warning(
                    'Histogram failed for env=%s: %s', env, response.error
                )
        summed = sum_histograms([r.result for r in responses if r.ok])
        return HostResponse(200, _jsonable(summed), result=summed)

    async def schema(self, environment: str | None = None) -> HostResponse:
        return await self.respond(
            'schema',
            ctx=self.context('logs', environment=environment),
            credentials=self.credentials,
        )

    # -- identity ------------------------------------------------------------

    def _sign_state(self, nonce: str) -> str:
        mac = hmac.new(self._state_key, nonce.encode(), hashlib.sha256)
        return f'{nonce}.{mac.hexdigest()[:32]}'

    def verify_state(self, state: str) -> bool:
        nonce, _, _ = state.partition('.')
        return hmac.compare_digest(self._sign_state(nonce), state)

    def redirect_uri(self, plugin_id: str = 'plugin-id') -> str:
        """The callback URL the host builds: ``{IMBI_API_URL}/me/
        identities/{plugin id}/callback``."""
        base = os.environ.get('IMBI_API_URL') or DEFAULT_API_URL
        return f'{base.rstrip("/")}/me/identities/{plugin_id}/callback'

    async def authorization_request(
        self, redirect_uri: str | None = None, scopes: list[str] | None = None
    ) -> HostResponse:
        """Start a flow: the host swaps in its own signed state.

        ``redirect_uri`` defaults to the one the host builds.
        """
        redirect_uri = redirect_uri or self.redirect_uri()
        response = await self.respond(
            'authorization_request',
            ctx=self.context('identity'),
            credentials=self.credentials,
            redirect_uri=redirect_uri,
            scopes=scopes or self.view.default_scopes or None,
            wrap=False,
        )
        if not response.ok:
            return response
        request = response.result
        state = self._sign_state(pysecrets.token_urlsafe(16))
        parts = urllib.parse.urlsplit(request.authorization_url)
        query = [
            (k, v)
            for k, v in urllib.parse.parse_qsl(
                parts.query, keep_blank_values=True
            )
            if k != 'state'
        ]
        query.append(('state', state))
        url = urllib.parse.urlunsplit(
            parts._replace(query=urllib.parse.urlencode(query))
        )
        self._pending_verifiers[state] = request.code_verifier
        scan = current_scan()
        if scan is not None:
            scan.add(request.code_verifier)
        response.body = {
            'authorization_url': url,
            'state': state,
            'polling': _jsonable(getattr(request, 'polling', None)),
        }
        return response

    async def exchange_code(
        self, code: str, redirect_uri: str | None, state: str
    ) -> HostResponse:
        """The callback: verify state, hand back the stored verifier.

        Success is the host's 302 to the connections page (no body; the
        plugin's ``(profile, credentials)`` in ``result``). A ValueError
        from the plugin (a refused or expired code) is a 400 with its
        text, as the host's callback answers.
        """
        redirect_uri = redirect_uri or self.redirect_uri()
        if (
            not self.verify_state(state)
            or state not in self._pending_verifiers
        ):
            return HostResponse(
                400, {'detail': 'Invalid state: unknown state token'}
            )
        verifier = self._pending_verifiers.pop(state)
        scan = current_scan()
        if scan is not None:
            scan.add(code)
        response = await self.respond(
            'exchange_code',
            ctx=self.context('identity'),
            credentials=self.credentials,
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=verifier,
            wrap=False,
        )
        if response.ok:
            response.status = 302
            response.body = None
            response.headers['Location'] = CONNECTIONS_PAGE
        if isinstance(response.error, ValueError):
            response.status = 400
            response.body = {'detail': f'Invalid state: {response.error}'}
        if response.ok and scan is not None:
            _, creds = response.result
            scan.add(creds.access_token, creds.refresh_token)
        return response

    async def refresh(self, refresh_token: str) -> HostResponse:
        """Refresh a connection; failure marks it expired (HTTP 401)."""
        response = await self.respond(
            'refresh',
            ctx=self.context('identity'),
            credentials=self.credentials,
            refresh_token=refresh_token,
            wrap=False,
            convert=lambda creds: {'expires_at': _jsonable(creds.expires_at)},
        )
        if isinstance(response.error, _auth_failed_type()):
            response.status = 401
            response.body = {'detail': 'connection expired'}
        elif response.ok:
            scan = current_scan()
            if scan is not None:
                scan.add(
                    response.result.access_token, response.result.refresh_token
                )
        return response

    async def revoke(self, token: str) -> HostResponse:
        return await self.respond(
            'revoke',
            ctx=self.context('identity'),
            credentials=self.credentials,
            token=token,
            wrap=False,
        )

    # -- deployment ----------------------------------------------------------

    def call_credentials(self) -> dict[str, str]:
        """Deployment/lifecycle credentials as the host builds them."""
        if self.identity_token:
            return {'access_token': self.identity_token}
        app = bool(
            self.v3
            and self.credentials.get('app_id')
            and self.credentials.get('private_key')
        )
        if not (
            self.credentials.get('access_token')
            or self.credentials.get('token')
            or app
        ):
            raise PluginCredentialsMissing(
                'no identity bound and no access_token or token stored'
            )
        return dict(self.credentials)

    async def deployment(
        self,
        method: str,
        *,
        environment: str | None = None,
        environment_config: dict[str, typing.Any] | None = None,
        project_links: dict[str, str] | None = None,
        **kwargs: typing.Any,
    ) -> HostResponse:
        """Call a DeploymentPlugin method with the host's ctx and creds.

        imbi-api's read routes (refs, commits, compare, run status) pass
        no environment; a deploy passes the one it targets.
        """
        if (
            method == 'list_recent_deployments'
            and not self.view.supports_deployment_sync
        ):
            return HostResponse(400, {'detail': 'deployment sync unsupported'})
        try:
            creds = self.call_credentials()
        except PluginCredentialsMissing as exc:
            return self.error_response(exc)
        fields: dict[str, typing.Any] = {
            'environment': environment,
            'environment_config': dict(environment_config or {}),
        }
        if project_links is not None:
            fields['project_links'] = project_links
        ctx = self.context('deployment', **fields)
        response = await self.respond(
            method, ctx=ctx, credentials=creds, **kwargs
        )
        if response.ok:
            self._apply_link_writeback(ctx)
        if method == 'get_deployment_status' and isinstance(
            response.error, NotImplementedError
        ):
            response.status = 400
        return response

    @staticmethod
    def deployment_inputs(
        environment_config: dict[str, typing.Any],
        inputs: dict[str, str] | None,
    ) -> dict[str, str]:
        """environment_config (non-strings JSON-encoded) under inputs."""
        merged = {
            k: v if isinstance(v, str) else json.dumps(v)
            for k, v in environment_config.items()
        }
        merged.update(inputs or {})
        return merged

    async def trigger_deployment(
        self,
        ref_or_sha: str,
        inputs: dict[str, str] | None = None,
        *,
        environment: str = 'production',
        environment_config: dict[str, typing.Any] | None = None,
        project_links: dict[str, str] | None = None,
    ) -> HostResponse:
        config = dict(environment_config or {})
        return await self.deployment(
            'trigger_deployment',
            environment=environment,
            environment_config=config,
            project_links=project_links,
            ref_or_sha=ref_or_sha,
            inputs=self.deployment_inputs(config, inputs),
        )

    def _unknown_environment(self, environment: str) -> HostResponse | None:
        if self.environments is None or environment in self.environments:
            return None
        return HostResponse(
            404, {'detail': f'Environment {environment!r} not found'}
        )

    def _triggered(
        self,
        run: typing.Any,
        *,
        recorded: bool = False,
        release_url: str | None = None,
        tag: str | None = None,
        warnings: collections.abc.Sequence[str] = (),
    ) -> dict[str, typing.Any]:
        """The host's DeploymentTriggerResponse."""
        return {
            'run': _jsonable(run),
            'plugin_id': self.plugin_id,
            'plugin_slug': self.view.slug,
            'recorded': recorded,
            'release_url': release_url,
            'tag': tag,
            'warning': '; '.join(warnings) or None,
        }

    async def deploy(
        self,
        environment: str,
        committish: str,
        *,
        ref_label: str | None = None,
        inputs: dict[str, str] | None = None,
        environment_config: dict[str, typing.Any] | None = None,
        project_links: dict[str, str] | None = None,
    ) -> HostResponse:
        """``POST .../deployments`` with ``action='deploy'``: 404 for an
        unknown environment, the plugin's error as the host maps it,
        else 202 with the run wrapped (``recorded`` is false: no Release
        node here)."""
        unknown = self._unknown_environment(environment)
        if unknown is not None:
            return unknown
        response = await self.trigger_deployment(
            ref_label or committish,
            inputs,
            environment=environment,
            environment_config=environment_config,
            project_links=project_links,
        )
        if response.ok:
            response.status = 202
            response.body = self._triggered(response.result)
        return response

    async def promote(
        self,
        from_environment: str,
        to_environment: str,
        from_committish: str,
        tag: str,
        *,
        release_name: str | None = None,
        release_notes_markdown: str = '',
        prerelease: bool = False,
        environment_config: dict[str, typing.Any] | None = None,
    ) -> HostResponse:
        """``action='promote'``: create_tag, create_release, then
        trigger_deployment at the tag. A failing step is a warning
        naming the step and the exception class, never a failed answer;
        a plugin without create_tag is a 400. The Release is recorded
        (``recorded`` true) unless the trigger failed."""
        del from_environment  # the host only logs and audits it
        unknown = self._unknown_environment(to_environment)
        if unknown is not None:
            return unknown
        config = dict(environment_config or {})
        warnings: list[str] = []
        fields: dict[str, typing.Any] = {
            'environment': to_environment,
            'environment_config': config,
        }
        tagged = await self.deployment(
            'create_tag',
            **fields,
            sha=from_committish,
            tag=tag,
            message=release_name or tag,
        )
        if isinstance(tagged.error, NotImplementedError):
            return HostResponse(
                400,
                {
                    'detail': f'Plugin {self.view.slug!r} does not '
                    'support creating tags; promote is not available.'
                },
                error=tagged.error,
            )
        if tagged.error is not None:
            warnings.append(_promote_warning('create_tag', tagged.error))
        released = await self.deployment(
            'create_release',
            **fields,
            tag=tag,
            name=release_name or tag,
            body_markdown=release_notes_markdown,
            prerelease=prerelease,
        )
        release = released.result if released.ok else None
        if released.error is not None and not isinstance(
            released.error, NotImplementedError
        ):
            warnings.append(_promote_warning('create_release', released.error))
        release_url = (
            (release.html_url or release.url) if release is not None else None
        )
        run = await self.deployment(
            'trigger_deployment',
            **fields,
            ref_or_sha=tag,
            inputs=self.deployment_inputs(config, None) or None,
        )
        if run.error is not None:
            warnings.append(_promote_warning('trigger_deployment', run.error))
            from imbi_plugin_testing._host import DeploymentRun

            queued = DeploymentRun(run_id='', status='queued')
            body = self._triggered(
                queued, release_url=release_url, tag=tag, warnings=warnings
            )
            return HostResponse(202, body, result=queued, error=run.error)
        body = self._triggered(
            run.result,
            recorded=True,
            release_url=release_url,
            tag=tag,
            warnings=warnings,
        )
        return HostResponse(202, body, result=run.result)

    # -- lifecycle -----------------------------------------------------------

    async def lifecycle(
        self,
        event: typing.Literal['archived', 'unarchived'],
        *,
        project_links: dict[str, str] | None = None,
        ctx: PluginContext | None = None,
    ) -> typing.Any:
        """Dispatch a lifecycle event; always a LifecycleResult."""
        method = f'on_project_{event}'
        if self.v3:
            skipped = self._lifecycle_v3_skip(event, method)
            if skipped is not None:
                return skipped
        if ctx is None:
            fields = {}
            if project_links is not None:
                fields['project_links'] = dict(project_links)
            ctx = self.context('lifecycle', **fields)
        try:
            creds = self.call_credentials()
            result = await self._with_identity_retry(
                method, ctx=ctx, credentials=creds
            )
        except NotImplementedError as exc:
            # The unarchive hook is optional: imbi-api skips it with this
            # message (2.11 when the plugin inherits the stub, 2.5 on any
            # NotImplementedError); a missing archive hook is a failure.
            if event == 'unarchived':
                return LifecycleResult(
                    status='skipped',
                    message=f'Plugin does not implement {method}',
                )
            return LifecycleResult(
                status='failed', message=f'NotImplementedError: {exc}'
            )
        except Exception as exc:
            return LifecycleResult(
                status='failed', message=f'{type(exc).__name__}: {exc}'
            )
        scan = current_scan()
        if scan is not None:
            scan.record_text('LifecycleResult', repr(result))
        self._apply_link_writeback(ctx)
        return result

    def _lifecycle_v3_skip(self, event: str, method: str) -> typing.Any:
        """imbi-api 2.41's dispatch before any call: a hook that is still
        ``LifecycleCapability``'s own method (compared by identity) is
        ``skipped`` (``failed`` for archived); without a bound identity,
        an empty credential blob, or one missing a field the manifest
        marks ``required``, fails the hook. (Lifecycle dispatch is the
        one place 2.41 reads ``CredentialField.required``: saving an
        Integration and the configuration and logs routes do not.)"""
        base = _host.api().LifecycleCapability
        own = getattr(self.handler, method, None)
        if own is None or own is getattr(base, method, None):
            status = 'failed' if event == 'archived' else 'skipped'
            return LifecycleResult(
                status=status,
                message=f'Plugin does not implement {method}',
            )
        if self.identity_token:
            return None
        # The create-Integration route leaves blank values out.
        stored = {k: v for k, v in self.credentials.items() if v}
        if not stored:
            return LifecycleResult(
                status='failed', message='Integration has no credentials'
            )
        missing = [
            field.name
            for field in self.view.credentials
            if field.required and not stored.get(field.name)
        ]
        if missing:
            return LifecycleResult(
                status='failed',
                message=(
                    'No credentials available for plugin '
                    f'{self.view.slug!r}: missing {", ".join(missing)}.'
                ),
            )
        return None

    def _apply_link_writeback(self, ctx: PluginContext) -> None:
        """Rewrite the stored project link, as 2.11 hosts do."""
        writeback = getattr(ctx, 'link_writeback', None)
        if writeback is None:
            return
        self.link_writebacks.append(writeback)
        links = dict(self.project.get('project_links') or {})
        links[writeback.link_key] = writeback.new_url
        self.project['project_links'] = links

    # -- webhook -------------------------------------------------------------

    async def dispatch(
        self,
        handler: str,
        *,
        external_identifier: str,
        action_config: str | dict[str, typing.Any],
        payload: typing.Any,
        service_slug: str = 'service',
        service_endpoint: str | None = None,
        payload_keyword: typing.Literal['payload', 'event'] = 'payload',
    ) -> HostResponse:
        """Run a webhook rule's handler, in either gateway style.

        ``slug:action`` calls ``run_action`` as imbi-common <= 2.5.0
        documents (action_config a raw JSON string, payload the raw body,
        under the host timeout). ``slug#action`` is imbi-gateway 1.3+:
        the action looked up in ``actions()``, its config validated with
        the config model, the callable awaited with keyword arguments,
        no timeout, and exceptions logged (answered 500 here). With
        ``payload_keyword='event'`` the body goes in as
        ``event={'payload': ...}``, as imbi-common 2.11 calls it.
        """
        config_text = (
            action_config
            if isinstance(action_config, str)
            else json.dumps(action_config)
        )
        if '#' in handler:
            slug, _, action = handler.partition('#')
            return await self._dispatch_catalog(
                slug,
                action,
                external_identifier,
                config_text,
                payload,
                service_slug,
                service_endpoint,
                payload_keyword,
            )
        slug, _, action = handler.partition(':')
        if slug != self.view.slug:
            return HostResponse(404, {'detail': f'no plugin {slug!r}'})
        return await self.respond(
            'run_action',
            ctx=self.context('webhook'),
            credentials=self.credentials,
            external_identifier=external_identifier,
            action=action,
            action_config=config_text,
            payload=payload,
        )

    def webhook_event(self, payload: typing.Any) -> dict[str, typing.Any]:
        """The ``event`` mapping imbi-gateway passes (2.11: only
        ``payload`` is read by our action; 2.41 adds the rest)."""
        if not self.v3:
            return {'payload': payload}
        return _event(self.view.slug, payload)

    async def _dispatch_catalog(
        self,
        slug: str,
        action: str,
        external_identifier: str,
        config_text: str,
        payload: typing.Any,
        service_slug: str,
        service_endpoint: str | None,
        payload_keyword: str,
    ) -> HostResponse:
        if slug != self.view.slug:
            return HostResponse(404, {'detail': f'no plugin {slug!r}'})
        if self.manifest.credentials and not self.credentials:
            return HostResponse(
                204, {'detail': 'rule skipped: no credentials stored'}
            )
        try:
            descriptors = self.handler.actions()  # type: ignore[attr-defined]
        except Exception as exc:  # a gateway logs it and moves on
            return self.error_response(exc)
        descriptor = next((d for d in descriptors if d.name == action), None)
        if descriptor is None:
            return HostResponse(404, {'detail': f'no action {action!r}'})
        try:
            config = descriptor.config_model.model_validate_json(config_text)
        except pydantic.ValidationError as exc:
            return HostResponse(422, {'detail': str(exc)}, error=exc)
        if self.v3:
            # imbi-gateway 2.41: options from the Integration behind the
            # webhook, no assignment_options, the body inside event=.
            ctx = self.context('webhook')
            payload_keyword = 'event'
        else:
            ctx = self.context(
                'webhook',
                options={
                    'service_slug': service_slug,
                    'service_endpoint': service_endpoint,
                },
            )
        self.calls.append(f'{slug}#{action}')
        started = time.monotonic()
        try:
            await descriptor.callable(
                ctx=ctx,
                credentials=self.credentials,
                external_identifier=external_identifier,
                action_config=config,
                **{
                    payload_keyword: payload
                    if payload_keyword == 'payload'
                    else self.webhook_event(payload)
                },
            )
        except Exception as exc:
            LOGGER.warning('webhook rule %s#%s failed: %s', slug, action, exc)
            scan = current_scan()
            if scan is not None:
                scan.record_exception(exc)
            response = self.error_response(exc)
            response.elapsed = time.monotonic() - started
            return response
        return HostResponse(204, elapsed=time.monotonic() - started)


def _event(plugin_slug: str, payload: typing.Any) -> dict[str, typing.Any]:
    return {
        'type': 'webhook',
        'integration': plugin_slug,
        'attributed_to': None,
        'metadata': {'headers': {'content-type': 'application/json'}},
        'payload': payload,
        'signature_verified': True,
    }


def sum_histograms(
    per_environment: list[list[LogHistogramBucket]],
) -> list[LogHistogramBucket]:
    """Sum buckets whose timestamps are identical, as the host does."""
    totals: dict[datetime.datetime, LogHistogramBucket] = {}
    for buckets in per_environment:
        for bucket in buckets:
            into = totals.get(bucket.timestamp)
            if into is None:
                totals[bucket.timestamp] = bucket.model_copy(deep=True)
                continue
            into.count += bucket.count
            for level, count in bucket.levels.items():
                into.levels[level] = into.levels.get(level, 0) + count
    return [totals[ts] for ts in sorted(totals)]
