"""Pytest fixtures of the harness (registered through ``pytest11``)."""

import collections.abc
import contextlib
import pathlib

import pytest

from imbi_plugin_testing import _host
from imbi_plugin_testing._host import LoadResult
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


def pytest_ignore_collect(
    collection_path: pathlib.Path, config: pytest.Config
) -> bool | None:
    """Test files of the other plugin API generation are not collected.

    ``test_v1_*.py`` import a package's v1 module (``plugin.py``), which a
    v3 imbi-common cannot load, and ``test_v3_*.py`` its v3 module; every
    other test file runs on both generations.
    """
    del config
    name = collection_path.name
    for generation in (1, 3):
        if name.startswith(f'test_v{generation}_') and name.endswith('.py'):
            return _host.generation() != generation
    return None


def pytest_report_header() -> str:
    return (
        f'imbi-common {_host.version()}: plugin API generation '
        f'{_host.generation()} ({_host.api().__name__})'
    )
