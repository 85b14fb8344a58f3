"""v3 hosts (imbi-common 2.12+): the real convention scan and its slugs.

The scan imports every top-level ``imbi_plugin_*`` module, the harness
(``imbi_plugin_testing``) included, which has no ``PLUGIN``: that one
error is the harness's, expected here and never in a host (the harness
is never installed there). Every other error fails.
"""

import os
import typing

import pytest
from imbi_plugin_testing import _host
from imbi_plugin_testing.firstparty import (
    HARNESS_MODULE,
    FirstParty,
    first_party,
    split_harness,
)
from imbi_plugin_testing.generation import ManifestView, plugin_under_test

#: folder (distribution imbi-plugin-<folder>) -> (v3 slug, kind).
V3 = {
    'vault': ('vault', 'configuration'),
    'loki': ('loki', 'logs'),
    'cloudwatch': ('cloudwatch', 'logs'),
    'github-identity': ('github-identity', 'identity'),
    'github-actions': ('github-actions', 'deployment'),
    'sonarqube-sync': ('sonarqube-sync', 'webhook-actions'),
    'archiver': ('archiver', 'lifecycle'),
}
PLUGINS = first_party()


def test_every_plugin_loads_under_its_v3_slug(
    load_in_a_fresh_host: typing.Any,
) -> None:
    found = load_in_a_fresh_host()
    errors, harness = split_harness(found['errors'])
    assert errors == {}
    assert found['skipped'] == []
    assert harness == (
        f"Module {HARNESS_MODULE!r} has no module-level 'PLUGIN' attribute"
    )
    expected = {V3[p.folder][0] for p in PLUGINS}
    assert expected <= set(found['loaded'])
    assert len(PLUGINS) == len(expected)


@pytest.mark.parametrize('plugin', PLUGINS, ids=lambda p: p.folder)
def test_kind_and_slug(plugin: FirstParty) -> None:
    view = ManifestView(plugin_under_test(plugin.module))
    assert (view.slug, view.kind) == V3[plugin.folder]
    assert view.manifest.api_version == 2


def test_a_v3_host_imports_no_v1_module(
    load_in_a_fresh_host: typing.Any,
) -> None:
    found = load_in_a_fresh_host()
    modules = set(found['modules'])
    for plugin in PLUGINS:
        assert f'{plugin.module}._v3' in modules
        assert plugin.entry_point.split(':', 1)[0] not in modules


def test_explicit_registration_next_to_the_scan_is_no_duplicate(
    load_in_a_fresh_host: typing.Any,
) -> None:
    # IMBI_PLUGINS names PLUGIN directly, as an operator may; the scan
    # finds the same classes, which the registry takes once.
    env = {
        **os.environ,
        'IMBI_PLUGINS': ','.join(f'{p.module}:PLUGIN' for p in PLUGINS),
    }
    found = load_in_a_fresh_host(env)
    errors, _ = split_harness(found['errors'])
    assert errors == {}
    assert {V3[p.folder][0] for p in PLUGINS} <= set(found['loaded'])


def test_the_harness_is_reported_apart() -> None:
    result = _host.api().load_plugins()
    try:
        errors, harness = split_harness(result.errors)
        assert harness is not None
        assert HARNESS_MODULE not in errors
    finally:
        _host.api().load_plugins()
