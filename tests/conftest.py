"""Cross-package tests: the secret scan runs over every test here."""

import collections.abc
import json
import subprocess
import sys
import typing

import pytest
from imbi_plugin_testing import SecretScan

LoadInAFreshHost = collections.abc.Callable[..., dict[str, typing.Any]]


@pytest.fixture(autouse=True)
def _no_secret_leaks(secret_scan: SecretScan) -> SecretScan:
    # Every credential a Host is given is registered automatically.
    return secret_scan


# What a host process holds after its own load_plugins(), in a fresh
# interpreter: the harness imports every generation's helpers, so this
# session's sys.modules says nothing about a host's.
_LOAD = """
import importlib, json, sys
try:
    api = importlib.import_module('imbi_common.plugins')
except ModuleNotFoundError:
    api = importlib.import_module('imbi.common.plugins')
result = api.load_plugins()
print(json.dumps({
    'loaded': result.loaded,
    'errors': result.errors,
    'skipped': result.skipped,
    'modules': sorted(
        name for name in sys.modules
        if name.startswith(('imbi_plugin_', 'imbi_common', 'imbi.'))
    ),
    # Bound for a later call (the stdlib's LazyLoader) but not executed.
    'deferred': sorted(
        name for name, module in sys.modules.items()
        if type(module).__name__ == '_LazyModule'
    ),
}))
"""


@pytest.fixture(scope='session')
def load_in_a_fresh_host() -> LoadInAFreshHost:
    """``load_plugins()`` in a new interpreter: its result and modules."""

    def load(env: dict[str, str] | None = None) -> dict[str, typing.Any]:
        done = subprocess.run(
            [sys.executable, '-c', _LOAD],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        found: dict[str, typing.Any] = json.loads(done.stdout)
        return found

    return load
