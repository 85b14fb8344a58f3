"""The installed host's plugin API, whichever generation it is.

imbi-common 2.3-2.11 serves the v1 API at ``imbi_common.plugins``,
2.12-2.16 serves v3 at the same path and 2.17+ at
``imbi.common.plugins``. The harness takes every model and error from
here (``from imbi_plugin_testing._host import PluginContext``), so it
builds and matches the installed host's own classes on every release.
"""

import importlib
import types
import typing

if typing.TYPE_CHECKING:
    # Type-checked against the locked v1 release.
    from imbi_common.plugins import *  # noqa: F403
    from imbi_common.plugins.base import *  # noqa: F403
    from imbi_common.plugins.errors import *  # noqa: F403

PATHS = ('imbi_common.plugins', 'imbi.common.plugins')
_ABSENT = frozenset(
    {'imbi_common', 'imbi', 'imbi.common', 'imbi.common.plugins'}
)
_cache: list[types.ModuleType] = []


def api() -> types.ModuleType:
    """The installed ``plugins`` module."""
    if _cache:
        return _cache[0]
    for path in PATHS:
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name not in _ABSENT:
                raise
            continue
        _cache.append(module)
        return module
    raise ModuleNotFoundError(
        'imbi-common is not installed: neither imbi_common.plugins nor '
        'imbi.common.plugins can be imported',
        name='imbi_common',
    )


def generation() -> int:
    """1 for the v1 API (entry points), 3 for Architecture v3."""
    return 3 if hasattr(api(), 'CapabilityHandler') else 1


def version() -> str:
    """The installed imbi-common release."""
    import importlib.metadata

    return importlib.metadata.version('imbi-common')


def optional(name: str) -> typing.Any:
    """A name of the API (top level, ``base`` or ``errors``), or None."""
    module = api()
    for where in (module, module.base, module.errors):
        if hasattr(where, name):
            return getattr(where, name)
    return None


def __getattr__(name: str) -> typing.Any:
    if name.startswith('__'):
        raise AttributeError(name)
    found = optional(name)
    if found is None:
        raise AttributeError(
            f'imbi-common {version()} has no plugin API name {name!r}'
        )
    return found
