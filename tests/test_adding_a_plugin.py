"""docs/adding-a-plugin.md works: its example, copied out, passes the checks.

The ``example_plugin`` fixture (conftest.py) writes every file the page
gives to a temporary folder, importable as if installed. On either
generation the plugin is then held to what the repository holds every
plugin to: the contract suite, the fault and bad-input matrices of its
profile, its demo scenario, its own tests and the README template.
``test_v1_adding_a_plugin.py`` and ``test_v3_adding_a_plugin.py`` load it
as each generation's host does.
"""

import importlib.util
import pathlib
import re
import sys
import types

import pytest
from imbi_plugin_testing import generation
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
PACKAGE = 'packages/example/'
SOURCE = PACKAGE + 'src/imbi_plugin_example/'
HARNESS = 'shared/testing/src/imbi_plugin_testing/'
#: Its own tests: test_v3_* files run on v3 hosts only.
OWN_TESTS = 5 if generation.V3 else 4
_TYPE_CHECKING = re.compile(
    r'^if typing\.TYPE_CHECKING:\n.*?\n\n', re.MULTILINE | re.DOTALL
)


def test_the_page_gives_every_file(example_files: dict[str, str]) -> None:
    for needed in [
        PACKAGE + 'pyproject.toml',
        PACKAGE + 'README.md',
        PACKAGE + 'CHANGELOG.md',
        *(
            SOURCE + module
            for module in (
                '__init__.py',
                '_host.py',
                'spec.py',
                'handler.py',
                'plugin.py',
                '_v3.py',
                'options.py',
                'client.py',
                'py.typed',
            )
        ),
        PACKAGE + 'tests/conftest.py',
        'docs/upstreams/example.md',
        HARNESS + 'fakes/example.py',
        HARNESS + 'profiles/example.py',
        HARNESS + 'scenarios/example.py',
    ]:
        assert needed in example_files, needed
    assert any(p.startswith(PACKAGE + 'tests/test_') for p in example_files)


def test_its_host_module_is_the_packages_own(
    example_files: dict[str, str],
) -> None:
    # The page says to copy _host.py from any package: every copy is the
    # same apart from the names its TYPE_CHECKING block lists.
    page = _TYPE_CHECKING.sub('', example_files[SOURCE + '_host.py'], 1)
    copies = sorted(ROOT.glob('packages/*/src/*/_host.py'))
    assert copies
    for path in copies:
        assert _TYPE_CHECKING.sub('', path.read_text(), 1) == page, path


async def test_the_contract_suite_passes(
    example_plugin: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(example_plugin)  # the profile's README path
    made = profile_for('example')
    assert made is not None
    await check_plugin_contract_async(made.contract())


@pytest.mark.usefixtures('example_plugin')
async def test_the_matrices_pass() -> None:
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


@pytest.mark.usefixtures('example_plugin')
async def test_the_demo_scenario_passes() -> None:
    module = scenario_for('example')
    assert module is not None
    steps = Steps('example')
    await module.run(steps)
    assert steps.results
    assert all(step.ok for step in steps.results), steps.results


def test_its_own_tests_pass(
    example_plugin: pathlib.Path, pytester: pytest.Pytester
) -> None:
    tests = example_plugin / PACKAGE / 'tests'
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
    result.assert_outcomes(passed=OWN_TESTS)


def _load(name: str, path: pathlib.Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_its_readme_follows_the_template(example_plugin: pathlib.Path) -> None:
    module = _load('test_readmes_for_example', ROOT / 'tests/test_readmes.py')
    try:
        made = profile_for('example')
        assert made is not None
        view = ManifestView(made.contract().plugin)
        plugin = module.Plugin(view, example_plugin / PACKAGE)
        assert module._problems(plugin) == []
    finally:
        sys.modules.pop('test_readmes_for_example', None)
