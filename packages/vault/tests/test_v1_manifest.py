"""The v1 manifest and entry point (collected on v1 hosts only)."""

import importlib.metadata
import subprocess
import sys

from imbi_plugin_vault.plugin import VaultPlugin

from .conftest import PLUGIN


def test_the_entry_point_is_the_v1_class() -> None:
    (entry,) = [
        ep
        for ep in importlib.metadata.entry_points(group='imbi.plugins')
        if ep.name == 'vault'
    ]
    assert entry.value == 'imbi_plugin_vault.plugin:VaultPlugin'
    assert PLUGIN is VaultPlugin


def test_manifest_names() -> None:
    manifest = VaultPlugin.manifest
    assert (manifest.slug, manifest.name, manifest.plugin_type) == (
        'vault',
        'HashiCorp Vault',
        'configuration',
    )
    assert manifest.api_version == 1
    assert manifest.cacheable is False
    assert [o.name for o in manifest.options] == [
        'url',
        'mount_path',
        'kv_version',
        'namespace',
        'delete_mode',
        'max_concurrency',
        'timeout_seconds',
        'verify_tls',
        'redirect_hosts',
        'allow_plain_http',
        # Last since the v3 split: the capability option after the
        # Integration's.
        'path_template',
    ]
    required = {o.name for o in manifest.options if o.required}
    assert required == {'url'}
    assert [(c.name, c.required) for c in manifest.credentials] == [
        ('token', True)
    ]
    assert [(d.name, d.label, d.secret) for d in manifest.data_types] == [
        ('string', 'String', False),
        ('secret', 'Secret', True),
    ]
    choices = {o.name: o.choices for o in manifest.options if o.choices}
    assert choices == {
        'kv_version': ['1', '2'],
        'delete_mode': ['soft', 'destroy'],
    }


def test_no_plugin_attribute_on_v1() -> None:
    import imbi_plugin_vault

    assert not hasattr(imbi_plugin_vault, 'PLUGIN')
    assert 'imbi_plugin_vault._v3' not in sys.modules


def test_a_v1_host_imports_no_v3_code() -> None:
    # A fresh interpreter: the v1 registry loads every plugin, then
    # nothing of _v3 (nor of a v3 imbi-common) has been imported.
    code = (
        'import sys\n'
        'import imbi_plugin_vault\n'
        'from imbi_common.plugins import load_plugins\n'
        'result = load_plugins()\n'
        "assert 'vault' in result.loaded, result\n"
        "assert not hasattr(imbi_plugin_vault, 'PLUGIN')\n"
        'print(sorted(m for m in sys.modules if m.startswith(\n'
        "    ('imbi_plugin_vault', 'imbi.common'))))\n"
    )
    done = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = done.stdout.strip()
    assert 'imbi_plugin_vault.plugin' in loaded
    assert 'imbi_plugin_vault._v3' not in loaded
    assert 'imbi.common' not in loaded
