"""v1 only: the entry point, the v1 registry and the v1 manifest."""

import subprocess
import sys

import pytest
from imbi_common.plugins import LogsPlugin
from imbi_plugin_loki import spec
from imbi_plugin_loki.plugin import LokiPlugin
from imbi_plugin_testing import installed


def test_registry_loads_it() -> None:
    with installed(LokiPlugin) as result:
        assert result.loaded == ['loki']
        assert result.errors == {}
        assert result.skipped == []
    manifest = LokiPlugin.manifest
    assert issubclass(LokiPlugin, LogsPlugin)
    assert (manifest.slug, manifest.name, manifest.plugin_type) == (
        'loki',
        'Grafana Loki',
        'logs',
    )
    assert manifest.api_version == 1
    assert manifest.supports_histogram is True
    # Connection settings first, then the per-project ones (the v3
    # split of spec.py, in one list).
    assert [o.name for o in manifest.options] == [
        'url',
        'tenant',
        'timeout_seconds',
        'verify_tls',
        'allow_plain_http',
        'selector_template',
        'line_format',
        'level_field',
        'message_field',
        'pipeline',
    ]
    assert [o.name for o in manifest.options if o.required] == ['url']
    assert [(c.name, c.required) for c in manifest.credentials] == [
        ('username', False),
        ('password', False),
        ('token', False),
    ]


def test_importing_the_plugin_loads_no_http_client() -> None:
    code = (
        'import sys, imbi_plugin_loki.plugin; '
        "print(sorted(m for m in ('httpx', 're2') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == '[]'


def test_the_entry_point_names_the_v1_class() -> None:
    import importlib.metadata

    (entry,) = [
        ep
        for ep in importlib.metadata.entry_points(group='imbi.plugins')
        if ep.name == 'loki'
    ]
    assert entry.value == 'imbi_plugin_loki.plugin:LokiPlugin'
    assert entry.load() is LokiPlugin


def test_the_v1_manifest_is_built_from_spec() -> None:
    manifest = LokiPlugin.manifest
    assert manifest.slug == spec.SLUG_V1
    assert manifest.description == spec.DESCRIPTION
    for option, data in zip(manifest.options, spec.options(), strict=True):
        assert {k: getattr(option, k) for k in data} == data
    for field, data in zip(
        manifest.credentials, spec.CREDENTIALS, strict=True
    ):
        assert {k: getattr(field, k) for k in data} == data
    # v1 hosts store every credential as a secret and know no auth_mode.
    assert 'auth_mode' not in {c.name for c in manifest.credentials}


def test_a_v1_host_imports_no_v3_code() -> None:
    code = (
        'import sys, imbi_plugin_loki as m; '
        'from imbi_common.plugins import load_plugins; load_plugins(); '
        "print(hasattr(m, 'PLUGIN'), 'imbi_plugin_loki._v3' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == 'False False'


def test_plugin_is_not_offered_to_a_v1_host() -> None:
    import imbi_plugin_loki

    with pytest.raises(AttributeError, match="no attribute 'PLUGIN'"):
        imbi_plugin_loki.PLUGIN  # noqa: B018
