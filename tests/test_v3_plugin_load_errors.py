"""v3: a fault while a plugin's v3 module loads reaches the registry.

The v3 registry asks ``hasattr(module, 'PLUGIN')``, and ``hasattr``
swallows AttributeError: one raised while ``_v3`` (or anything it
imports) loads would be recorded as "no module-level 'PLUGIN'
attribute", hiding the cause. Each package's ``__getattr__`` turns it
into an ImportError that names the module and chains the cause.
"""

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import typing
import unittest.mock

import pytest
from imbi_plugin_testing import _host
from imbi_plugin_testing.firstparty import FirstParty, first_party
from imbi_plugin_testing.registry import listing

PLUGINS = first_party()
#: An AttributeError as an import raises it: a host without a name the
#: plugin's v3 module reads.
CAUSE = "module 'imbi.common.plugins' has no attribute 'NoSuchModel'"


class _Broken(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds one module, whose execution raises AttributeError."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(
        self,
        fullname: str,
        path: typing.Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(
        self, spec: importlib.machinery.ModuleSpec
    ) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        raise AttributeError(CAUSE)


@pytest.fixture(params=PLUGINS, ids=lambda p: p.folder)
def broken_v3(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> types.ModuleType:
    """The plugin's package, its ``_v3`` failing with AttributeError."""
    plugin: FirstParty = request.param
    package = importlib.import_module(plugin.module)
    name = f'{plugin.module}._v3'
    # Forget the loaded _v3 (restored afterwards), so PLUGIN imports it.
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delattr(package, '_v3', raising=False)
    monkeypatch.setattr(sys, 'meta_path', [_Broken(name), *sys.meta_path])
    return package


def test_asking_for_plugin_raises_the_cause(
    broken_v3: types.ModuleType,
) -> None:
    with pytest.raises(ImportError) as caught:
        hasattr(broken_v3, 'PLUGIN')
    assert broken_v3.__name__ in str(caught.value)
    assert CAUSE in str(caught.value)
    assert isinstance(caught.value.__cause__, AttributeError)


def test_the_registry_records_the_cause(
    broken_v3: types.ModuleType,
) -> None:
    api = _host.api()
    name = broken_v3.__name__
    patches = [
        unittest.mock.patch.object(
            api.registry, '_discover_convention', return_value={name: name}
        )
    ]
    if hasattr(api.registry, '_discover_first_party'):
        patches.append(
            unittest.mock.patch.object(
                api.registry, '_discover_first_party', return_value={}
            )
        )
    try:
        with contextlib.ExitStack() as stack:
            for patch in patches:
                stack.enter_context(patch)
            result = api.load_plugins()
    finally:
        with listing():
            api.load_plugins()
    assert result.loaded == []
    assert list(result.errors) == [name]
    assert CAUSE in result.errors[name]
    assert "no module-level 'PLUGIN'" not in result.errors[name]


@pytest.mark.parametrize('plugin', PLUGINS, ids=lambda p: p.folder)
def test_other_names_are_still_missing(plugin: FirstParty) -> None:
    package = importlib.import_module(plugin.module)
    assert hasattr(package, 'PLUGIN')
    assert not hasattr(package, 'NOT_PLUGIN')
