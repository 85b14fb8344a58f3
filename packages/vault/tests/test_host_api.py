"""``_host``: the installed generation's plugin API, on both paths.

imbi-common 2.3-2.16 serves ``imbi_common.plugins``, 2.17+
``imbi.common.plugins``; a missing module that is not one of those is a
broken install and must surface.
"""

import collections.abc
import importlib
import types
import typing

import pytest
from imbi_plugin_vault import _host


@pytest.fixture
def fresh_cache() -> collections.abc.Iterator[None]:
    saved = list(_host._cache)
    _host._cache.clear()
    yield
    _host._cache[:] = saved


def _importer(
    monkeypatch: pytest.MonkeyPatch, missing: dict[str, str]
) -> list[str]:
    """import_module where ``missing`` paths fail naming a module."""
    asked: list[str] = []
    real = importlib.import_module

    def fake(name: str, package: str | None = None) -> types.ModuleType:
        asked.append(name)
        if name in missing:
            raise ModuleNotFoundError(
                f'No module named {missing[name]!r}', name=missing[name]
            )
        if name in _host.PATHS:
            return types.ModuleType(name)
        return real(name, package)

    monkeypatch.setattr(importlib, 'import_module', fake)
    return asked


@pytest.mark.usefixtures('fresh_cache')
def test_the_v3_path_when_imbi_common_is_absent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _importer(monkeypatch, {'imbi_common.plugins': 'imbi_common'})
    assert _host.api().__name__ == 'imbi.common.plugins'
    assert asked == list(_host.PATHS)
    # Cached: the host's module is looked up once.
    _host.api()
    assert asked == list(_host.PATHS)


@pytest.mark.usefixtures('fresh_cache')
def test_a_broken_install_surfaces(monkeypatch: pytest.MonkeyPatch) -> None:
    _importer(monkeypatch, {'imbi_common.plugins': 'psycopg'})
    with pytest.raises(ModuleNotFoundError) as caught:
        _host.api()
    assert caught.value.name == 'psycopg'


@pytest.mark.usefixtures('fresh_cache')
def test_no_imbi_common_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    _importer(
        monkeypatch,
        {
            'imbi_common.plugins': 'imbi_common',
            'imbi.common.plugins': 'imbi',
        },
    )
    with pytest.raises(ModuleNotFoundError, match='imbi-common is not'):
        _host.api()


def test_names_come_from_the_installed_api() -> None:
    api = _host.api()
    assert _host.PluginContext is api.PluginContext
    # v1 keeps some errors only in the errors module.
    assert _host.PluginAuthenticationFailed is (
        api.errors.PluginAuthenticationFailed
    )
    assert _host.optional('NoSuchName') is None
    with pytest.raises(AttributeError, match='NoSuchName'):
        _host.__getattr__('NoSuchName')
    with pytest.raises(AttributeError):
        _host.__getattr__('__path__')


def test_rate_limited_is_the_hosts_error() -> None:
    error = _host.rate_limited(1234.0, 'slow down')
    limited = _host.optional('PluginRateLimited')
    if limited is None:
        assert _host.generation() == 1
        assert isinstance(error, _host.PluginUnavailableError)
    else:
        assert isinstance(error, limited)
        assert typing.cast(typing.Any, error).retry_at == 1234.0
    assert 'slow down' in str(error)
