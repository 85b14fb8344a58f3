"""Base for stateful fake upstreams written as ASGI apps.

A :class:`StandIn` subclass builds a Starlette app from its routes and
holds its own state. It can be served on 127.0.0.1 on a free port
(uvicorn in a background thread: real sockets, so sync clients such as
hvac and boto3 work) or used in-process through :meth:`transport`.
Every request is recorded, and faults can be injected per route for the
next N requests.
"""

import asyncio
import collections.abc
import contextlib
import dataclasses
import json
import re
import socket
import threading
import time
import typing

import httpx
import starlette.applications
import starlette.routing
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imbi_plugin_testing.secrets import current_scan
from imbi_plugin_testing.tls import ServerTLS

_STALL_SECONDS = 3600.0


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def url_text(self) -> str:
        """Path and query, as they would appear in an access log."""
        return f'{self.path}?{self.query}' if self.query else self.path


@dataclasses.dataclass
class Fault:
    """A fault applied to the next ``times`` requests matching a route.

    ``path`` is a regular expression searched in the request path (None:
    every path); ``method`` limits it to one HTTP method. ``latency`` is
    added before anything else. Then, in order: ``stall`` never answers,
    ``drop`` closes the connection without an answer, ``malformed``
    answers 200 with a body that is not JSON, and ``status`` answers
    with that status, ``body`` and ``headers``. A fault with only
    ``latency`` lets the request through to the app afterwards;
    ``rewrite`` too, and then rewrites the body the app answers
    (hostile upstream data in a legal answer).
    """

    path: str | None = None
    method: str | None = None
    times: int | None = 1
    latency: float = 0.0
    status: int | None = None
    body: bytes | str | dict[str, typing.Any] | list[typing.Any] = b''
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    malformed: bool = False
    drop: bool = False
    stall: bool = False
    #: A further test on the whole request, for protocols whose
    #: operations share one path (AWS JSON: ``X-Amz-Target``).
    when: collections.abc.Callable[[RecordedRequest], bool] | None = None
    #: Returns the new body, or its chunks (then sent chunked, one at a
    #: time, so a huge answer costs the stand-in little memory).
    rewrite: (
        collections.abc.Callable[
            [bytes], bytes | collections.abc.Iterable[bytes]
        ]
        | None
    ) = None

    def matches(self, request: RecordedRequest) -> bool:
        if self.method is not None and self.method.upper() != request.method:
            return False
        if self.path is not None and not re.search(self.path, request.path):
            return False
        return self.when is None or self.when(request)


class _ConnectionDropped(Exception):
    """Raised in-process where no socket exists to close."""


class StandIn:
    """A stateful fake upstream. Subclasses implement :meth:`routes`."""

    #: Latency added to every request (seconds), e.g. for benchmarks.
    latency: float = 0.0

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._app: ASGIApp | None = None

    # -- to override -----------------------------------------------------

    def routes(self) -> list[starlette.routing.BaseRoute]:
        """The fake's routes."""
        raise NotImplementedError

    # -- faults and the request log ---------------------------------------

    def inject(
        self, fault: Fault | None = None, **fields: typing.Any
    ) -> Fault:
        """Apply a fault to the next matching requests.

        The stand-in keeps (and counts down) its own copy, returned here,
        so one Fault can be injected by several tests.
        """
        fault = dataclasses.replace(fault) if fault else Fault(**fields)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def requests_to(
        self, path: str, method: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests whose path matches the regular expression."""
        return [
            r
            for r in self.requests
            if re.search(path, r.path)
            and (method is None or r.method == method.upper())
        ]

    def _take_fault(
        self, request: RecordedRequest, after: Fault | None = None
    ) -> Fault | None:
        """The next matching fault (past ``after``), counted as used."""
        with self._lock:
            faults = list(self._faults)
            if after is not None and after in faults:
                faults = faults[faults.index(after) + 1 :]
            for fault in faults:
                if fault.times is not None and fault.times <= 0:
                    self._faults.remove(fault)
                    continue
                if fault.matches(request):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    # -- the ASGI app -----------------------------------------------------

    @property
    def app(self) -> ASGIApp:
        """The ASGI app: request log and faults around the routes."""
        return self._asgi

    def _routes_app(self) -> ASGIApp:
        # Built on first use so subclasses finish __init__ first.
        if self._app is None:
            self._app = starlette.applications.Starlette(routes=self.routes())
        return self._app

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            return
        body = b''
        more = True
        while more:
            message = await receive()
            body += message.get('body', b'')
            more = message.get('more_body', False)
        recorded = RecordedRequest(
            method=scope['method'],
            path=scope['path'],
            query=scope.get('query_string', b'').decode('latin-1'),
            headers={
                k.decode('latin-1').lower(): v.decode('latin-1')
                for k, v in scope['headers']
            },
            body=body,
        )
        self.requests.append(recorded)
        scan = current_scan()
        if scan is not None:
            # Secrets travel in headers or bodies, never in URLs.
            scan.record_text('request URL', recorded.url_text)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {'type': 'http.request', 'body': body}
            return await receive()

        if self.latency:
            await asyncio.sleep(self.latency)
        # A latency-only fault lets the request go on to the next match.
        fault = self._take_fault(recorded)
        while fault is not None:
            if await self._apply(fault, send):
                return
            if fault.rewrite is not None:
                send = _rewriting(send, fault.rewrite)
            fault = self._take_fault(recorded, after=fault)
        await self._routes_app()(scope, replay, send)

    async def _apply(self, fault: Fault, send: Send) -> bool:
        """Run a fault; True when it answered (or refused to)."""
        if fault.latency:
            await asyncio.sleep(fault.latency)
        if fault.stall:
            await asyncio.sleep(_STALL_SECONDS)
            return True
        if fault.drop:
            transport = getattr(
                getattr(send, '__self__', None), 'transport', None
            )
            if transport is None:
                raise _ConnectionDropped('connection dropped by fault')
            transport.close()
            return True
        if fault.malformed:
            await _answer(
                send,
                200,
                b'{"data": [unterminated',
                {'content-type': 'application/json'},
            )
            return True
        if fault.status is not None:
            body = fault.body
            headers = dict(fault.headers)
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                headers.setdefault('content-type', 'application/json')
            elif isinstance(body, str):
                body = body.encode()
                headers.setdefault('content-type', 'text/plain')
            await _answer(send, fault.status, body, headers)
            return True
        return False

    # -- serving ----------------------------------------------------------

    def bind(self, url: str) -> None:
        """Told the base URL it is served at (for self links)."""

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport that calls the app in-process."""
        return _InProcessTransport(self.app)

    @contextlib.contextmanager
    def serve(
        self, tls: ServerTLS | None = None
    ) -> collections.abc.Iterator[str]:
        """Serve on 127.0.0.1 on a free port; yields the base URL.

        With ``tls`` (see :func:`make_server_tls`) it serves https.
        """
        with serve_app(self.app, tls) as url:
            self.bind(url)
            yield url

    @contextlib.contextmanager
    def plugged(self) -> collections.abc.Iterator[str]:
        """Serve through one process-wide server; yields its base URL.

        Much cheaper than :meth:`serve` when a suite runs hundreds of
        short cases: the server starts once and each case plugs its own
        stand-in in (one at a time).
        """
        board, url = _switchboard()
        with board.lock:
            if board.target is not None:
                raise RuntimeError('another stand-in is plugged in')
            board.target = self
        self.bind(url)
        try:
            yield url
        finally:
            board.target = None


class _InProcessTransport(httpx.ASGITransport):
    """ASGITransport whose dropped connections look like real ones."""

    async def handle_async_request(
        self, request: httpx.Request
    ) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except _ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(
                'Server disconnected without sending a response.',
                request=request,
            ) from exc


async def _answer(
    send: Send, status: int, body: bytes, headers: dict[str, str]
) -> None:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b'content-length', str(len(body)).encode()))
    await send(
        {'type': 'http.response.start', 'status': status, 'headers': raw}
    )
    await send({'type': 'http.response.body', 'body': body})


def _rewriting(
    send: Send,
    rewrite: collections.abc.Callable[
        [bytes], bytes | collections.abc.Iterable[bytes]
    ],
) -> Send:
    """``send`` with the whole answer's body passed through ``rewrite``."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def rewritten(message: Message) -> None:
        nonlocal start
        if message['type'] == 'http.response.start':
            start = message
            return
        if message['type'] != 'http.response.body' or start is None:
            await send(message)
            return
        chunks.append(message.get('body', b''))
        if message.get('more_body', False):
            return
        body = rewrite(b''.join(chunks))
        headers = [
            (k, v)
            for k, v in start.get('headers', [])
            if k != b'content-length'
        ]
        if not isinstance(body, bytes):
            # No length: the answer goes out chunked, as it is made.
            await send({**start, 'headers': headers})
            for chunk in body:
                await send(
                    {
                        'type': 'http.response.body',
                        'body': chunk,
                        'more_body': True,
                    }
                )
            await send({'type': 'http.response.body', 'body': b''})
            return
        headers.append((b'content-length', str(len(body)).encode()))
        await send({**start, 'headers': headers})
        await send({'type': 'http.response.body', 'body': body})

    return rewritten


class _Switchboard:
    """An app that forwards to whichever stand-in is plugged in."""

    def __init__(self) -> None:
        self.target: StandIn | None = None
        self.lock = threading.Lock()

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send
    ) -> None:
        target = self.target
        if target is None:
            await _answer(send, 503, b'no stand-in plugged in', {})
            return
        await target.app(scope, receive, send)


_board: tuple[_Switchboard, str] | None = None
# The serving context is kept alive here: collecting it would stop the
# server.
_board_serving: list[contextlib.AbstractContextManager[str]] = []
_board_lock = threading.Lock()


def _switchboard() -> tuple[_Switchboard, str]:
    global _board  # one server per process, started on first use
    with _board_lock:
        if _board is None:
            board = _Switchboard()
            serving = serve_app(board)
            # Never stopped: its daemon thread ends with the process, and
            # a stand-in stalled by a fault must not hold up the exit.
            url = serving.__enter__()
            _board_serving.append(serving)
            _board = (board, url)
        return _board


@contextlib.contextmanager
def serve_app(
    app: ASGIApp, tls: ServerTLS | None = None
) -> collections.abc.Iterator[str]:
    """Serve any ASGI app on 127.0.0.1 in a thread; yields its base URL.

    With ``tls``, over https with that certificate.
    """
    config = uvicorn.Config(
        app,
        host='127.0.0.1',
        port=0,
        log_level='warning',
        lifespan='off',
        interface='asgi3',
        # h11 whatever else is installed: httptools (uvicorn[standard])
        # refuses methods it does not know, such as Vault's LIST.
        http='h11',
        access_log=False,
        # Stalled requests are abandoned at once when the fake stops.
        timeout_graceful_shutdown=0.2,  # type: ignore[arg-type]  # a float works: it goes to asyncio.wait_for
        ssl_certfile=str(tls.cert_file) if tls else None,
        ssl_keyfile=str(tls.key_file) if tls else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError('the stand-in did not start')
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f'{"https" if tls else "http"}://127.0.0.1:{port}'
    finally:
        server.should_exit = True
        thread.join(timeout=5)


class StallServer:
    """A TCP server on 127.0.0.1 that accepts and never answers.

    ``connections`` counts accepted connections, so a test can prove that
    a call made no network traffic at all.
    """

    def __init__(self) -> None:
        self.connections = 0
        self._sock = socket.socket()
        self._sock.bind(('127.0.0.1', 0))
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self._sock.getsockname()[1]}'

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            self._held.append(conn)

    def __enter__(self) -> StallServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._held:
            conn.close()
        self._sock.close()
