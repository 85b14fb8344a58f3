"""docs/adding-a-plugin.md works: its skeleton, copied out, passes the checks.

v1 only: the page gives a v1 plugin (an entry point, no ``PLUGIN``); a v3
registry has nothing of it to load.

Every fenced block whose info string names a path (```python
packages/example/...```) is written to a temporary folder; the plugin is
then held to what the repository holds every plugin to: the contract
suite, the fault and bad-input matrices of its profile, its demo scenario,
its own tests and the README template.
"""

import collections.abc
import importlib.util
import pathlib
import re
import sys
import types

import pytest
from imbi_plugin_testing.contract import check_plugin_contract_async
from imbi_plugin_testing.generation import ManifestView
from imbi_plugin_testing.profiles import (
    FAULTS,
    MATRIX_BUDGET_SECONDS,
    outcome,
    profile_for,
)
from imbi_plugin_testing.scenarios import Steps, scenario_for

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / 'docs' / 'adding-a-plugin.md'
_BLOCK = re.compile(
    r'^(?P<fence>```|~~~~)\w+ (?P<path>\S+)\n(?P<text>.*?)^(?P=fence)$',
    re.MULTILINE | re.DOTALL,
)
HARNESS = 'shared/testing/src/imbi_plugin_testing/'
MODULES = {
    'imbi_plugin_testing.fakes.example': HARNESS + 'fakes/example.py',
    'imbi_plugin_testing.profiles.example': HARNESS + 'profiles/example.py',
    'imbi_plugin_testing.scenarios.example': HARNESS + 'scenarios/example.py',
}


def skeleton() -> dict[str, str]:
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


@pytest.fixture(scope='module')
def copied(
    tmp_path_factory: pytest.TempPathFactory,
) -> collections.abc.Iterator[pathlib.Path]:
    """The skeleton written out and importable as the page says."""
    root = tmp_path_factory.mktemp('new-plugin')
    for path, text in skeleton().items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    source = str(root / 'packages/example/src')
    sys.path.insert(0, source)
    try:
        for name, path in MODULES.items():
            _load(name, root / path)
        yield root
    finally:
        sys.path.remove(source)
        for name in [*MODULES, 'imbi_plugin_example']:
            sys.modules.pop(name, None)
        for name in [n for n in sys.modules if n.startswith('imbi_plugin_ex')]:
            sys.modules.pop(name, None)


def test_the_page_gives_every_file() -> None:
    files = skeleton()
    package = 'packages/example/'
    for needed in [
        package + 'pyproject.toml',
        package + 'README.md',
        package + 'CHANGELOG.md',
        package + 'src/imbi_plugin_example/plugin.py',
        package + 'src/imbi_plugin_example/options.py',
        package + 'src/imbi_plugin_example/client.py',
        package + 'tests/conftest.py',
        'docs/upstreams/example.md',
        *MODULES.values(),
    ]:
        assert needed in files, needed
    assert any(p.startswith(package + 'tests/test_') for p in files)


async def test_the_contract_suite_passes(
    copied: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(copied)  # the profile's README path is relative
    made = profile_for('example')
    assert made is not None
    await check_plugin_contract_async(made.contract())


async def test_the_matrices_pass(copied: pathlib.Path) -> None:
    made = profile_for('example')
    assert made is not None
    failures = []
    for call in made.calls:
        for fault in FAULTS:
            with made.serving() as (fake, url):
                budget = 1 if fault == 'stall' else MATRIX_BUDGET_SECONDS
                target = 'http://127.0.0.1:9' if fault == 'refused' else url
                host = made.make_host(fake, target, budget)
                injected = made.fault(fault, call.target)
                if injected is not None:
                    fake.inject(injected)
                got = outcome(await call.run(host))
            if got != call.expected(fault):
                failures.append(f'{call.name} {fault}: {got}')
    for bad in made.bad_inputs:
        with made.serving() as (fake, url):
            host = made.make_host(fake, url, MATRIX_BUDGET_SECONDS)
            got = outcome(await bad.run(host))
            if got != bad.error or fake.requests:
                failures.append(f'{bad.name}: {got}, {len(fake.requests)}')
    assert failures == []


async def test_the_demo_scenario_passes(copied: pathlib.Path) -> None:
    module = scenario_for('example')
    assert module is not None
    steps = Steps('example')
    await module.run(steps)
    assert steps.results
    assert all(step.ok for step in steps.results), steps.results


def test_its_own_tests_pass(
    copied: pathlib.Path, pytester: pytest.Pytester
) -> None:
    tests = copied / 'packages/example/tests'
    # The repository's pytest settings (pyproject.toml), which a package's
    # tests run under.
    result = pytester.runpytest_inprocess(
        str(tests),
        '-p',
        'no:cacheprovider',
        '-q',
        '-o',
        'asyncio_mode=auto',
        '--import-mode=importlib',
    )
    result.assert_outcomes(passed=3)


def test_its_readme_follows_the_template(copied: pathlib.Path) -> None:
    module = _load('test_readmes_for_skeleton', ROOT / 'tests/test_readmes.py')
    try:
        made = profile_for('example')
        assert made is not None
        view = ManifestView(made.contract().plugin)
        plugin = module.Plugin(view, copied / 'packages/example')
        assert module._problems(plugin) == []
    finally:
        sys.modules.pop('test_readmes_for_skeleton', None)
