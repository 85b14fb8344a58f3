"""What a host executes of each plugin at start-up, either generation.

A host imports every installed plugin when it starts and calls few of
them in a process's life. So load_plugins() executes only the modules
that declare a plugin (its package, ``_host``, ``spec``, ``handler`` and
the generation's plugin class); option parsing, query builders, result
mapping and upstream clients are bound through ``_host.deferred`` or
imported inside the call, and run on the first call.
benchmarks/bench_startup.py measures what this keeps small.
"""

import subprocess
import sys
import typing

import pytest
from imbi_plugin_testing import generation
from imbi_plugin_testing.firstparty import FirstParty, first_party

PLUGINS = first_party()
#: What declares a plugin, whatever the package.
DECLARING = {'', '_host', 'spec', 'handler'}
#: More a registry needs at load, and why.
EXTRA: dict[str, set[str]] = {
    # The action catalog (imbi-common 2.5.1+ and v3) names the callable
    # and its config model by import path, and the host's descriptor
    # model imports both when it is built.
    'imbi_plugin_sonarqube_sync': {'actions', 'config'},
}


def allowed(plugin: FirstParty) -> set[str]:
    own = {'_v3'} if generation.V3 else {'plugin'}
    return DECLARING | own | EXTRA.get(plugin.module, set())


@pytest.fixture(scope='module')
def loaded(load_in_a_fresh_host: typing.Any) -> dict[str, typing.Any]:
    # One host start-up serves every parameter.
    found: dict[str, typing.Any] = load_in_a_fresh_host()
    return found


@pytest.mark.parametrize('plugin', PLUGINS, ids=lambda p: p.folder)
def test_start_up_executes_only_what_declares_the_plugin(
    plugin: FirstParty, loaded: dict[str, typing.Any]
) -> None:
    deferred = set(loaded['deferred'])
    executed = {
        name.removeprefix(plugin.module).removeprefix('.')
        for name in loaded['modules']
        if (name == plugin.module or name.startswith(f'{plugin.module}.'))
        and name not in deferred
    }
    assert '' in executed, f'{plugin.module} was not loaded'
    assert executed <= allowed(plugin), sorted(executed - allowed(plugin))


_DEFERRED = """
import importlib, sys
package = sys.argv[1]
host = importlib.import_module(package + '._host')
name = package + '.spec'
assert name not in sys.modules
module = host.deferred(name)
assert type(module).__name__ == '_LazyModule', type(module)
assert getattr(sys.modules[package], 'spec') is module
assert isinstance(module.NAME, str)
assert type(module).__name__ == 'module', type(module)
assert importlib.import_module(name) is module
assert host.deferred(name) is module
try:
    host.deferred(package + '.no_such_module')
except ModuleNotFoundError as exc:
    assert exc.name == package + '.no_such_module', exc.name
else:
    raise AssertionError('no ModuleNotFoundError')
"""


@pytest.mark.parametrize('plugin', PLUGINS, ids=lambda p: p.folder)
def test_a_deferred_module_runs_on_its_first_use(plugin: FirstParty) -> None:
    # A fresh interpreter: this session has imported every module.
    subprocess.run(
        [sys.executable, '-c', _DEFERRED, plugin.module],
        check=True,
        timeout=60,
    )
