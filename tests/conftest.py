"""Cross-package tests: the secret scan runs over every test here."""

import collections.abc
import importlib
import importlib.util
import json
import pathlib
import re
import subprocess
import sys
import tomllib
import types
import typing

import pytest
from imbi_plugin_testing import SecretScan, generation

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


# docs/adding-a-plugin.md: every fenced block whose info string names a
# path (```python packages/example/...```) is a file of its example.
ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / 'docs' / 'adding-a-plugin.md'
_BLOCK = re.compile(
    r'^(?P<fence>```|~~~~)\w+ (?P<path>\S+)\n(?P<text>.*?)^(?P=fence)$',
    re.MULTILINE | re.DOTALL,
)
_HARNESS = 'shared/testing/src/imbi_plugin_testing/'
#: The example's harness modules, loaded from the copy.
EXAMPLE_HARNESS = {
    'imbi_plugin_testing.fakes.example': _HARNESS + 'fakes/example.py',
    'imbi_plugin_testing.profiles.example': _HARNESS + 'profiles/example.py',
    'imbi_plugin_testing.scenarios.example': _HARNESS + 'scenarios/example.py',
}


@pytest.fixture(scope='session')
def example_files() -> dict[str, str]:
    """Path -> content of every file the page gives."""
    return {m['path']: m['text'] for m in _BLOCK.finditer(DOC.read_text())}


def _load(name: str, path: pathlib.Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _dist_info(src: pathlib.Path, pyproject: str) -> None:
    """The metadata an install writes: v1 hosts find the entry point."""
    project = tomllib.loads(pyproject)['project']
    name, version = project['name'], project['version']
    folder = src / f'{name.replace("-", "_")}-{version}.dist-info'
    folder.mkdir()
    (folder / 'METADATA').write_text(
        f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n'
    )
    points = ''.join(
        f'[{group}]\n'
        + ''.join(f'{key} = {value}\n' for key, value in entries.items())
        for group, entries in project['entry-points'].items()
    )
    (folder / 'entry_points.txt').write_text(points)


@pytest.fixture(scope='module')
def example_plugin(
    tmp_path_factory: pytest.TempPathFactory, example_files: dict[str, str]
) -> collections.abc.Iterator[pathlib.Path]:
    """The page's files written out, the package importable as installed.

    ``src`` (with the package's metadata) is on ``sys.path`` for the
    module's tests; the harness's example modules are loaded from the
    copy. Yields the copy's root.
    """
    root = tmp_path_factory.mktemp('new-plugin')
    for path, text in example_files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    src = root / 'packages/example/src'
    _dist_info(src, example_files['packages/example/pyproject.toml'])
    sys.path.insert(0, str(src))
    importlib.invalidate_caches()
    try:
        for name, path in EXAMPLE_HARNESS.items():
            _load(name, root / path)
        yield root
    finally:
        sys.path.remove(str(src))
        importlib.invalidate_caches()
        for name in list(sys.modules):
            if name in EXAMPLE_HARNESS or name.startswith(
                'imbi_plugin_example'
            ):
                sys.modules.pop(name)
        # Its classes are cached by module name: the next copy is new.
        generation.plugin_under_test.cache_clear()
