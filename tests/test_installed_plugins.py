"""All installed first-party plugins, together, as the host loads them."""

import importlib.metadata
import json
import subprocess
import sys

import pytest
from imbi_common.plugins import list_plugins, load_plugins

FIRST_PARTY = 'imbi-plugin-'
HEAVY = (
    'httpx',
    'hvac',
    'boto3',
    'botocore',
    're2',
    'requests',
    'jsonpointer',
)


def first_party_entry_points() -> list[importlib.metadata.EntryPoint]:
    return [
        ep
        for ep in importlib.metadata.entry_points(group='imbi.plugins')
        if ep.dist is not None and ep.dist.name.startswith(FIRST_PARTY)
    ]


ENTRY_POINTS = first_party_entry_points()


def test_the_real_registry_loads_every_plugin() -> None:
    result = load_plugins()
    try:
        assert result.errors == {}
        assert result.skipped == []
        names = {ep.name for ep in ENTRY_POINTS}
        assert names <= set(result.loaded)
        for entry in list_plugins():
            if entry.package_name.startswith(FIRST_PARTY):
                assert entry.manifest.slug in names
                assert entry.manifest.api_version == 1
    finally:
        load_plugins()


@pytest.mark.parametrize(
    'entry_point', ENTRY_POINTS, ids=[ep.name for ep in ENTRY_POINTS]
)
def test_entry_point_module_imports_no_upstream_client(
    entry_point: importlib.metadata.EntryPoint,
) -> None:
    """Loading a plugin must not import its upstream client."""
    module = entry_point.value.split(':', 1)[0]
    code = (
        'import sys, json, imbi_common.plugins\n'
        f'import {module}\n'
        f'print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n'
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, '-c', code],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert loaded == [], f'{module} imports {loaded} at load time'


def test_every_package_folder_is_installed() -> None:
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent
    folders = {
        'imbi-plugin-' + p.name
        for p in (root / 'packages').glob('*')
        if (p / 'pyproject.toml').is_file()
    }
    installed = {ep.dist.name for ep in ENTRY_POINTS if ep.dist is not None}
    assert folders == installed
