"""Every plugin's ``_host``: the installed plugin API, on either path.

The seven ``_host.py`` are the same code (README, "What each plugin
carries on its own"), so one test holds them all to it, on both plugin
API generations: imbi-common 2.3-2.16 serves ``imbi_common.plugins``,
2.17+ ``imbi.common.plugins``; a missing module that is neither is a
broken install and must surface.
"""

import importlib
import json
import pathlib
import subprocess
import sys
import types
import typing

import pytest
from imbi_plugin_testing import _host as testing_host
from imbi_plugin_testing.firstparty import FirstParty, first_party

PLUGINS = first_party()


@pytest.fixture(params=PLUGINS, ids=lambda p: p.folder)
def host(request: pytest.FixtureRequest) -> types.ModuleType:
    """The plugin's ``_host`` module."""
    plugin: FirstParty = request.param
    return importlib.import_module(f'{plugin.module}._host')


@pytest.fixture
def tried(
    host: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """An empty cache; the paths ``api()`` imports (see :func:`answer`)."""
    monkeypatch.setattr(host, '_cache', [])
    return []


def answer(
    monkeypatch: pytest.MonkeyPatch,
    tried: list[str],
    missing: dict[str, str],
) -> None:
    """``import_module``: ``missing`` paths fail naming a module, the
    plugin API paths answer an empty module of their name."""
    real = importlib.import_module

    def import_module(
        name: str, package: str | None = None
    ) -> types.ModuleType:
        if name not in ('imbi_common.plugins', 'imbi.common.plugins'):
            return real(name, package)
        tried.append(name)
        if name in missing:
            raise ModuleNotFoundError(
                f'No module named {missing[name]!r}', name=missing[name]
            )
        return types.ModuleType(name)

    monkeypatch.setattr(importlib, 'import_module', import_module)


def api_like(*, v3: bool) -> types.SimpleNamespace:
    """A plugin API module of one generation, as ``_host`` reads it."""

    class PluginUnavailableError(Exception):
        pass

    class PluginRateLimited(Exception):
        def __init__(self, retry_at: float, message: str) -> None:
            super().__init__(message)
            self.retry_at = retry_at

    api = types.SimpleNamespace(
        base=types.SimpleNamespace(),
        errors=types.SimpleNamespace(),
        PluginUnavailableError=PluginUnavailableError,
    )
    if v3:
        api.CapabilityHandler = object
        api.errors.PluginRateLimited = PluginRateLimited
    return api


def test_the_installed_plugins_module(host: types.ModuleType) -> None:
    api = testing_host.api()
    assert host.api() is api
    assert api.__name__ in host.PATHS
    assert host.generation() == testing_host.generation()
    assert host.PluginContext is api.PluginContext
    # v1 keeps some errors only in the errors module.
    assert host.PluginAuthenticationFailed is (
        api.errors.PluginAuthenticationFailed
    )


def test_the_old_path_first_and_once(
    host: types.ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tried: list[str],
) -> None:
    answer(monkeypatch, tried, {})
    first = host.api()
    assert first.__name__ == 'imbi_common.plugins'
    assert host.api() is first
    assert tried == ['imbi_common.plugins']


def test_the_new_path_when_the_old_is_absent(
    host: types.ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tried: list[str],
) -> None:
    answer(monkeypatch, tried, {'imbi_common.plugins': 'imbi_common'})
    assert host.api().__name__ == 'imbi.common.plugins'
    assert tried == list(host.PATHS)


def test_a_missing_dependency_surfaces(
    host: types.ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tried: list[str],
) -> None:
    # imbi-common is there but cannot import one of its own dependencies:
    # not "another generation", a broken install.
    answer(monkeypatch, tried, {'imbi_common.plugins': 'psycopg'})
    with pytest.raises(ModuleNotFoundError) as caught:
        host.api()
    assert caught.value.name == 'psycopg'
    assert tried == ['imbi_common.plugins']


def test_no_imbi_common_at_all(
    host: types.ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tried: list[str],
) -> None:
    answer(
        monkeypatch,
        tried,
        {'imbi_common.plugins': 'imbi_common', 'imbi.common.plugins': 'imbi'},
    )
    with pytest.raises(ModuleNotFoundError, match='imbi-common is not'):
        host.api()


@pytest.mark.parametrize('v3', [False, True], ids=['v1', 'v3'])
def test_generation(
    host: types.ModuleType, monkeypatch: pytest.MonkeyPatch, v3: bool
) -> None:
    monkeypatch.setattr(host, '_cache', [api_like(v3=v3)])
    assert host.generation() == (3 if v3 else 1)


@pytest.mark.parametrize('v3', [False, True], ids=['v1', 'v3'])
def test_rate_limited_on_each_generation(
    host: types.ModuleType, monkeypatch: pytest.MonkeyPatch, v3: bool
) -> None:
    api = api_like(v3=v3)
    monkeypatch.setattr(host, '_cache', [api])
    error = typing.cast(typing.Any, host.rate_limited(1234.0, 'slow down'))
    if v3:
        assert type(error) is api.errors.PluginRateLimited
        assert error.retry_at == 1234.0
    else:
        assert type(error) is api.PluginUnavailableError
    assert str(error) == 'slow down'


def test_rate_limited_is_the_installed_hosts_class(
    host: types.ModuleType,
) -> None:
    error = host.rate_limited(1234.0, 'slow down')
    limited = host.optional('PluginRateLimited')
    if limited is None:
        assert host.generation() == 1
        assert type(error) is host.PluginUnavailableError
    else:
        assert type(error) is limited
        assert error.retry_at == 1234.0
    assert 'slow down' in str(error)


def test_names_newer_hosts_have(host: types.ModuleType) -> None:
    assert host.optional('NoSuchName') is None
    with pytest.raises(AttributeError, match='NoSuchName'):
        _ = host.NoSuchName
    # Dunder lookups (import machinery, copy, pickle) never reach the host.
    with pytest.raises(AttributeError):
        _ = host.__wrapped__


@pytest.mark.parametrize('plugin', PLUGINS, ids=lambda p: p.folder)
def test_importing_the_package_imports_no_host(plugin: FirstParty) -> None:
    code = (
        'import importlib, json, sys\n'
        f'importlib.import_module({plugin.module!r})\n'
        'print(json.dumps(sorted(m for m in sys.modules if m in '
        f"('imbi', 'imbi_common', {plugin.module + '._v3'!r}, "
        f'{plugin.module + "._host"!r}))))\n'
    )
    output = subprocess.run(
        [sys.executable, '-c', code],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert json.loads(output) == []


def _without_type_checking(source: str) -> str:
    """The module with its ``if typing.TYPE_CHECKING:`` block cut out
    (each package's own list of the host names it takes)."""
    start = source.index('if typing.TYPE_CHECKING:')
    end = source.index('\n#: ', start)
    return source[:start] + source[end:]


def test_the_seven_are_the_same_code() -> None:
    # What this file tests on every package holds because they are one
    # piece of code carried seven times: hold them to it.
    sources = {
        plugin.folder: _without_type_checking(
            pathlib.Path(
                importlib.import_module(f'{plugin.module}._host').__file__
                or ''
            ).read_text()
        )
        for plugin in PLUGINS
    }
    first = next(iter(sources.values()))
    differ = sorted(name for name, text in sources.items() if text != first)
    assert differ == []
