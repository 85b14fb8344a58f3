"""How one Vault request is sent.

hvac builds each request (paths quoted, parameters, the KV v1/v2 API);
:class:`Adapter` sends it with urllib3 rather than hvac's default
requests session. requests spends about twice urllib3's CPU per request
(preparing, merging settings, hooks, cookies), and a call's parallel
reads all share one GIL: with requests, the client's CPU alone, not
Vault, set the pace of ``get_values`` at ``max_concurrency`` 8.

One pool per plugin call: as many connections as the call's concurrency,
the environment's proxy and CA settings resolved once, every request's
timeout taken from what is left of the call's budget, no retries (429s
are retried by the caller, within the budget), redirects followed (a
standby Vault may redirect to the active node) only within the scheme of
``url`` and to ``url``'s own node or one listed in ``redirect_hosts``:
the token travels in ``X-Vault-Token``, which urllib3 would not strip
on a redirect to another host (it strips only Authorization and
Cookie), so the plugin follows redirects itself. A non-2xx answer is
raised as :class:`VaultResponseError`; a request that could not be sent
or answered as :class:`RequestTimedOut` or :class:`Unreachable`.
"""

import importlib.metadata
import json
import math
import os
import threading
import time
import typing
import urllib.parse

import hvac.adapters
import requests.utils
import urllib3
import urllib3.exceptions
import urllib3.util

from imbi_plugin_vault import options as plugin_options
from imbi_plugin_vault._host import PluginTimeoutError, PluginUnavailableError
from imbi_plugin_vault.options import VaultOptions

#: Older Vaults wrap messages: '1 error occurred:\n\t* permission denied'
_FRAMING = ('error occurred:', 'errors occurred:')
#: Redirects followed per request (HA standbys answer 307 to the active).
MAX_REDIRECTS = 5
#: The largest answer read: a secret is one storage entry (integrated
#: storage's max_entry_size is 1 MiB, Consul's 512 KiB) and Vault takes
#: requests of at most 32 MiB (max_request_size), so a KV answer or a
#: LIST of thousands of keys fits well within it.
MAX_RESPONSE_BYTES = 16 * 2**20
_READ_CHUNK = 64 * 1024
USER_AGENT = (
    f'imbi-plugin-vault/{importlib.metadata.version("imbi-plugin-vault")}'
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NO_HOST = (
    'Vault redirected to an address that names no host or carries user '
    'information'
)


class VaultResponseError(Exception):
    """A non-2xx answer: the status, Vault's ``errors`` and Retry-After.

    Its text never carries the body (a 404 for a deleted version echoes
    metadata).
    """

    def __init__(
        self,
        status: int,
        errors: list[str],
        body: dict[str, typing.Any] | None,
        retry_after: float | None,
    ) -> None:
        super().__init__(f'Vault answered HTTP {status}')
        self.status = status
        self.errors = errors
        self.body = body
        self.retry_after = retry_after

    @classmethod
    def from_response(
        cls, response: urllib3.BaseHTTPResponse
    ) -> VaultResponseError:
        parsed = _json(response.data)
        body = parsed if isinstance(parsed, dict) else None
        errors = body.get('errors') if body else None
        return cls(
            response.status,
            [str(e) for e in errors] if isinstance(errors, list) else [],
            body,
            retry_after(response.headers.get('Retry-After')),
        )

    @property
    def vault_shaped(self) -> bool:
        """Whether the body is Vault's: ``{"errors": [...]}`` or, for a
        deleted version, its response envelope (``data``)."""
        return self.body is not None and (
            isinstance(self.body.get('errors'), list) or 'data' in self.body
        )

    def warned(self, text: str) -> bool:
        """Whether one of the answer's ``warnings`` contains ``text``."""
        warnings = self.body.get('warnings') if self.body else None
        return isinstance(warnings, list) and any(
            text in str(warning) for warning in warnings
        )

    @property
    def reason(self) -> str:
        """Vault's messages, with the older multi-error framing removed."""
        lines = []
        for error in self.errors:
            for line in error.splitlines():
                line = line.strip().removeprefix('* ').strip()
                if line and not line.endswith(_FRAMING):
                    lines.append(line)
        return '; '.join(lines) or f'HTTP {self.status}'


class RedirectRefused(Exception):
    """A redirect the plugin will not follow with the token."""


class RequestTimedOut(Exception):
    """Vault (or the network) did not answer within the request's timeout."""


class Unreachable(Exception):
    """No answer: refused, reset, unresolvable, TLS failure, redirect loop.

    ``kind`` names the failure (an exception class name), never the URL.
    """

    def __init__(self, kind: str) -> None:
        super().__init__(f'Vault request failed ({kind})')
        self.kind = kind


def retry_after(header: str | None) -> float | None:
    try:
        seconds = float(header) if header else None
    except ValueError:
        return None
    # NaN compares false with everything: a wait of nothing that never
    # exceeds the budget.
    if seconds is None or math.isnan(seconds):
        return None
    return max(seconds, 0.0)


def _json(body: bytes) -> object:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


class Deadline:
    """The call's deadline and whether the call has ended."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.ended = threading.Event()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def request_timeout(self) -> float:
        """Timeout of the next request; raises when none may start."""
        remaining = self.remaining()
        if self.ended.is_set() or remaining <= 0:
            raise PluginTimeoutError('the Vault call ran out of time')
        return remaining


if typing.TYPE_CHECKING:
    _AdapterBase = hvac.adapters.Adapter[typing.Any]  # generic in stubs only
else:
    _AdapterBase = hvac.adapters.Adapter


class Adapter(_AdapterBase):
    """hvac's adapter interface over a urllib3 pool.

    Answers a 2xx with its JSON body (None when empty or not JSON: the
    caller treats a missing ``data`` object as malformed) and raises
    :class:`VaultResponseError` for anything else.
    """

    def __init__(
        self,
        base_uri: str,
        token: str,
        namespace: str | None,
        *,
        pool: urllib3.PoolManager,
        deadline: Deadline,
        redirect_hosts: frozenset[str] = frozenset(),
        **_replaced: object,
    ) -> None:
        # hvac's own __init__ would build a requests session this
        # adapter never uses; cert, verify, timeout, proxies and
        # redirects are the pool's and the deadline's business here.
        self.base_uri = base_uri
        self.token = token  # hvac's Client.token reads it
        self.namespace = namespace
        self.pool = pool
        self.deadline = deadline
        base = urllib.parse.urlsplit(base_uri)
        self._scheme = base.scheme
        #: Nodes a redirect may lead to: url's own and the listed ones.
        self._nodes = redirect_hosts | {
            plugin_options.node(base.scheme, f'//{base.netloc}')
        }
        self._headers = {
            'User-Agent': USER_AGENT,
            'X-Vault-Request': 'true',
            'X-Vault-Token': token,
        }
        if namespace:
            self._headers['X-Vault-Namespace'] = namespace

    def close(self) -> None:
        self.pool.clear()

    def get_login_token(self, response: typing.Any) -> str:
        raise NotImplementedError('the plugin authenticates with a token')

    def request(
        self,
        method: str,
        url: str,
        headers: typing.Mapping[str, str] | None = None,
        raise_exception: bool = True,
        **kwargs: typing.Any,
    ) -> typing.Any:
        query = dict(kwargs.pop('params', None) or {})
        payload = kwargs.pop('json', None)
        if kwargs:
            raise TypeError(f'unsupported request arguments: {sorted(kwargs)}')
        method = method.upper()
        if method == 'LIST':  # proxies reject the LIST verb
            method = 'GET'
            query['list'] = 'true'
        target = f'{self.base_uri}/{url.lstrip("/")}'
        if query:
            target += '?' + urllib.parse.urlencode(query)
        sent = {**self._headers, **(headers or {})}
        body = None
        if payload is not None:
            body = _dumps(payload)
            sent['Content-Type'] = 'application/json'
        redirects = 0
        while True:
            response = self._send(method, target, body, sent)
            location = response.headers.get('Location')
            if response.status not in _REDIRECTS or not location:
                break
            if redirects == MAX_REDIRECTS:
                raise Unreachable('TooManyRedirects')
            redirects += 1
            target = self._follow(target, location)
            if response.status == 303:
                method, body = 'GET', None
                sent.pop('Content-Type', None)
        if not 200 <= response.status < 300:
            raise VaultResponseError.from_response(response)
        return _json(response.data)

    def _send(
        self,
        method: str,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> urllib3.BaseHTTPResponse:
        timeout = self.deadline.request_timeout()
        try:
            response = self.pool.request(
                method,
                target,
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                redirect=False,
                preload_content=False,
            )
            content = _read_capped(response, method, target)
        except urllib3.exceptions.HTTPError as exc:
            raise _failure(exc) from exc
        # The body as read (decoded already), so .data never reads more.
        return urllib3.HTTPResponse(
            body=content,
            headers=response.headers,
            status=response.status,
            decode_content=False,
        )

    def _follow(self, target: str, location: str) -> str:
        """The redirect's URL, if the token may go there.

        Read with urllib3's own parser, the one that decides where the
        request goes: Python's urlsplit reads some authorities
        differently (``http://:x@other\\@home/`` is ``home`` to it and
        ``other`` to urllib3). The URL sent is rebuilt from what was
        checked, so a proxy is not left to parse it either.
        """
        try:
            parts = urllib3.util.parse_url(
                urllib.parse.urljoin(target, location)
            )
        except urllib3.exceptions.LocationParseError:
            raise RedirectRefused(_NO_HOST) from None
        if parts.scheme != self._scheme:
            raise RedirectRefused(
                f'Vault redirected from {self._scheme} to '
                f'{parts.scheme or "another scheme"}; the plugin sends its '
                'token only over the scheme of the url option'
            )
        try:
            if parts.auth is not None or not parts.host:
                raise ValueError(parts.netloc)
            node = plugin_options.node(self._scheme, f'//{parts.netloc}')
        except ValueError:
            raise RedirectRefused(_NO_HOST) from None
        if node not in self._nodes:
            raise RedirectRefused(
                f'Vault redirected to {node}, which is neither the url '
                "option's node nor listed in the 'redirect_hosts' option; "
                'add it there if it is a node of your Vault cluster'
            )
        return urllib3.util.Url(
            scheme=parts.scheme,
            host=parts.host,
            port=parts.port,
            path=parts.path,
            query=parts.query,
        ).url


def _read_capped(
    response: urllib3.BaseHTTPResponse, method: str, target: str
) -> bytes:
    """The decoded body, read no further than ``MAX_RESPONSE_BYTES``."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.stream(_READ_CHUNK, decode_content=True):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                # The rest stays unread: the connection cannot be reused.
                response.close()
                raise PluginUnavailableError(
                    f'Vault answered {method} '
                    f'{urllib3.util.parse_url(target).path} with more than '
                    f'{MAX_RESPONSE_BYTES // 2**20} MiB, the cap on one '
                    'answer; not reading the rest'
                )
            chunks.append(chunk)
    finally:
        response.release_conn()
    return b''.join(chunks)


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(',', ':')).encode()


def _failure(exc: urllib3.exceptions.HTTPError) -> Exception:
    # No retries (retries=False): urllib3 raises the failure itself, not
    # a MaxRetryError around it.
    cause: Exception = exc
    # NewConnectionError subclasses ConnectTimeoutError for
    # compatibility: a refused or unresolvable host is not a timeout.
    if isinstance(cause, urllib3.exceptions.TimeoutError) and not isinstance(
        cause, urllib3.exceptions.NewConnectionError
    ):
        return RequestTimedOut('Vault did not answer in time')
    return Unreachable(type(cause).__name__)


def new_pool(options: VaultOptions) -> urllib3.PoolManager:
    """The call's connection pool, with the environment's proxy and CAs."""
    # urllib3 applies the TLS settings to https pools only (a redirect
    # from http may lead to one).
    settings: dict[str, typing.Any] = {
        'maxsize': options.max_concurrency,
        # Redirects are the adapter's (see _follow); no retries at all.
        'retries': False,
        **_tls(options.verify_tls),
    }
    proxy = requests.utils.select_proxy(
        options.url, requests.utils.get_environ_proxies(options.url)
    )
    if not proxy:
        return urllib3.PoolManager(**settings)
    # 'proxy.corp:3128' means http://, as requests reads it.
    parsed = urllib3.util.parse_url(
        proxy if '://' in proxy else f'http://{proxy}'
    )
    if parsed.scheme not in ('http', 'https'):
        raise PluginUnavailableError(
            f'the proxy set in the environment for {options.url} uses '
            f'{parsed.scheme!r}; only http and https proxies are supported'
        )
    proxy_headers = {}
    if parsed.auth:
        proxy_headers = urllib3.make_headers(
            proxy_basic_auth=urllib.parse.unquote(parsed.auth)
        )
    return urllib3.ProxyManager(
        parsed._replace(auth=None).url,
        proxy_headers=proxy_headers,
        **settings,
    )


def _tls(verify: bool) -> dict[str, typing.Any]:
    if not verify:
        return {'cert_reqs': 'CERT_NONE', 'assert_hostname': False}
    # The CA bundle requests would use: its environment variables, else
    # certifi's bundle (what hvac users get today).
    bundle = (
        os.environ.get('REQUESTS_CA_BUNDLE')
        or os.environ.get('CURL_CA_BUNDLE')
        or requests.utils.DEFAULT_CA_BUNDLE_PATH
    )
    where = 'ca_cert_dir' if os.path.isdir(bundle) else 'ca_certs'
    return {'cert_reqs': 'CERT_REQUIRED', where: bundle}


def new_client(
    options: VaultOptions, token: str, deadline: Deadline
) -> hvac.Client:
    # Every value explicit: hvac falls back to VAULT_ADDR, VAULT_TOKEN
    # and VAULT_CACERT from the environment otherwise.
    return hvac.Client(
        url=options.url,
        token=token,
        verify=options.verify_tls,
        namespace=options.namespace,
        adapter=Adapter,
        pool=new_pool(options),
        deadline=deadline,
        redirect_hosts=options.redirect_hosts,
    )
