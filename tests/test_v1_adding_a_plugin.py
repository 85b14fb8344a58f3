"""v1 hosts: docs/adding-a-plugin.md's example as a v1 registry finds it.

Through the entry point the page's pyproject.toml declares (the copy
carries the metadata an install writes), in a fresh interpreter as a
host starts: the load executes what declares the plugin and no v3 code.
test_adding_a_plugin.py holds the example to every other check.
"""

import importlib
import os
import pathlib
import typing

from imbi_plugin_testing.generation import plugin_under_test

MODULE = 'imbi_plugin_example'


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


def test_a_v1_host_loads_it_through_its_entry_point(
    example_plugin: pathlib.Path, load_in_a_fresh_host: typing.Any
) -> None:
    src = example_plugin / 'packages/example/src'
    path = os.pathsep.join(filter(None, [str(src), os.getenv('PYTHONPATH')]))
    found = load_in_a_fresh_host({**os.environ, 'PYTHONPATH': path})
    assert found['errors'] == {}
    assert 'example' in found['loaded']
    executed, deferred = _executed(found)
    assert executed == {'', '_host', 'spec', 'handler', 'plugin'}
    assert deferred == {'client', 'options'}
    assert not [m for m in found['modules'] if m.startswith('imbi.')]


def test_the_v1_manifest_lists_every_option(
    example_plugin: pathlib.Path,
) -> None:
    package = importlib.import_module(MODULE)
    spec = importlib.import_module(f'{MODULE}.spec')
    plugin = importlib.import_module(f'{MODULE}.plugin').ExamplePlugin
    manifest = plugin.manifest
    assert plugin_under_test(MODULE) is plugin
    assert (manifest.slug, manifest.plugin_type, manifest.api_version) == (
        'example',
        'configuration',
        1,
    )
    # Both v3 layers in one list, the Integration's first.
    assert [o.name for o in manifest.options] == [
        'url',
        'timeout_seconds',
        'keystore_project',
    ]
    assert manifest.cacheable is spec.CACHEABLE is False
    assert not hasattr(package, 'PLUGIN')
