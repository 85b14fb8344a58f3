"""Validation of configuration keys and Vault paths (no request made)."""

import unicodedata

MAX_KEY_LENGTH = 512


def validate_path(path: str) -> None:
    """A slash-separated Vault path: no empty, ``.``/``..`` or control parts.

    Raises ValueError describing the problem (without echoing the path).
    """
    if not path:
        raise ValueError('it is empty')
    if any(unicodedata.category(c) in ('Cc', 'Cf') for c in path):
        raise ValueError('it contains control characters')
    if path.startswith('/') or path.endswith('/'):
        raise ValueError('it starts or ends with "/"')
    for segment in path.split('/'):
        if not segment:
            raise ValueError('it contains an empty segment ("//")')
        if segment in ('.', '..'):
            raise ValueError(f'it contains a "{segment}" segment')


def validate_key(key: object) -> str:
    """The key, or ValueError when Imbi must not send it to Vault."""
    if not isinstance(key, str):
        raise ValueError('a key must be a string')
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(
            f'invalid key: longer than {MAX_KEY_LENGTH} characters'
        )
    try:
        validate_path(key)
    except ValueError as exc:
        raise ValueError(f'invalid key {key!r}: {exc}') from None
    return key
