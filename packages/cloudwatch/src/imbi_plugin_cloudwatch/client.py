"""AWS plumbing: credentials, per-call clients, retries, error mapping.

boto3 and botocore are imported here only, and this module is imported
by the plugin's methods, never at plugin import. One module-level boto3
session (no credentials in it: every client gets the call's keys
explicitly) keeps botocore's loaded service models between calls, so
building a client per call is cheap. Blocking boto3 calls run in a
thread pool owned by the call and shut down with it.
"""

import asyncio
import concurrent.futures
import dataclasses
import functools
import logging
import random
import re
import threading
import time
import typing

from imbi_plugin_cloudwatch import _host, spec
from imbi_plugin_cloudwatch._host import (
    PluginAuthenticationFailed,
    PluginCredentialsMissing,
    PluginTimeoutError,
    PluginUnavailableError,
)

if typing.TYPE_CHECKING:
    import boto3.session
    from mypy_boto3_logs import CloudWatchLogsClient

    from imbi_plugin_cloudwatch.options import Options

LOGGER = logging.getLogger(__name__)

MAX_RETRIES = 2
#: When throttling names no Retry-After: how long v3 hosts' queues back
#: off (the same pause imbi-api asks for after a plugin timeout).
RATE_LIMIT_PAUSE_SECONDS = 5.0
BACKOFF_SECONDS = 0.2
CONNECT_TIMEOUT_SECONDS = 2.0
STOP_QUERY_SECONDS = 1.0
#: Floor of a client's socket timeouts when the budget is (nearly) gone:
#: zero would make botocore's sockets non-blocking.
MIN_TIMEOUT_SECONDS = 0.1
ROLE_SESSION_SECONDS = 900
POLL_FIRST_SECONDS = 0.05
POLL_MAX_SECONDS = 1.0
USER_AGENT = 'imbi-plugin-cloudwatch/0.1.0'

AUTH_CODES = frozenset(
    {
        'AccessDenied',
        'AccessDeniedException',
        'UnrecognizedClientException',
        'InvalidClientTokenId',
        'ExpiredToken',
        'ExpiredTokenException',
        'InvalidSignatureException',
        'SignatureDoesNotMatch',
        'IncompleteSignature',
        'IncompleteSignatureException',
        'MissingAuthenticationToken',
        'MissingAuthenticationTokenException',
    }
)
#: Messages AWS sends with these may quote the signed request (and so
#: the session token): only the code is reported.
_QUOTES_REQUEST = frozenset(
    {'InvalidSignatureException', 'SignatureDoesNotMatch'}
)
THROTTLE_CODES = frozenset(
    {
        'ThrottlingException',
        'Throttling',
        'TooManyRequestsException',
        'RequestLimitExceeded',
    }
)
UNAVAILABLE_CODES = frozenset(
    {
        'ServiceUnavailableException',
        'ServiceUnavailable',
        'InternalFailure',
        'InternalServerError',
    }
)
TOKEN_INVALID = 'The specified nextToken is invalid.'  # noqa: S105
#: Operations safe to send again after a failure that may have reached AWS
#: (a 5xx, an unavailable service, a connection broken mid-way). The rest
#: (StartQuery) are re-sent only after throttling, which AWS answers
#: without acting on the request.
_IDEMPOTENT = frozenset(
    {
        'FilterLogEvents',
        'GetQueryResults',
        'GetLogGroupFields',
        'DescribeLogGroups',
        'AssumeRole',
    }
)
#: DescribeLogGroups pages read for one prefix at most.
MAX_DESCRIBE_PAGES = 5

_session_lock = threading.Lock()
_shared: list[boto3.session.Session] = []
#: botocore's DEBUG wire dumps: signed headers, canonical requests,
#: request params (AssumeRole's ExternalId) and response bodies (STS
#: answers hold the assumed role's secret key).
WIRE_LOGGERS = ('botocore.endpoint', 'botocore.auth', 'botocore.parsers')
_WIRE_SECRETS = (
    (re.compile(r'(Credential=)[^/\s,]+'), r'\1***'),
    (
        re.compile(
            r'(x-amz-security-token[\'"]?\s*[:=]\s*b?[\'"]?)[^\'"\s,}]+',
            re.IGNORECASE,
        ),
        r'\1***',
    ),
    (
        re.compile(r'<(AccessKeyId|SecretAccessKey|SessionToken)>[^<]*'),
        r'<\1>***',
    ),
    # AssumeRole's params dump and form body: the role's external ID.
    (
        re.compile(r'(ExternalId[\'"]?\s*[:=]\s*[\'"]?)[^\'"&\s,}]+'),
        r'\1***',
    ),
)


class RedactWireDumps(logging.Filter):
    """Mask AWS keys in botocore's DEBUG request and response dumps."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG:
            text = record.getMessage()
            for pattern, replacement in _WIRE_SECRETS:
                text = pattern.sub(replacement, text)
            record.msg, record.args = text, None
        return True


def shared_session() -> boto3.session.Session:
    """The module's boto3 session: service models only, no credentials.

    Created on first use, when the wire-dump redaction is installed too.
    """
    with _session_lock:
        if not _shared:
            import boto3.session

            for name in WIRE_LOGGERS:
                logging.getLogger(name).addFilter(RedactWireDumps())
            _shared.append(boto3.session.Session())
        return _shared[0]


def filter_sorts_newest_first() -> bool:
    """Whether botocore's FilterLogEvents model has ``startFromHead``.

    The parameter arrived in botocore 1.44.0; an older model refuses it
    before sending anything, and without it CloudWatch answers oldest
    first (the parameter's default is true).
    """
    session = shared_session()
    with _session_lock:
        model = session._session.get_service_model('logs')
    shape = model.operation_model('FilterLogEvents').input_shape
    return shape is not None and 'startFromHead' in shape.members


@dataclasses.dataclass(frozen=True)
class AwsKeys:
    """Static or temporary AWS keys; never shown in reprs."""

    access_key_id: str = dataclasses.field(repr=False)
    secret_access_key: str = dataclasses.field(repr=False)
    session_token: str | None = dataclasses.field(default=None, repr=False)

    def values(self) -> tuple[str, ...]:
        return tuple(
            v
            for v in (
                self.access_key_id,
                self.secret_access_key,
                self.session_token,
            )
            if v
        )


def resolve_keys(
    credentials: dict[str, str], options: Options
) -> AwsKeys | None:
    """The stored keys, or None for the host's chain when allowed.

    Raises PluginCredentialsMissing for half a key pair, or for no keys
    unless ``use_host_credentials`` is set or the ``auth_mode``
    credential says ambient: never fall back silently to the host's
    identity.
    """
    mode = _auth_mode(credentials)
    # In an AwsKeys from the start: error trackers record the locals of
    # the frame that raises, and its repr shows no key.
    keys = AwsKeys(
        (credentials.get('access_key_id') or '').strip(),
        (credentials.get('secret_access_key') or '').strip(),
        (credentials.get('session_token') or '').strip() or None,
    )
    key_id, secret, token = (
        bool(keys.access_key_id),
        bool(keys.secret_access_key),
        bool(keys.session_token),
    )
    if key_id and not secret:
        raise PluginCredentialsMissing(
            "credential 'secret_access_key' is missing: access_key_id is set"
        )
    if secret and not key_id:
        raise PluginCredentialsMissing(
            "credential 'access_key_id' is missing: secret_access_key is set"
        )
    if mode == 'ambient' and (key_id or token):
        raise ValueError(
            "auth_mode is ambient (the host's AWS identity) but keys are "
            'stored: remove them, or set auth_mode to keys'
        )
    if key_id:
        return keys
    if token:
        raise PluginCredentialsMissing(
            "credential 'access_key_id' is missing: session_token is set, "
            'store it with access_key_id and secret_access_key'
        )
    if mode == 'keys':
        raise PluginCredentialsMissing(
            "credentials 'access_key_id' and 'secret_access_key' are "
            'missing: auth_mode is keys'
        )
    if mode != 'ambient' and not options.use_host_credentials:
        raise PluginCredentialsMissing(
            "credential 'access_key_id' is missing: store it with "
            'secret_access_key, or set use_host_credentials to use the '
            "host's own AWS identity"
        )
    return None


def _auth_mode(credentials: dict[str, str]) -> str:
    """The stated mode, '' when none is: v1 hosts never send one, and a
    v3 Integration saved before the field was required has none stored.
    Either way the keys and use_host_credentials decide, as they always
    did.
    """
    mode = (credentials.get('auth_mode') or '').strip().lower()
    if mode and mode not in spec.AUTH_MODES:
        # The value is not echoed: a key pasted into the wrong field must
        # not reach an error message.
        raise ValueError(
            "credential 'auth_mode' must be one of "
            f'{", ".join(spec.AUTH_MODES)}'
        )
    return mode


def build_client(
    options: Options,
    service: str,
    keys: AwsKeys,
    timeout: float | None = None,
) -> typing.Any:
    """A boto3 client for ``service`` with ``keys`` (no network, cheap).

    ``timeout`` is what the call's budget has left (default: the whole
    budget); it bounds every socket wait of the client, so a thread left
    blocked after the budget ends or the host cancels does not hold its
    socket for a whole new budget.
    """
    from botocore.config import Config

    left = float(options.timeout_seconds if timeout is None else timeout)
    left = max(left, MIN_TIMEOUT_SECONDS)
    config = Config(
        connect_timeout=min(CONNECT_TIMEOUT_SECONDS, left),
        read_timeout=left,
        # Retries are ours, so they can respect the call's budget.
        retries={'total_max_attempts': 1, 'mode': 'standard'},
        user_agent_extra=USER_AGENT,
    )
    session = shared_session()
    # botocore sessions are not thread-safe; clients are.
    with _session_lock:
        return session.client(
            service,  # type: ignore[call-overload]
            region_name=options.region,
            # A CloudWatch Logs VPC endpoint cannot answer STS.
            endpoint_url=options.sts_endpoint_url
            if service == 'sts'
            else options.endpoint_url,
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            aws_session_token=keys.session_token,
            config=config,
        )


class AwsError(Exception):
    """A ClientError's essentials (never holds the request).

    ``retry_after`` is the answer's Retry-After in seconds, if any.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f'{code}: {message}')
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after

    @property
    def bare(self) -> bool:
        """No AWS error code: botocore put the HTTP status in its place.

        AWS always names its errors; a bare status comes from something
        in front of the endpoint (a proxy, or a wrong endpoint_url).
        """
        return self.code == str(self.status)


def retry_after(exc: Exception) -> float | None:
    """Seconds a ClientError's Retry-After header asks for, if any."""
    response = getattr(exc, 'response', None)
    if not isinstance(response, dict):
        return None
    headers = response.get('ResponseMetadata', {}).get('HTTPHeaders', {})
    value = str(headers.get('retry-after', '')).strip()
    if not value.isdigit():
        return None  # absent, or an HTTP date: our own backoff applies
    return float(value)


class Calls:
    """The AWS side of one plugin call: its clients, threads and budget."""

    def __init__(self, options: Options, keys: AwsKeys | None) -> None:
        self.options = options
        self._keys = keys
        self._loop = asyncio.get_running_loop()
        self._deadline = self._loop.time() + options.timeout_seconds
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix='imbi-cloudwatch'
        )
        self._client: CloudWatchLogsClient | None = None
        self._secrets: list[str] = list(keys.values()) if keys else []

    async def __aenter__(self) -> Calls:
        return self

    async def __aexit__(self, *exc: object) -> None:
        # A thread still blocked on a silent socket ends at its client's
        # read timeout, which is what the budget had left when that
        # client was built (the Logs client is built after AssumeRole):
        # it outlasts the budget by at most the time between the client's
        # build and its request, no longer by a whole new budget. (The
        # timeout bounds each wait for data, not a whole answer.) Queued
        # StopQuery calls still run, and the client's connections are
        # closed after them.
        if self._client is not None:
            self._executor.submit(self._client.close)
        self._executor.shutdown(wait=False, cancel_futures=False)

    def remaining(self) -> float:
        return self._deadline - self._loop.time()

    async def _thread(
        self, func: typing.Callable[..., typing.Any], **kwargs: typing.Any
    ) -> typing.Any:
        return await self._loop.run_in_executor(
            self._executor, functools.partial(func, **kwargs)
        )

    async def filter_sorts_newest_first(self) -> bool:
        """:func:`filter_sorts_newest_first`, off the event loop."""
        return bool(await self._thread(filter_sorts_newest_first))

    # -- clients ----------------------------------------------------------

    @staticmethod
    def _host_keys() -> AwsKeys:
        import botocore.session

        # A session of its own: the shared one must never cache the
        # host's identity.
        found = botocore.session.Session().get_credentials()
        if found is None:
            raise PluginCredentialsMissing(
                'use_host_credentials is set but the host has no AWS '
                'credentials'
            )
        frozen = found.get_frozen_credentials()
        return AwsKeys(
            str(frozen.access_key), str(frozen.secret_key), frozen.token
        )

    async def logs(self) -> CloudWatchLogsClient:
        """The Logs client, after STS AssumeRole when ``role_arn`` is set."""
        if self._client is not None:
            return self._client
        keys = self._keys
        if keys is None:
            keys = await self._thread(self._host_keys)
            self._secrets.extend(keys.values())
        if self.options.role_arn:
            keys = await self._assume_role(keys)
        self._client = await self._build('logs', keys)
        return self._client

    async def _build(self, service: str, keys: AwsKeys) -> typing.Any:
        """A client whose socket timeouts end with the budget."""
        return await self._thread(
            build_client,
            options=self.options,
            service=service,
            keys=keys,
            timeout=self.remaining(),
        )

    async def _assume_role(self, keys: AwsKeys) -> AwsKeys:
        sts = await self._build('sts', keys)
        params: dict[str, typing.Any] = {
            'RoleArn': self.options.role_arn,
            'RoleSessionName': self._session_name(),
            'DurationSeconds': ROLE_SESSION_SECONDS,
        }
        if self.options.external_id:
            params['ExternalId'] = self.options.external_id
        try:
            answer = await self._with_retries(
                'AssumeRole', sts.assume_role, params
            )
        finally:
            self._executor.submit(sts.close)
        try:
            found = answer['Credentials']
            assumed = AwsKeys(
                found['AccessKeyId'],
                found['SecretAccessKey'],
                found['SessionToken'],
            )
        except KeyError, TypeError:
            raise PluginUnavailableError(
                'STS AssumeRole answered without credentials'
            ) from None
        self._secrets.extend(assumed.values())
        return assumed

    def _session_name(self) -> str:
        name = re.sub(r'[^\w+=,.@-]', '-', f'imbi-{self.options.log_group}')
        return name[:64]

    # -- log groups -------------------------------------------------------

    async def resolve_log_groups(self) -> Options:
        """The call's options with every prefix of ``log_group_template``
        resolved to the groups it names (DescribeLogGroups, bounded; once
        per call, since the options are this call's)."""
        opts = self.options
        if not opts.log_group_prefixes:
            return opts
        from imbi_plugin_cloudwatch.options import MAX_LOG_GROUPS

        names = dict.fromkeys(opts.log_groups)
        for prefix in opts.log_group_prefixes:
            token = None
            for _ in range(MAX_DESCRIBE_PAGES):
                params: dict[str, typing.Any] = {
                    'logGroupNamePrefix': prefix,
                    'limit': MAX_LOG_GROUPS,
                }
                if token:
                    params['nextToken'] = token
                answer = await self.call('DescribeLogGroups', **params)
                names.update(dict.fromkeys(_group_names(answer, prefix)))
                token = answer.get('nextToken') or None
                if token is None or len(names) > MAX_LOG_GROUPS:
                    break
            if token is not None or len(names) > MAX_LOG_GROUPS:
                raise ValueError(
                    f'more than {MAX_LOG_GROUPS} log groups start with '
                    f'{prefix!r} (option log_group_template); Logs Insights '
                    f'searches at most {MAX_LOG_GROUPS}: narrow the prefix'
                )
        if not names:
            raise ValueError(
                f'no log group starts with '
                f'{", ".join(map(repr, opts.log_group_prefixes))} in '
                f'{opts.region} (check log_group_template)'
            )
        found = tuple(names)
        self.options = dataclasses.replace(
            opts, log_group=found[0], log_groups=found, log_group_prefixes=()
        )
        return self.options

    # -- calls ------------------------------------------------------------

    async def call(
        self, operation: str, **params: typing.Any
    ) -> dict[str, typing.Any]:
        """One Logs operation with retries and AWS errors mapped."""
        client = await self.logs()
        method = getattr(client, _snake(operation))
        answer: dict[str, typing.Any] = await self._with_retries(
            operation, method, params
        )
        return answer

    async def _with_retries(
        self,
        operation: str,
        method: typing.Callable[..., typing.Any],
        params: dict[str, typing.Any],
    ) -> typing.Any:
        attempt = 0
        while True:
            try:
                return await self._thread(method, **params)
            except Exception as exc:
                error, retries = self._classify(operation, exc)
                wait = retry_after(exc) or 0.0
            delay = BACKOFF_SECONDS * 2**attempt * random.uniform(0.5, 1.5)  # noqa: S311
            delay = max(delay, wait)
            if attempt >= retries:
                raise error
            if self.remaining() < delay + CONNECT_TIMEOUT_SECONDS:
                raise error
            attempt += 1
            LOGGER.debug(
                'retrying %s after %s in %.2fs', operation, error, delay
            )
            await asyncio.sleep(delay)

    def _classify(
        self, operation: str, exc: Exception
    ) -> tuple[Exception, int]:
        """The exception to raise for ``exc`` and how often to retry."""
        from botocore import exceptions as boto_errors
        from botocore.parsers import ResponseParserError

        service = 'STS' if operation == 'AssumeRole' else 'CloudWatch Logs'
        if isinstance(exc, boto_errors.ClientError):
            error = exc.response.get('Error', {})
            status = exc.response.get('ResponseMetadata', {}).get(
                'HTTPStatusCode', 0
            )
            return self._map_aws(
                operation,
                AwsError(
                    str(error.get('Code') or status),
                    str(error.get('Message') or ''),
                    int(status or 0),
                    retry_after(exc),
                ),
            )
        if isinstance(exc, boto_errors.ReadTimeoutError):
            return PluginTimeoutError(
                f'{service} did not answer {operation} in time'
            ), 0
        if isinstance(
            exc, (boto_errors.ConnectionError, boto_errors.HTTPClientError)
        ):
            # Nothing reached AWS unless the connection broke mid-way.
            sent = not isinstance(
                exc,
                (
                    boto_errors.EndpointConnectionError,
                    boto_errors.ConnectTimeoutError,
                ),
            )
            return PluginUnavailableError(
                f'{service} could not be reached for {operation} '
                f'({type(exc).__name__})'
            ), MAX_RETRIES if not sent or operation in _IDEMPOTENT else 0
        # botocore decodes and parses bodies without catching invalid
        # UTF-8 or JSON nested past the interpreter's recursion limit.
        if isinstance(
            exc, (ResponseParserError, UnicodeDecodeError, RecursionError)
        ):
            return PluginUnavailableError(
                f'{service} sent a response to {operation} that could not '
                'be read'
            ), 0
        if isinstance(exc, boto_errors.ParamValidationError):
            # botocore's first line is only 'Parameter validation failed:';
            # the reasons follow it, one a line.
            return ValueError(self.scrub(' '.join(str(exc).split()))), 0
        if isinstance(exc, boto_errors.BotoCoreError):
            return PluginUnavailableError(
                f'{service} {operation} failed: {type(exc).__name__}: '
                f'{self.scrub(str(exc))}'
            ), 0
        raise exc

    def _map_aws(
        self, operation: str, error: AwsError
    ) -> tuple[Exception, int]:
        service = 'STS' if operation == 'AssumeRole' else 'CloudWatch Logs'
        message = self.scrub(error.message)
        if error.code in AUTH_CODES:
            detail = '' if error.code in _QUOTES_REQUEST else f': {message}'
            return PluginAuthenticationFailed(
                f'{service} rejected the credentials for {operation} '
                f'({error.code}){detail}'
            ), 0
        if error.bare and error.status in (401, 403):
            return PluginAuthenticationFailed(
                f'{service} answered {operation} with HTTP {error.status} '
                f'and no AWS error code ({message or "no message"}); check '
                'the credentials, and endpoint_url if one is set'
            ), 0
        if error.bare and error.status == 404:
            return PluginUnavailableError(
                f'{service} answered {operation} with HTTP 404 and no AWS '
                f'error code: is endpoint_url a {service} endpoint?'
            ), 0
        if (
            error.code == 'ResourceNotFoundException'
            and operation == 'StartQuery'
            and len(self.options.log_groups) > 1
        ):
            return ValueError(
                f'a log group of {list(self.options.log_groups)} does not '
                f'exist in {self.options.region} ({message}; check '
                'log_group_template)'
            ), 0
        if error.code == 'ResourceNotFoundException' and operation in (
            'FilterLogEvents',
            'StartQuery',
            'GetLogGroupFields',
        ):
            return ValueError(
                f'log group {self.options.log_group!r} does not exist in '
                f'{self.options.region} (check log_group_template)'
            ), 0
        if error.code == 'InvalidParameterException' and (
            TOKEN_INVALID in error.message
        ):
            from imbi_plugin_cloudwatch._host import CursorExpiredError

            return CursorExpiredError(
                'the cursor has expired; start the search again'
            ), 0
        if error.code == 'MalformedQueryException':
            return ValueError(
                f'CloudWatch Logs Insights rejected the query: {message}'
            ), 0
        if error.code == 'LimitExceededException':
            # Too many Insights queries at once: they free up as the
            # running ones finish.
            return _host.rate_limited(
                time.time() + (error.retry_after or RATE_LIMIT_PAUSE_SECONDS),
                f'CloudWatch Logs limit exceeded ({message}); retry later',
            ), 1
        if error.code in ('InvalidParameterException', 'ValidationError'):
            return ValueError(f'{service} rejected {operation}: {message}'), 0
        # Throttling is a refusal: nothing was done, so any operation may
        # be sent again. After a 5xx or an unavailable service the request
        # may have been carried out (a StartQuery's query running on AWS,
        # unseen and never stopped): only idempotent ones are re-sent.
        throttled = error.code in THROTTLE_CODES or error.status == 429
        if throttled or error.code in UNAVAILABLE_CODES or error.status >= 500:
            when = (
                f'retry in {error.retry_after:.0f} s'
                if error.retry_after
                else 'retry in a few seconds'
            )
            text = (
                f'{service} is unavailable ({error.code}): {message}; {when}'
            )
            if throttled:
                pause = error.retry_after or RATE_LIMIT_PAUSE_SECONDS
                return _host.rate_limited(
                    time.time() + pause, text
                ), MAX_RETRIES
            return PluginUnavailableError(text), (
                MAX_RETRIES if operation in _IDEMPOTENT else 0
            )
        return PluginUnavailableError(
            f'{service} {operation} failed ({error.code}): {message}'
        ), 0

    def scrub(self, text: str) -> str:
        """First line of an upstream message, without credential values."""
        line = text.strip().splitlines()[0] if text.strip() else ''
        for secret in self._secrets:
            line = line.replace(secret, '***')
        return line[:300]

    # -- Logs Insights ------------------------------------------------------

    async def insights(
        self,
        query_string: str,
        start_seconds: int,
        end_seconds: int,
        limit: int,
    ) -> list[list[dict[str, str]]]:
        """Run an Insights query to completion; StopQuery if we give up."""
        rows, _ = await self.insights_matched(
            query_string, start_seconds, end_seconds, limit
        )
        return rows

    async def insights_matched(
        self,
        query_string: str,
        start_seconds: int,
        end_seconds: int,
        limit: int,
    ) -> tuple[list[list[dict[str, str]]], int | None]:
        """The rows and ``statistics.recordsMatched`` of a query."""
        client = await self.logs()
        started = await self._start_query(
            query_string, start_seconds, end_seconds, limit
        )
        query_id = started.get('queryId')
        if not query_id:
            raise PluginUnavailableError(
                'StartQuery answered without a queryId'
            )
        done = False
        try:
            delay = POLL_FIRST_SECONDS
            while True:
                answer = await self.call('GetQueryResults', queryId=query_id)
                status = answer.get('status')
                if status == 'Complete':
                    done = True
                    rows = answer.get('results')
                    if not isinstance(rows, list):
                        raise PluginUnavailableError(
                            'GetQueryResults answered without results'
                        )
                    return rows, _records_matched(answer)
                if status in ('Failed', 'Cancelled', 'Timeout', 'Unknown'):
                    done = True
                    raise PluginUnavailableError(
                        f'the Logs Insights query ended {status}'
                    )
                if status not in ('Scheduled', 'Running'):
                    raise PluginUnavailableError(
                        f'GetQueryResults answered status {status!r}'
                    )
                await asyncio.sleep(min(delay, max(self.remaining(), 0)))
                delay = min(delay * 2, POLL_MAX_SECONDS)
        finally:
            if not done:
                await self._stop_query(client, query_id)

    async def _start_query(
        self,
        query_string: str,
        start_seconds: int,
        end_seconds: int,
        limit: int,
    ) -> dict[str, typing.Any]:
        groups = self.options.log_groups
        where: dict[str, typing.Any] = (
            {'logGroupNames': list(groups)}
            if len(groups) > 1
            else {'logGroupName': self.options.log_group}
        )
        return await self.call(
            'StartQuery',
            **where,
            startTime=start_seconds,
            endTime=end_seconds,
            queryString=query_string,
            limit=limit,
        )

    async def _stop_query(
        self, client: CloudWatchLogsClient, query_id: str
    ) -> None:
        """Best effort, shielded: runs on even if this task is cancelled."""
        future = self._loop.run_in_executor(
            self._executor, self._stop_sync, client, query_id
        )
        try:
            await asyncio.wait_for(asyncio.shield(future), STOP_QUERY_SECONDS)
        except TimeoutError:
            LOGGER.debug('StopQuery %s still running', query_id)

    @staticmethod
    def _stop_sync(client: CloudWatchLogsClient, query_id: str) -> None:
        try:
            client.stop_query(queryId=query_id)
        except Exception as exc:
            LOGGER.debug(
                'StopQuery %s failed: %s', query_id, type(exc).__name__
            )


def _group_names(answer: dict[str, typing.Any], prefix: str) -> list[str]:
    groups = answer.get('logGroups')
    if not isinstance(groups, list):
        raise PluginUnavailableError(
            'DescribeLogGroups answered without logGroups'
        )
    return [
        name
        for group in groups
        if isinstance(group, dict)
        and isinstance(name := group.get('logGroupName'), str)
        and name.startswith(prefix)
    ]


def _records_matched(answer: dict[str, typing.Any]) -> int | None:
    statistics = answer.get('statistics')
    found = (
        statistics.get('recordsMatched')
        if isinstance(statistics, dict)
        else None
    )
    if isinstance(found, bool) or not isinstance(found, (int, float)):
        return None
    return int(found) if 0 <= found < 2**63 else None


def _snake(operation: str) -> str:
    return re.sub(r'(?<!^)(?=[A-Z])', '_', operation).lower()
