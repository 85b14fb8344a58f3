"""All installed first-party plugins, together, as the host loads them.

Runs on both plugin API generations: the real ``load_plugins()`` of the
installed imbi-common (entry points on v1, the ``imbi_plugin_*``
convention scan on v3). On v3 that scan also imports the harness
(``imbi_plugin_testing``), which has no ``PLUGIN``: its error is told
apart (imbi_plugin_testing.firstparty) and every other error fails.
"""

import json
import pathlib
import subprocess
import sys

import pytest
from imbi_plugin_testing import _host
from imbi_plugin_testing.firstparty import (
    HARNESS_MODULE,
    FirstParty,
    first_party,
    split_harness,
)
from imbi_plugin_testing.generation import GENERATION

HEAVY = (
    'httpx',
    'hvac',
    'boto3',
    'botocore',
    're2',
    'requests',
    'jsonpointer',
    'jwt',
)
PLUGINS = first_party()
#: Imports the installed plugin API on either path without importing
#: the harness (whose own imports would hide a plugin's).
_IMPORT_API = (
    'import importlib, sys, json\n'
    'try:\n'
    '    api = importlib.import_module("imbi_common.plugins")\n'
    'except ModuleNotFoundError:\n'
    '    api = importlib.import_module("imbi.common.plugins")\n'
    'v3 = hasattr(api, "CapabilityHandler")\n'
)


def test_the_real_registry_loads_every_plugin() -> None:
    api = _host.api()
    result = api.load_plugins()
    try:
        errors, harness = split_harness(result.errors)
        assert errors == {}
        assert result.skipped == []
        if GENERATION == 3:
            # The scan imports the harness too; nothing else is wrong.
            assert harness is not None
            assert 'PLUGIN' in harness
        else:
            assert harness is None
        slugs = {p.slug for p in PLUGINS}
        assert slugs <= set(result.loaded)
        for slug in slugs:
            manifest = api.get_plugin(slug).manifest
            assert manifest.api_version == (2 if GENERATION == 3 else 1)
    finally:
        api.load_plugins()


@pytest.mark.parametrize('plugin', PLUGINS, ids=lambda p: p.slug_v1)
def test_loading_a_plugin_imports_no_upstream_client(
    plugin: FirstParty,
) -> None:
    """What a host imports to register a plugin holds no upstream client.

    v1: the entry point's module; v3: the package and its ``PLUGIN``.
    """
    entry_module = plugin.entry_point.split(':', 1)[0]
    code = (
        _IMPORT_API
        + f'import {plugin.module} as m\n'
        + 'if v3:\n'
        + '    m.PLUGIN\n'
        + 'else:\n'
        + f'    importlib.import_module("{entry_module}")\n'
        + f'print(json.dumps([n for n in {HEAVY!r} if n in sys.modules]))\n'
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, '-c', code],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert loaded == [], f'{plugin.module} imports {loaded} at load time'


def test_every_package_folder_is_installed() -> None:
    root = pathlib.Path(__file__).resolve().parent.parent
    folders = {
        p.name
        for p in (root / 'packages').glob('*')
        if (p / 'pyproject.toml').is_file()
    }
    assert folders == {p.folder for p in PLUGINS}
    assert HARNESS_MODULE not in {p.module for p in PLUGINS}
