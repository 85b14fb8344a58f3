"""Pytest fixtures of the harness (registered through ``pytest11``)."""

import collections.abc
import contextlib

import pytest
from imbi_common.plugins import LoadResult

from imbi_plugin_testing.registry import installed
from imbi_plugin_testing.secrets import SecretScan
from imbi_plugin_testing.standin import StallServer


@pytest.fixture
def secret_scan() -> collections.abc.Iterator[SecretScan]:
    """Fail the test if a registered secret reaches logs or errors.

    Credentials given to a :class:`~imbi_plugin_testing.Host` are
    registered automatically; add others with ``secret_scan.add(...)``.
    """
    with SecretScan() as scan:
        yield scan
    scan.check()


@pytest.fixture
def installed_plugins() -> collections.abc.Iterator[
    collections.abc.Callable[..., LoadResult]
]:
    """``installed_plugins(*classes)``: load them through the real registry.

    The registry is emptied again when the test ends.
    """
    with contextlib.ExitStack() as stack:

        def install(*classes: type) -> LoadResult:
            return stack.enter_context(installed(*classes))

        yield install


@pytest.fixture
def stall_server() -> collections.abc.Iterator[StallServer]:
    """A 127.0.0.1 server that accepts connections and never answers."""
    with StallServer() as server:
        yield server
