"""Hostile upstream data: legal answers carrying adversarial content.

Each case is a :class:`~imbi_plugin_testing.standin.Fault` that lets
every request through to the stand-in and rewrites its JSON answer: the
free text in it (log lines, messages, names: strings with a space or
longer than 40 characters) gets a long whitespace run, control
characters or invalid UTF-8; a value becomes deeply nested JSON or a
number too long to convert; or the answer is padded to an oversized
body. The cross-package matrix (``tests/test_hostile.py``) runs every
plugin against each case at a small and at the largest legal size and
holds it to its budget and to a bounded event-loop stall.
"""

import collections.abc
import json
import typing

from imbi_plugin_testing.standin import Fault

#: A small size, the baseline a stall must not grow from.
SMALL = 4 * 1024
#: The largest legal line: CloudWatch Logs events are at most 256 KiB and
#: Loki's default ``max_line_size`` is 256 KiB.
LARGE = 256 * 1024
#: An oversized answer: far beyond any page the plugins ask for.
OVERSIZED = 8 * 1024 * 1024

_MARK = '\u2063imbi-hostile\u2063'
_MARK_BYTES = _MARK.encode()
_CONTROL = '\x00\x1b[2J\r\n\t\x08\x7f\x85\u2028'

Rewrite = collections.abc.Callable[
    [bytes], bytes | collections.abc.Iterable[bytes]
]


def _free_text(value: str) -> bool:
    return ' ' in value or len(value) > 40


def _strings(
    doc: typing.Any, change: collections.abc.Callable[[str], typing.Any]
) -> typing.Any:
    """``doc`` with every free-text string leaf replaced by ``change``."""
    if isinstance(doc, dict):
        return {k: _strings(v, change) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_strings(v, change) for v in doc]
    if isinstance(doc, str) and _free_text(doc):
        return change(doc)
    return doc


def _numbers(doc: typing.Any) -> typing.Any:
    """``doc`` with every integer leaf replaced by the mark."""
    if isinstance(doc, dict):
        return {k: _numbers(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_numbers(v) for v in doc]
    if isinstance(doc, int) and not isinstance(doc, bool):
        return _MARK
    return doc


def _json_rewrite(
    change: collections.abc.Callable[[typing.Any], typing.Any],
    raw: bytes | None = None,
) -> Rewrite:
    """Rewrite a JSON body with ``change``; the mark becomes ``raw``."""

    def rewrite(body: bytes) -> bytes:
        try:
            doc = json.loads(body)
        except ValueError:
            return body  # not JSON: left as the stand-in answered
        # Piece by piece: the stand-in serves from a thread of the process
        # under test, and one C call over the whole document (megabytes
        # of escapes) would hold the GIL long enough to count as the
        # plugin's event-loop stall. iterencode's pure-Python walk lets
        # the loop run between pieces.
        pieces = json.JSONEncoder(ensure_ascii=False).iterencode(change(doc))
        text = ''.join(pieces).encode()
        if raw is not None:
            text = text.replace(b'"' + _MARK_BYTES + b'"', raw)
            text = text.replace(_MARK_BYTES, raw)
        return text

    return rewrite


def _prefix(text: str) -> Rewrite:
    return _json_rewrite(lambda doc: _strings(doc, lambda s: text + s))


#: The piece an oversized answer is sent in (one object, sent again).
_PAD_CHUNK = 64 * 1024


def _padding(size: int, byte: bytes) -> collections.abc.Iterator[bytes]:
    piece = byte * _PAD_CHUNK
    for _ in range(size // _PAD_CHUNK):
        yield piece
    yield byte * (size % _PAD_CHUNK)


def _pad(size: int) -> Rewrite:
    """The answer grown by ``size`` bytes, streamed rather than built.

    A JSON object gains a string member ``size`` characters long; other
    JSON is followed by whitespace (which JSON allows); a body that is
    not JSON by spaces.
    """

    def rewrite(body: bytes) -> collections.abc.Iterator[bytes]:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and doc:
            head = json.dumps(doc).encode()[:-1]
            yield head + b', "imbi_hostile_padding": "'
            yield from _padding(size, b'x')
            yield b'"}'
            return
        if isinstance(doc, dict):
            yield b'{"imbi_hostile_padding": "'
            yield from _padding(size, b'x')
            yield b'"}'
            return
        yield body
        yield from _padding(size, b' ')

    return rewrite


def _builders() -> dict[str, collections.abc.Callable[[int], Rewrite]]:
    return {
        # Then a character no pattern expects: a regular expression that
        # backtracks over the run has to fail, not match at its end.
        'whitespace': lambda n: _prefix(' ' * n + '- '),
        'control': lambda n: _prefix(_CONTROL * (n // len(_CONTROL))),
        'invalid_utf8': lambda n: _json_rewrite(
            lambda doc: _strings(doc, lambda s: _MARK + s),
            b'\xff\xfe\xc0' * (n // 3),
        ),
        'deep_json': lambda n: _json_rewrite(
            lambda doc: _strings(doc, lambda s: _MARK),
            b'[' * n + b']' * n,
        ),
        'huge_number': lambda n: _json_rewrite(_numbers, b'9' * n),
    }


#: Case name -> whether its size varies (``oversized`` has one size).
CASES: dict[str, bool] = {
    'whitespace': True,
    'control': True,
    'invalid_utf8': True,
    'deep_json': True,
    'huge_number': True,
    'oversized': False,
}


def fault(case: str, size: int = LARGE) -> Fault:
    """The case as a fault on every request, at ``size`` characters.

    ``oversized`` has one size, :data:`OVERSIZED` (see :func:`oversized`).
    """
    if case == 'oversized':
        return oversized(OVERSIZED)
    return Fault(times=None, rewrite=_builders()[case](size))


def oversized(size: int) -> Fault:
    """Every answer grown by ``size`` bytes, streamed (no Content-Length).

    The stand-in sends the padding a piece at a time, so a call's peak
    memory measures the plugin's reading, not the stand-in's copy.
    """
    return Fault(times=None, rewrite=_pad(size))
