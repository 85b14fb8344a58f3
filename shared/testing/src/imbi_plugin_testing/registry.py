"""Make the real ``load_plugins()`` see given classes as installed."""

import collections.abc
import contextlib
import importlib.metadata
import itertools
import sys
import types
import unittest.mock

from imbi_common.plugins import LoadResult, load_plugins

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
    try:
        with entry_points_listing(
            *plugin_classes, distribution=distribution, version=version
        ):
            result = load_plugins()
        yield result
    finally:
        with entry_points_listing():
            load_plugins()
