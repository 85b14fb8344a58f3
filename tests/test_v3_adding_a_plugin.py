"""v3 hosts: docs/adding-a-plugin.md's example, loaded and called.

The real registry's convention scan finds the copied package on
``sys.path`` (as an installed one), reads its ``PLUGIN`` and resolves the
capability's handler, which then serves a host's calls against the
page's stand-in. At start-up the load executes what declares the plugin
and no v1 code. test_adding_a_plugin.py holds the example to every other
check.
"""

import collections.abc
import importlib
import os
import pathlib
import sys
import typing

import pytest
from imbi_plugin_testing import Host, _host
from imbi_plugin_testing.firstparty import split_harness
from imbi_plugin_testing.generation import ManifestView, plugin_under_test

MODULE = 'imbi_plugin_example'
registry: typing.Any = _host.api().registry


@pytest.fixture
def own_registry() -> collections.abc.Iterator[None]:
    """load_plugins() replaces the process-wide registry: put it back."""
    with registry._lock:
        saved = dict(registry._registry)
    yield
    with registry._lock:
        registry._registry.clear()
        registry._registry.update(saved)


def _executed(found: dict[str, typing.Any]) -> tuple[set[str], set[str]]:
    """The example's modules a load executed, and those it only bound."""
    ours = {
        name.removeprefix(MODULE).removeprefix('.')
        for name in found['modules']
        if name == MODULE or name.startswith(f'{MODULE}.')
    }
    deferred = {
        name.removeprefix(f'{MODULE}.')
        for name in found['deferred']
        if name.startswith(f'{MODULE}.')
    }
    return ours - deferred, deferred


def test_a_v3_host_loads_it_at_start_up(
    example_plugin: pathlib.Path, load_in_a_fresh_host: typing.Any
) -> None:
    src = example_plugin / 'packages/example/src'
    path = os.pathsep.join(filter(None, [str(src), os.getenv('PYTHONPATH')]))
    found = load_in_a_fresh_host({**os.environ, 'PYTHONPATH': path})
    errors, _ = split_harness(found['errors'])
    assert errors == {}
    assert 'example' in found['loaded']
    executed, deferred = _executed(found)
    assert executed == {'', '_host', 'spec', 'handler', '_v3'}
    assert deferred == {'client', 'options'}


def test_the_manifest_splits_the_options(
    example_plugin: pathlib.Path,
) -> None:
    plugin = importlib.import_module(MODULE).PLUGIN
    assert plugin_under_test(MODULE) is plugin
    view = ManifestView(plugin)
    assert view.v3
    assert (view.slug, view.kind, view.manifest.api_version) == (
        'example',
        'configuration',
        2,
    )
    assert [o.name for o in view.integration_options] == [
        'url',
        'timeout_seconds',
    ]
    assert [o.name for o in view.capability_options] == ['keystore_project']
    assert view.hint('cacheable') is False
    # A required token: an Integration's credentials are never empty.
    assert [(c.name, c.required) for c in view.credentials] == [
        ('token', True)
    ]
    assert f'{MODULE}.plugin' not in sys.modules


@pytest.mark.usefixtures('example_plugin', 'own_registry')
async def test_the_registry_resolves_it_and_a_host_calls_it() -> None:
    result = registry.load_plugins()
    assert 'example' in result.loaded
    plugin = importlib.import_module(MODULE).PLUGIN
    assert registry.get_plugin('example').plugin_cls is plugin
    handler = registry.get_capability('example', 'configuration')
    fakes = importlib.import_module('imbi_plugin_testing.fakes.example')
    fake = fakes.ExampleKeystore()
    with fake.serve() as url:
        # Connection on the Integration, the folder on the project's edge.
        host = Host(
            plugin,
            plugin_options={'url': url},
            project_options={'keystore_project': 'billing'},
            credentials={'token': fake.token},
        )
        assert host.handler is handler
        written = await host.set_value('LOG_LEVEL', 'info', 'string')
        listed = await host.list_keys()
        values = await host.get_values(['LOG_LEVEL'])
    assert written.ok, written.error
    assert [k['key'] for k in listed.body] == ['LOG_LEVEL']
    assert [v['value'] for v in values.body] == ['info']
    assert list(fake.folders) == ['aweber/billing/all']
