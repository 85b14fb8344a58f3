"""The host's plugin API, whichever generation is installed.

imbi-common 2.3-2.11 serves the v1 API at ``imbi_common.plugins``;
2.12-2.16 serves v3 at the same path and 2.17+ at
``imbi.common.plugins``. Every module of this package takes the host's
models and errors from here, so the host receives its own classes (it
matches errors by class). Stdlib only: importing this module imports
nothing of imbi-common until a name is asked for.
"""

import importlib
import importlib.util
import sys
import types
import typing

if typing.TYPE_CHECKING:
    # Type-checked against the locked v1 release; names only v3 has are
    # reached through :func:`optional`.
    from imbi_common.plugins import CursorExpiredError as CursorExpiredError
    from imbi_common.plugins import LogEntry as LogEntry
    from imbi_common.plugins import LogFilter as LogFilter
    from imbi_common.plugins import LogHistogramBucket as LogHistogramBucket
    from imbi_common.plugins import LogQuery as LogQuery
    from imbi_common.plugins import LogResult as LogResult
    from imbi_common.plugins import PluginContext as PluginContext
    from imbi_common.plugins import (
        PluginCredentialsMissing as PluginCredentialsMissing,
    )
    from imbi_common.plugins import PluginTimeoutError as PluginTimeoutError
    from imbi_common.plugins import (
        PluginUnavailableError as PluginUnavailableError,
    )
    from imbi_common.plugins import expand_template as expand_template
    from imbi_common.plugins.errors import (
        PluginAuthenticationFailed as PluginAuthenticationFailed,
    )

#: Where each generation keeps the plugin API, oldest first.
PATHS = ('imbi_common.plugins', 'imbi.common.plugins')
#: A ModuleNotFoundError for one of these means "not this generation";
#: any other missing module is a broken install and must surface.
_ABSENT = frozenset(
    {'imbi_common', 'imbi', 'imbi.common', 'imbi.common.plugins'}
)
_cache: list[types.ModuleType] = []


def api() -> types.ModuleType:
    """The installed ``plugins`` module (imported once, then cached)."""
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


def optional(name: str) -> typing.Any:
    """A name of the API that older releases lack, or None."""
    module = api()
    for where in (module, module.base, module.errors):
        if hasattr(where, name):
            return getattr(where, name)
    return None


def rate_limited(retry_at: float, message: str) -> Exception:
    """``PluginRateLimited(retry_at)`` where the host has it.

    v3 hosts' job queues back off until ``retry_at`` on it; v1 hosts know
    only ``PluginUnavailableError``.
    """
    limited = optional('PluginRateLimited')
    if limited is None:
        unavailable = api().PluginUnavailableError
        return typing.cast(Exception, unavailable(message))
    return typing.cast(Exception, limited(retry_at, message))


def deferred(name: str) -> types.ModuleType:
    """Module ``name``, executed on its first attribute access.

    A host imports every plugin at start-up and calls few of them per
    process: the modules only a call needs (options, query builders,
    results) are loaded by that call. Type checkers see a plain import
    (``if typing.TYPE_CHECKING``); at run time the module is bound
    through the stdlib's LazyLoader.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f'No module named {name!r}', name=name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    # As an import binds a submodule on its package.
    package, _, child = name.rpartition('.')
    if package in sys.modules:
        setattr(sys.modules[package], child, module)
    return module


def __getattr__(name: str) -> typing.Any:
    """``from <package>._host import PluginContext`` and the like.

    v1 keeps some models and errors only in ``base`` and ``errors``.
    Dunder lookups (import machinery, copy, pickle) never import the
    host.
    """
    if name.startswith('__'):
        raise AttributeError(name)
    found = optional(name)
    if found is None:
        raise AttributeError(f'the installed imbi-common has no {name!r}')
    return found
