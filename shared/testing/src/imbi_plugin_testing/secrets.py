"""The secret scan: no credential value may reach logs, warnings or errors.

While a scan is active (the ``secret_scan`` fixture, or ``with
SecretScan()``), it collects every log record of every logger at DEBUG
and above (library loggers such as httpx, httpcore, botocore, urllib3 and
hvac included, even those given a level of their own), every warning,
and the whole graph of every exception the harness sees (the
:class:`Host` reports each one, and log-result warnings too): messages
and reprs, causes, contexts, ExceptionGroup members, the ``request`` and
``response`` an exception carries (URL, headers, body) and the locals of
the plugin frames in its traceback, which error trackers such as Sentry
serialise. At the end it fails if any registered secret, or a form
derived from it (URL-quoted, JSON-escaped, inside Base64 as in a Basic
``Authorization`` header), appears in any of them. The :class:`Host`
registers the credential values it is given; tests add other secrets
with :meth:`SecretScan.add`.
"""

import base64
import collections.abc
import contextlib
import contextvars
import json
import logging
import traceback
import types
import typing
import urllib.parse
import warnings

# A plain stack, not a context variable: fixtures, the test's event loop
# and stand-in threads must all see the same scan.
_active: list[SecretScan] = []

_unscanned = contextvars.ContextVar('_unscanned', default=False)

#: Shorter values are too likely to occur by chance to be scanned for.
MIN_SECRET_LENGTH = 4
#: A Base64 fragment shorter than this could occur by chance.
_MIN_BASE64_FRAGMENT = 8

#: Local variable and mapping key names error trackers scrub by default
#: (Sentry's denylist, matched as substrings of the lower-cased name):
#: a plugin's ``credentials`` argument or ``token`` variable is expected
#: to hold a secret and is not serialised, anything else is.
SCRUBBED_NAMES = (
    'auth',
    'cookie',
    'credential',
    'passwd',
    'password',
    'secret',
    'session',
    'token',
    'api_key',
    'apikey',
    'private_key',
    'privatekey',
    # The identity contract's exchange_code(code=..., code_verifier=...):
    # an OAuth code and its PKCE verifier, which a host that reports
    # errors must scrub like tokens (Sentry: EventScrubber(denylist=...)).
    'verifier',
    # STS AssumeRole's parameter (boto3 takes it in a params dict).
    'externalid',
    'external_id',
)
#: Names scrubbed when they match exactly (too short for a substring).
SCRUBBED_EXACT = frozenset({'code'})
#: Locals not read: the context the host passes to every call is the
#: host's own object (its frames hold it too), so how its tracker treats
#: it is the host's configuration, not the plugin's.
HOST_LOCALS = frozenset({'ctx'})

#: Attributes through which exceptions and HTTP objects reach the request
#: or response they concern (httpx, requests/urllib3, botocore).
_LINKS = (
    'request',
    'response',
    'url',
    'headers',
    'content',
    'body',
    'params',
    'data',
    'exceptions',
    'last_attempt',
    'reason',
    'operation_name',
)
#: Bounds of one exception graph walk.
_MAX_OBJECTS = 5_000
_MAX_DEPTH = 12


class SecretLeak(AssertionError):
    """A secret value appeared where it must not."""


def base64_fragments(secret: str) -> set[str]:
    """What Base64 text holding ``secret`` anywhere must contain.

    Base64 works on 3-byte groups, so the secret's encoding depends on
    its offset modulo 3 in the encoded data (``user:secret`` in a Basic
    header); for each offset, the characters that only the secret's
    bytes determine.
    """
    raw = secret.encode()
    found = set()
    for offset in range(3):
        encoded = base64.b64encode(b'\0' * offset + raw).decode()
        start = 0 if offset == 0 else 4
        end = 4 * ((offset + len(raw)) // 3)
        fragment = encoded[start:end]
        if len(fragment) >= _MIN_BASE64_FRAGMENT:
            found.add(fragment)
    return found


def _scrubbed(name: object) -> bool:
    lowered = str(name).lower()
    return lowered in SCRUBBED_EXACT or any(
        word in lowered for word in SCRUBBED_NAMES
    )


def _as_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode('latin-1')
    return None


def _safe(
    fn: collections.abc.Callable[..., typing.Any], *args: typing.Any
) -> typing.Any:
    try:
        return fn(*args)
    except Exception:
        return None


def _plugin_frame(frame: types.FrameType) -> bool:
    module = str(frame.f_globals.get('__name__', ''))
    return module.startswith('imbi_plugin_') and not module.startswith(
        'imbi_plugin_testing'
    )


def exception_texts(exc: BaseException) -> list[tuple[str, bool]]:
    """Every text an error tracker could take from ``exc``'s graph.

    Pairs of a text, prefixed with where it was found, and whether it
    comes from the locals of a frame. Exceptions give their
    message and repr, ``__cause__``, ``__context__`` (unless suppressed by
    ``from None``, as tracebacks and Sentry do), group members, args and
    ``__notes__``, the URL, headers and body of a carried ``request`` or
    ``response`` (and what those link to), and the locals of the plugin
    frames in their traceback. Locals are read as error trackers
    serialise them: containers item by item, skipping names and keys
    that look like a credential (:data:`SCRUBBED_NAMES`), anything else
    by its repr.
    """
    texts: list[tuple[str, bool]] = []
    seen: set[tuple[int, bool]] = set()
    stack: list[tuple[object, int, str, bool]] = [(exc, 0, 'exc', False)]
    while stack and len(seen) < _MAX_OBJECTS:
        obj, depth, path, local = stack.pop()
        if obj is None or (id(obj), local) in seen or depth > _MAX_DEPTH:
            continue
        seen.add((id(obj), local))
        text = _as_text(obj)
        if text is not None:
            texts.append((f'{path}: {text}', local))
            continue
        if isinstance(obj, (int, float, bool)):
            continue
        nxt = depth + 1
        if isinstance(obj, collections.abc.Mapping):
            items = _safe(lambda o: list(o.items()), obj) or []
            # HTTP headers are sent as they are: nothing scrubs them.
            scrub = local or not _http_object(obj)
            for key, value in items:
                texts.append((f'{path} key: {key}', local))
                if not (scrub and _scrubbed(key)):
                    stack.append((value, nxt, f'{path}[{key!r}]', local))
            continue
        if isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(
                (item, nxt, f'{path}[{i}]', local)
                for i, item in enumerate(list(obj)[:1_000])
            )
            continue
        texts.append((f'{path} repr: {_safe(repr, obj)}', local))
        if local:
            continue
        if isinstance(obj, BaseException):
            texts.append((f'{path} str: {_safe(str, obj)}', local))
            stack.append((obj.__cause__, nxt, f'{path}.__cause__', False))
            if not obj.__suppress_context__:
                stack.append(
                    (obj.__context__, nxt, f'{path}.__context__', False)
                )
            stack.append((obj.args, nxt, f'{path}.args', False))
            notes = getattr(obj, '__notes__', None)
            stack.append((notes, nxt, f'{path}.__notes__', False))
            tb = obj.__traceback__
            while tb is not None:
                frame = tb.tb_frame
                if _plugin_frame(frame):
                    where = f'{path} frame {frame.f_code.co_qualname}'
                    for name, value in frame.f_locals.items():
                        if name not in HOST_LOCALS and not _scrubbed(name):
                            stack.append((value, nxt, f'{where} {name}', True))
                tb = tb.tb_next
        elif not _http_object(obj):
            # Other objects are serialised by their repr only.
            continue
        for attr in _LINKS:
            # httpx raises RuntimeError for an exception's unset request
            # and ResponseNotRead for an unread body.
            value = _safe(getattr, obj, attr, None)
            if value is not None and not callable(value):
                stack.append((value, nxt, f'{path}.{attr}', False))
    return texts


def _http_object(obj: object) -> bool:
    """Requests, responses, URLs and headers of the HTTP libraries."""
    module = type(obj).__module__.split('.')[0]
    return module in {'httpx', 'requests', 'urllib3', 'botocore', 'hvac'}


class _Collector(logging.Handler):
    def __init__(self, scan: SecretScan) -> None:
        super().__init__(logging.DEBUG)
        self.scan = scan

    def emit(self, record: logging.LogRecord) -> None:
        if _unscanned.get():
            return
        try:
            text = record.getMessage()
        except Exception:
            text = f'{record.msg!r} {record.args!r}'
        self.scan.texts.append(f'log {record.name}: {text}')
        if record.exc_info and record.exc_info[1] is not None:
            self.scan.texts.append(
                ''.join(traceback.format_exception(record.exc_info[1]))
            )
            self.scan.record_exception(record.exc_info[1])


class SecretScan:
    """Collects what a test emitted and checks it for secret values."""

    def __init__(self, *secrets: str) -> None:
        self.secrets: set[str] = set()
        #: Secrets not searched for in the locals of frames.
        self.not_in_locals: set[str] = set()
        self.texts: list[str] = []
        #: Texts from the locals of frames (see ``add(in_locals=...)``).
        self.local_texts: list[str] = []
        self.add(*secrets)
        self._handler = _Collector(self)
        self._warnings: warnings.catch_warnings[list[warnings.WarningMessage]]
        self._recorded: list[warnings.WarningMessage] = []
        self._levels: dict[str, int] = {}
        self._enabled_for: typing.Any = None
        self._isolated: list[logging.Logger] = []

    def add(self, *secrets: str | None, in_locals: bool = True) -> None:
        """Register values that must never appear, nor derived forms.

        URL-quoted, JSON-escaped and Base64-embedded forms are searched
        for as well. ``in_locals=False``: not in the locals of the plugin
        frames of a traceback, for a secret given where it does not
        belong (in an option) which the plugin must refuse without
        repeating it: the frames validating the option hold it.
        """
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                forms = {
                    secret,
                    urllib.parse.quote(secret, safe=''),
                    urllib.parse.quote_plus(secret),
                }
                self.secrets.update(forms)
                if not in_locals:
                    self.not_in_locals.update(forms)

    def forms(self, in_locals: bool = False) -> set[str]:
        """The secrets and their JSON-escaped and Base64-embedded forms."""
        found = set(self.secrets)
        if in_locals:
            found -= self.not_in_locals
        for secret in set(found):
            found.add(json.dumps(secret)[1:-1])
            found.add(json.dumps(secret, ensure_ascii=False)[1:-1])
            found.update(base64_fragments(secret))
        return found

    def record_text(self, source: str, text: str) -> None:
        self.texts.append(f'{source}: {text}')

    def record_exception(self, exc: BaseException) -> None:
        """Record the whole graph of an exception (see exception_texts)."""
        name = type(exc).__name__
        for text, local in exception_texts(exc):
            target = self.local_texts if local else self.texts
            target.append(f'exception {name}, {text}')

    def leaks(self) -> list[str]:
        """Every collected text that contains a secret (secret masked)."""
        found = []
        texts = self.texts + [f'warning: {w.message}' for w in self._recorded]
        everywhere = sorted(self.forms(), key=len, reverse=True)
        in_locals = sorted(self.forms(in_locals=True), key=len, reverse=True)
        marked = [(text, False) for text in texts]
        marked += [(text, True) for text in self.local_texts]
        for text, local in marked:
            for secret in in_locals if local else everywhere:
                if secret in text:
                    found.append(text.replace(secret, '<SECRET>'))
                    break
        return found

    def check(self) -> None:
        """Raise :class:`SecretLeak` if any secret appeared."""
        leaks = self.leaks()
        if leaks:
            listing = '\n  '.join(leak[:300] for leak in leaks[:20])
            raise SecretLeak(
                f'{len(leaks)} text(s) contain a credential value:\n  '
                f'{listing}'
            )

    def __enter__(self) -> SecretScan:
        root = logging.getLogger()
        root.addHandler(self._handler)
        self._levels['root'] = root.level
        root.setLevel(logging.DEBUG)
        # Loggers with a level of their own (or created later with one)
        # would drop DEBUG records before any handler saw them.
        original = logging.Logger.isEnabledFor
        self._enabled_for = original

        def enabled_for(logger: logging.Logger, level: int) -> bool:
            return level >= logging.DEBUG or original(logger, level)

        logging.Logger.isEnabledFor = enabled_for  # type: ignore[method-assign,assignment]
        for logger in list(logging.root.manager.loggerDict.values()):
            if isinstance(logger, logging.Logger) and not logger.propagate:
                logger.addHandler(self._handler)
                self._isolated.append(logger)
        self._warnings = warnings.catch_warnings(record=True)
        self._recorded = self._warnings.__enter__()
        warnings.simplefilter('always')
        _active.append(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        if exc is not None:
            self.record_exception(exc)
        root = logging.getLogger()
        root.removeHandler(self._handler)
        root.setLevel(self._levels['root'])
        logging.Logger.isEnabledFor = self._enabled_for  # type: ignore[method-assign]
        for logger in self._isolated:
            logger.removeHandler(self._handler)
        self._isolated.clear()
        self._warnings.__exit__(exc_type, exc, tb)
        if self in _active:
            _active.remove(self)


@contextlib.contextmanager
def unscanned() -> collections.abc.Iterator[None]:
    """Logs of the test's own traffic in this block are not collected.

    For what the test plays itself and is meant to see a secret: the
    user's browser follows the redirect that carries an OAuth ``code``.
    Plugin calls must never run inside it.
    """
    token = _unscanned.set(True)
    try:
        yield
    finally:
        _unscanned.reset(token)


def current_scan() -> SecretScan | None:
    """The active scan, if any (the Host reports to it)."""
    return _active[-1] if _active else None
