"""``_host``: the installed plugin API, found on either import path.

Runs on both generations.
"""

import importlib
import json
import subprocess
import sys
import types

import pytest
from imbi_plugin_sonarqube_sync import _host


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """An empty cache and an import hook; returns the paths tried."""
    monkeypatch.setattr(_host, '_cache', [])
    return []


def _importer(
    tried: list[str], missing: dict[str, str], found: types.ModuleType
) -> object:
    def import_module(path: str) -> types.ModuleType:
        tried.append(path)
        if path in missing:
            raise ModuleNotFoundError(
                f'no {missing[path]}', name=missing[path]
            )
        return found

    return import_module


def test_api_is_the_installed_plugins_module() -> None:
    api = _host.api()
    assert api.__name__ in _host.PATHS
    assert _host.api() is api
    assert _host.generation() in (1, 3)
    assert _host.PluginContext is api.PluginContext


def test_old_path_first(
    monkeypatch: pytest.MonkeyPatch, fresh: list[str]
) -> None:
    module = types.ModuleType('imbi_common.plugins')
    monkeypatch.setattr(
        importlib, 'import_module', _importer(fresh, {}, module)
    )
    assert _host.api() is module
    assert fresh == ['imbi_common.plugins']


def test_new_path_when_the_old_is_absent(
    monkeypatch: pytest.MonkeyPatch, fresh: list[str]
) -> None:
    module = types.ModuleType('imbi.common.plugins')
    monkeypatch.setattr(
        importlib,
        'import_module',
        _importer(fresh, {'imbi_common.plugins': 'imbi_common'}, module),
    )
    assert _host.api() is module
    assert fresh == list(_host.PATHS)


def test_a_missing_dependency_of_imbi_common_surfaces(
    monkeypatch: pytest.MonkeyPatch, fresh: list[str]
) -> None:
    monkeypatch.setattr(
        importlib,
        'import_module',
        _importer(
            fresh,
            {'imbi_common.plugins': 'psycopg'},
            types.ModuleType('x'),
        ),
    )
    with pytest.raises(ModuleNotFoundError) as caught:
        _host.api()
    assert caught.value.name == 'psycopg'
    assert fresh == ['imbi_common.plugins']


def test_no_imbi_common_at_all(
    monkeypatch: pytest.MonkeyPatch, fresh: list[str]
) -> None:
    monkeypatch.setattr(
        importlib,
        'import_module',
        _importer(
            fresh,
            {
                'imbi_common.plugins': 'imbi_common',
                'imbi.common.plugins': 'imbi',
            },
            types.ModuleType('x'),
        ),
    )
    with pytest.raises(ModuleNotFoundError, match='imbi-common is not'):
        _host.api()


def test_names_newer_hosts_have() -> None:
    assert _host.optional('NoSuchName') is None
    with pytest.raises(AttributeError, match='NoSuchName'):
        _ = _host.NoSuchName
    # Dunder lookups never reach the host module.
    with pytest.raises(AttributeError):
        _ = _host.__wrapped__


def test_rate_limited_is_the_hosts_class() -> None:
    error = _host.rate_limited(1234.0, 'slow down')
    limited = _host.optional('PluginRateLimited')
    if limited is None:
        assert type(error) is _host.api().PluginUnavailableError
    else:
        assert type(error) is limited
        assert error.retry_at == 1234.0  # type: ignore[attr-defined]
    assert 'slow down' in str(error)


def test_importing_the_package_imports_no_host() -> None:
    code = (
        'import sys, json\n'
        'import imbi_plugin_sonarqube_sync\n'
        "print(json.dumps(sorted(m for m in ('imbi', 'imbi_common', "
        "'imbi_plugin_sonarqube_sync._v3', "
        "'imbi_plugin_sonarqube_sync._host') if m in sys.modules)))\n"
    )
    output = subprocess.run(
        [sys.executable, '-c', code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(output) == []
