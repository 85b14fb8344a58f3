"""Stands in for ``apache-iggy``, which cannot be installed here.

imbi-common 2.32 and later import ``apache_iggy`` at the top of
``imbi.common.iggy.client`` (through the gateway's ``notifications``),
and apache-iggy has no CPython 3.14 wheel and its Rust build needs
crates.io. The tests replace the gateway's publishing with a recorder,
so nothing here may ever be used: each name raises when called.
"""

import typing

_MESSAGE = (
    'apache-iggy is not installed here (no cp314 wheel); the host tests '
    'record what the gateway publishes instead'
)


class _Unavailable:
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise RuntimeError(_MESSAGE)

    @classmethod
    def from_connection_string(cls, *args: typing.Any) -> typing.NoReturn:
        raise RuntimeError(_MESSAGE)


class IggyClient(_Unavailable):
    """Raises: the gateway's Iggy client is never connected here."""


class SendMessage(_Unavailable):
    """Raises: messages are recorded, never built for Iggy."""
