"""The opaque search cursor.

A cursor resumes a backward search just below the oldest entry already
returned, the way logcli pages: the next request ends one nanosecond
after that entry's timestamp, and the entries already returned at that
nanosecond (several may share it) are skipped by identity. The token is
URL-safe base64 of::

    version (1 byte) | check (12 bytes) | start ns (8) | boundary ns (8)
    | seen ids (8 each)

The start is the first page's: the host recomputes its default window
(now-30 min..now) on every request, so a later page's window has moved
by a few seconds; the cursor continues the search it came from, so no
entry between the two starts is skipped and none newer than page 1
appears. ``check`` is a BLAKE2b MAC of the rest keyed with the query's
fingerprint (LogQL, tenant, URL), so a cursor from another query, or one
that was altered, is refused with ``CursorExpiredError``.
"""

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import struct

from imbi_plugin_loki._host import CursorExpiredError

VERSION = 2
_CHECK_SIZE = 12
_ID_SIZE = 8


def fingerprint(logql: str, tenant: str | None, url: str) -> bytes:
    """What a cursor is bound to: everything that selects its entries
    but the time window (the cursor carries its own start)."""
    text = json.dumps([logql, tenant, url])
    return hashlib.blake2b(text.encode(), digest_size=32).digest()


def entry_id(stream_key: str, line: str) -> bytes:
    """Identity of an entry at a known timestamp (Loki dedups equals)."""
    data = f'{stream_key}\x00{line}'.encode('utf-8', 'surrogatepass')
    return hashlib.blake2b(data, digest_size=_ID_SIZE).digest()


def _check(key: bytes, body: bytes) -> bytes:
    return hashlib.blake2b(body, key=key, digest_size=_CHECK_SIZE).digest()


@dataclasses.dataclass(frozen=True)
class Position:
    """Where the next page of a search starts."""

    start_ns: int
    boundary_ns: int
    seen: frozenset[bytes]


def encode(
    key: bytes, start_ns: int, boundary_ns: int, seen: set[bytes]
) -> str:
    body = struct.pack('>qq', start_ns, boundary_ns) + b''.join(sorted(seen))
    token = bytes([VERSION]) + _check(key, body) + body
    return base64.urlsafe_b64encode(token).rstrip(b'=').decode('ascii')


def decode(key: bytes, cursor: str) -> Position:
    """The position a cursor holds, or ``CursorExpiredError``."""
    try:
        raw = base64.b64decode(
            cursor.encode('ascii') + b'=' * (-len(cursor) % 4),
            altchars=b'-_',
            validate=True,
        )
    except binascii.Error, UnicodeEncodeError, ValueError:
        raise CursorExpiredError('the cursor is not valid') from None
    if not raw or raw[0] != VERSION:
        raise CursorExpiredError(
            'the cursor is from another version of the plugin; '
            'start the search again'
        )
    body = raw[1 + _CHECK_SIZE :]
    if len(body) < 16 or (len(body) - 16) % _ID_SIZE:
        raise CursorExpiredError('the cursor is not valid')
    if not hmac.compare_digest(raw[1 : 1 + _CHECK_SIZE], _check(key, body)):
        raise CursorExpiredError(
            'the cursor belongs to another query (selector, filters, '
            'levels, tenant or URL) or was altered'
        )
    start, boundary = struct.unpack_from('>qq', body)
    seen = frozenset(
        body[i : i + _ID_SIZE] for i in range(16, len(body), _ID_SIZE)
    )
    return Position(start, boundary, seen)
