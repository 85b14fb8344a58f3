"""PKCE (RFC 7636) with S256, the only method GitHub accepts.

The standard library is enough: a verifier is 64 random bytes in
base64url (86 characters of the unreserved set) and the challenge is the
unpadded base64url SHA-256 of it.
"""

import base64
import hashlib
import re
import secrets

VERIFIER = re.compile(r'[A-Za-z0-9._~-]{43,128}')


def new_verifier() -> str:
    return secrets.token_urlsafe(64)


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode('ascii')).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b'=').decode('ascii')


def is_valid_verifier(value: str) -> bool:
    return VERIFIER.fullmatch(value) is not None
