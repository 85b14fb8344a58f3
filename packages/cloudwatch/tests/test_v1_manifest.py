"""v1 only: the entry point, the v1 registry and the v1 manifest."""

import importlib.metadata
import subprocess
import sys

import pytest
from imbi_common.plugins import LogsPlugin
from imbi_plugin_cloudwatch import spec
from imbi_plugin_cloudwatch.plugin import CloudWatchPlugin
from imbi_plugin_testing import installed


def test_registry_loads_it() -> None:
    with installed(CloudWatchPlugin) as result:
        assert result.loaded == ['cloudwatch']
        assert result.errors == {}
    manifest = CloudWatchPlugin.manifest
    assert issubclass(CloudWatchPlugin, LogsPlugin)
    assert (manifest.slug, manifest.plugin_type, manifest.api_version) == (
        'cloudwatch',
        'logs',
        1,
    )
    assert manifest.supports_histogram is True
    # The account side first, then the per-project settings (the v3
    # split of spec.py, in one list).
    assert [o.name for o in manifest.options] == [
        'region',
        'role_arn',
        'external_id',
        'endpoint_url',
        'sts_endpoint_url',
        'use_host_credentials',
        'allow_plain_http',
        'timeout_seconds',
        'log_group_template',
        'log_stream_prefix_template',
        'message_format',
        'level_field',
        'message_field',
        'query_mode',
        'base_filter',
    ]
    assert [o.name for o in manifest.options if o.required] == ['region']


def test_the_v1_manifest_is_built_from_spec() -> None:
    manifest = CloudWatchPlugin.manifest
    assert (manifest.name, manifest.description) == (
        spec.NAME,
        spec.DESCRIPTION,
    )
    for option, data in zip(manifest.options, spec.options(), strict=True):
        assert {k: getattr(option, k) for k in data} == data
    for field, data in zip(
        manifest.credentials, spec.CREDENTIALS, strict=True
    ):
        assert {k: getattr(field, k) for k in data} == data
    # v1 hosts store every credential as a secret and know no auth_mode.
    assert 'auth_mode' not in {c.name for c in manifest.credentials}


def test_the_entry_point_names_the_v1_class() -> None:
    (entry,) = [
        ep
        for ep in importlib.metadata.entry_points(group='imbi.plugins')
        if ep.name == 'cloudwatch'
    ]
    assert entry.value == 'imbi_plugin_cloudwatch.plugin:CloudWatchPlugin'
    assert entry.load() is CloudWatchPlugin


def test_import_does_not_load_boto3() -> None:
    code = (
        'import sys, imbi_plugin_cloudwatch.plugin as p; '
        'assert p.CloudWatchPlugin.manifest.slug == "cloudwatch"; '
        'loaded = [m for m in ("boto3", "botocore") if m in sys.modules]; '
        'print(loaded); sys.exit(1 if loaded else 0)'
    )
    result = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_a_v1_host_imports_no_v3_code() -> None:
    code = (
        'import sys, imbi_plugin_cloudwatch as m; '
        'from imbi_common.plugins import load_plugins; load_plugins(); '
        "print(hasattr(m, 'PLUGIN'), "
        "'imbi_plugin_cloudwatch._v3' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == 'False False'


def test_plugin_is_not_offered_to_a_v1_host() -> None:
    import imbi_plugin_cloudwatch

    with pytest.raises(AttributeError, match="no attribute 'PLUGIN'"):
        imbi_plugin_cloudwatch.PLUGIN  # noqa: B018
