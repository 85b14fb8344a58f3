"""The package's top level and ``_host``, on either generation."""

import subprocess
import sys

import imbi_plugin_cloudwatch
import pytest
from imbi_plugin_cloudwatch import _host


def test_other_names_are_not_attributes() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        imbi_plugin_cloudwatch.nothing  # noqa: B018


def test_host_names_resolve_to_the_installed_api() -> None:
    api = _host.api()
    assert _host.api() is api
    assert _host.PluginContext is api.PluginContext
    assert _host.expand_template is api.expand_template
    # v1 2.5.0 keeps this one in errors only.
    assert _host.PluginAuthenticationFailed is (
        api.errors.PluginAuthenticationFailed
    )
    with pytest.raises(AttributeError, match="has no 'NoSuchName'"):
        _host.NoSuchName  # noqa: B018
    with pytest.raises(AttributeError):
        _host.__wrapped__  # noqa: B018
    assert _host.optional('NoSuchName') is None


def test_generation_matches_the_api_path() -> None:
    path = _host.api().__name__
    assert path in _host.PATHS
    if path == 'imbi.common.plugins':
        assert _host.generation() == 3
    else:
        assert _host.generation() == (
            3 if hasattr(_host.api(), 'CapabilityHandler') else 1
        )


def test_importing_the_package_imports_no_host() -> None:
    code = (
        'import sys, imbi_plugin_cloudwatch; '
        "print(sorted(m for m in ('imbi_common', 'imbi.common', 'boto3') "
        'if m in sys.modules))'
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == '[]'
