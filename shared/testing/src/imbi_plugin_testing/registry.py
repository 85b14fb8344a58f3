"""Make the real ``load_plugins()`` see given classes as installed.

v1 registries (imbi-common 2.3-2.11) read entry points, so those are
faked; v3 registries (2.12+) import top-level ``imbi_plugin_*`` modules
(and, from 2.17, ``imbi.plugins.*``) and read ``PLUGIN``, so their two
discovery functions are made to find exactly one shim module per class.
Either way the registry's own validation runs unchanged.
"""

import collections.abc
import contextlib
import importlib.metadata
import itertools
import sys
import types
import unittest.mock

from imbi_plugin_testing import _host
from imbi_plugin_testing._host import LoadResult, generation

_GROUP = 'imbi.plugins'
_counter = itertools.count()


class _FakeDistribution:
    """Just what the registry reads from ``EntryPoint.dist``."""

    def __init__(self, name: str, version: str) -> None:
        self.name = name
        self.version = version


def _entry_point(
    cls: type, dist_name: str, version: str
) -> tuple[importlib.metadata.EntryPoint, str]:
    """An entry point whose ``load()`` imports a shim module holding cls."""
    module_name = f'_imbi_plugin_testing_installed_{next(_counter)}'
    module = types.ModuleType(module_name)
    setattr(module, cls.__name__, cls)
    sys.modules[module_name] = module
    slug = getattr(getattr(cls, 'manifest', None), 'slug', None)
    ep = importlib.metadata.EntryPoint(
        name=str(slug or cls.__name__.lower()),
        value=f'{module_name}:{cls.__name__}',
        group=_GROUP,
    )
    # EntryPoint is immutable; ``_for`` is how importlib attaches ``dist``,
    # which the registry reads for the package name and version.
    bound = ep._for(_FakeDistribution(dist_name, version))  # type: ignore[attr-defined]
    return bound, module_name


@contextlib.contextmanager
def entry_points_listing(
    *plugin_classes: type,
    distribution: str | None = None,
    version: str = '0.0.0',
) -> collections.abc.Iterator[list[importlib.metadata.EntryPoint]]:
    """Make ``importlib.metadata.entry_points`` list exactly these classes.

    Other entry-point groups are answered as usual. For code that calls
    ``load_plugins()`` itself, such as the ``imbi-plugins`` command.
    """
    made = [
        _entry_point(
            cls, distribution or f'test-{cls.__name__.lower()}', version
        )
        for cls in plugin_classes
    ]
    eps = [ep for ep, _ in made]
    real = importlib.metadata.entry_points
    try:
        with unittest.mock.patch.object(
            importlib.metadata,
            'entry_points',
            side_effect=lambda **params: (
                eps if params.get('group') == _GROUP else real(**params)
            ),
        ):
            yield eps
    finally:
        for _, module_name in made:
            sys.modules.pop(module_name, None)


@contextlib.contextmanager
def convention_listing(
    *plugin_classes: type,
) -> collections.abc.Iterator[list[str]]:
    """v3: the registry's discovery finds one shim module per class.

    Each shim is a module holding ``PLUGIN`` (the class), as an
    ``imbi_plugin_*`` package does; nothing else installed is scanned.
    """
    registry = _host.api().registry
    names = []
    for cls in plugin_classes:
        name = f'_imbi_plugin_testing_installed_{next(_counter)}'
        module = types.ModuleType(name)
        setattr(module, 'PLUGIN', cls)  # noqa: B010
        sys.modules[name] = module
        names.append(name)
    patches = [
        unittest.mock.patch.object(
            registry,
            '_discover_convention',
            return_value={name: name for name in names},
        )
    ]
    if hasattr(registry, '_discover_first_party'):
        patches.append(
            unittest.mock.patch.object(
                registry, '_discover_first_party', return_value={}
            )
        )
    try:
        with contextlib.ExitStack() as stack:
            for patch in patches:
                stack.enter_context(patch)
            yield names
    finally:
        for name in names:
            sys.modules.pop(name, None)


@contextlib.contextmanager
def listing(*plugin_classes: type) -> collections.abc.Iterator[None]:
    """The generation's discovery faked to find exactly these classes."""
    if generation() == 3:
        with convention_listing(*plugin_classes):
            yield
    else:
        with entry_points_listing(*plugin_classes):
            yield


@contextlib.contextmanager
def installed(
    *plugin_classes: type,
    distribution: str | None = None,
    version: str = '0.0.0',
) -> collections.abc.Iterator[LoadResult]:
    """Install ``plugin_classes`` as ``imbi.plugins`` entry points.

    Runs the real ``imbi_common.plugins.load_plugins()`` with
    ``importlib.metadata.entry_points`` faked to list exactly these
    classes, yields its ``LoadResult`` and empties the registry after.
    """
    load_plugins = _host.api().load_plugins
    try:
        if generation() == 3:
            with convention_listing(*plugin_classes):
                result = load_plugins()
        else:
            with entry_points_listing(
                *plugin_classes, distribution=distribution, version=version
            ):
                result = load_plugins()
        yield result
    finally:
        with listing():
            load_plugins()
