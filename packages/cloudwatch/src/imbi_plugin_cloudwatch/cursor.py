"""Opaque, URL-safe search cursors bound to the query they continue.

A cursor is ``<payload>.<check>``: the payload is base64url JSON (version,
the query path, the search's time window, and either FilterLogEvents'
nextToken or the Insights position: the last timestamp in milliseconds
plus short digests of the ``@ptr`` values already returned at it), the
check a SHA-256 over the query's fingerprint and the payload. A cursor of
another query, or one edited by hand, fails the check:
:class:`CursorExpiredError`.

The window travels in the cursor, outside the fingerprint: the host
recomputes its default window (now-30 min..now) on every request, so page
2 of a search without explicit times arrives with a window a few seconds
later. The next page continues the search the cursor came from, in its
window (a nextToken is only good with the parameters it was issued for),
so no entry is skipped or repeated.
"""

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import typing

from imbi_plugin_cloudwatch._host import CursorExpiredError

VERSION = 2
_PTR_DIGEST_BYTES = 9


@dataclasses.dataclass(frozen=True)
class FilterPosition:
    next_token: str
    start_ms: int  # the search's window
    end_ms: int


@dataclasses.dataclass(frozen=True)
class InsightsPosition:
    timestamp_ms: int
    seen: frozenset[str]  # ptr digests returned at timestamp_ms
    start_ms: int  # the search's window
    end_ms: int


Position = FilterPosition | InsightsPosition


def ptr_digest(ptr: str) -> str:
    digest = hashlib.blake2b(ptr.encode(), digest_size=_PTR_DIGEST_BYTES)
    return base64.urlsafe_b64encode(digest.digest()).decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip('=')


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def _check(fingerprint: str, payload: str) -> str:
    digest = hashlib.sha256(f'{fingerprint}:{payload}'.encode()).digest()
    return _b64(digest[:16])


def encode(position: Position, fingerprint: str) -> str:
    body: dict[str, typing.Any] = {
        'v': VERSION,
        's': position.start_ms,
        'e': position.end_ms,
    }
    if isinstance(position, FilterPosition):
        body.update(k='f', t=position.next_token)
    else:
        body.update(k='i', ts=position.timestamp_ms, p=sorted(position.seen))
    payload = _b64(json.dumps(body, separators=(',', ':')).encode())
    return f'{payload}.{_check(fingerprint, payload)}'


def decode[P: (FilterPosition, InsightsPosition)](
    text: str, fingerprint: str, kind: type[P]
) -> P:
    """The position a cursor holds; CursorExpiredError if not this query's."""
    payload, _, check = text.partition('.')
    if not hmac.compare_digest(_check(fingerprint, payload), check):
        raise CursorExpiredError(
            'the cursor belongs to another query or was altered; '
            'start the search again'
        )
    position: Position
    try:
        body = json.loads(_unb64(payload))
        if body['v'] != VERSION:
            raise ValueError('version')
        start, end = int(body['s']), int(body['e'])
        if body['k'] == 'f':
            position = FilterPosition(str(body['t']), start, end)
        else:
            position = InsightsPosition(
                int(body['ts']),
                frozenset(str(p) for p in body['p']),
                start,
                end,
            )
    except ValueError, KeyError, TypeError, binascii.Error:
        raise CursorExpiredError(
            'the cursor cannot be read; start the search again'
        ) from None
    if not isinstance(position, kind):
        raise CursorExpiredError('the cursor belongs to another search path')
    return position
