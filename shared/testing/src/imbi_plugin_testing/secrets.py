"""The secret scan: no credential value may reach logs, warnings or errors.

While a scan is active (the ``secret_scan`` fixture, or ``with
SecretScan()``), it collects every log record (INFO and above from all
loggers, DEBUG and above from ``imbi_plugin_*`` loggers), every warning,
and the text of every exception the harness sees (the :class:`Host`
reports each one, and log-result warnings too). At the end it fails if
any registered secret appears in any of them. The :class:`Host` registers
the credential values it is given; tests add other secrets with
:meth:`SecretScan.add`.
"""

import logging
import traceback
import types
import urllib.parse
import warnings

# A plain stack, not a context variable: fixtures, the test's event loop
# and stand-in threads must all see the same scan.
_active: list[SecretScan] = []

#: Shorter values are too likely to occur by chance to be scanned for.
MIN_SECRET_LENGTH = 4


class SecretLeak(AssertionError):
    """A secret value appeared where it must not."""


class _Collector(logging.Handler):
    def __init__(self, scan: SecretScan) -> None:
        super().__init__(logging.DEBUG)
        self.scan = scan

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.INFO and not record.name.startswith(
            'imbi_plugin_'
        ):
            return
        try:
            text = record.getMessage()
        except Exception:
            text = f'{record.msg!r} {record.args!r}'
        if record.exc_info and record.exc_info[1] is not None:
            text += '\n' + ''.join(
                traceback.format_exception(record.exc_info[1])
            )
        self.scan.texts.append(f'log {record.name}: {text}')


class SecretScan:
    """Collects what a test emitted and checks it for secret values."""

    def __init__(self, *secrets: str) -> None:
        self.secrets: set[str] = set()
        self.texts: list[str] = []
        self.add(*secrets)
        self._handler = _Collector(self)
        self._warnings: warnings.catch_warnings[list[warnings.WarningMessage]]
        self._recorded: list[warnings.WarningMessage] = []
        self._levels: dict[str, int] = {}

    def add(self, *secrets: str | None) -> None:
        """Register values that must never appear (as is or URL-quoted)."""
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                self.secrets.add(secret)
                self.secrets.add(urllib.parse.quote(secret, safe=''))
                self.secrets.add(urllib.parse.quote_plus(secret))

    def record_text(self, source: str, text: str) -> None:
        self.texts.append(f'{source}: {text}')

    def record_exception(self, exc: BaseException) -> None:
        """Record an exception's message, repr and chained causes."""
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            self.texts.append(
                f'exception {type(current).__name__}: {current!s} {current!r}'
            )
            current = current.__cause__ or current.__context__

    def leaks(self) -> list[str]:
        """Every collected text that contains a secret (secret masked)."""
        found = []
        texts = self.texts + [f'warning: {w.message}' for w in self._recorded]
        for text in texts:
            for secret in self.secrets:
                if secret in text:
                    found.append(text.replace(secret, '<SECRET>'))
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
        self._warnings.__exit__(exc_type, exc, tb)
        if self in _active:
            _active.remove(self)


def current_scan() -> SecretScan | None:
    """The active scan, if any (the Host reports to it)."""
    return _active[-1] if _active else None
