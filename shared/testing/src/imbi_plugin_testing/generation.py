"""Which plugin API generation the installed imbi-common serves.

Tests and the command ask here for "the plugin" of a package: on v1
hosts (imbi-common 2.3-2.11) the class its ``imbi.plugins`` entry point
names; on v3 hosts (2.12+) the ``PLUGIN`` the v3 registry reads from the
top-level module. Nothing here imports a package's v1 module on a v3
host or its v3 module on a v1 host.
"""

import functools
import importlib
import importlib.metadata
import typing

from imbi_plugin_testing import _host

GENERATION = _host.generation()
V1 = GENERATION == 1
V3 = GENERATION == 3


def is_v3_plugin(plugin: object) -> bool:
    """Whether ``plugin`` is a v3 ``Plugin`` subclass (not a v1 class)."""
    base = _host.optional('Plugin')
    return (
        isinstance(plugin, type)
        and base is not None
        and issubclass(plugin, base)
    )


@functools.cache
def plugin_under_test(module: str) -> type:
    """The plugin of the package whose top-level module is ``module``."""
    if V3:
        loaded = importlib.import_module(module)
        plugin: type = getattr(loaded, 'PLUGIN')  # noqa: B009
        return plugin
    for ep in importlib.metadata.entry_points(group='imbi.plugins'):
        if ep.value.split(':', 1)[0].split('.', 1)[0] == module:
            found: type = ep.load()
            return found
    raise LookupError(f'no imbi.plugins entry point in {module}')


def capability_of(plugin: type) -> typing.Any:
    """A v3 plugin's one capability (our plugins declare exactly one)."""
    capabilities = plugin.manifest.capabilities  # type: ignore[attr-defined]
    if len(capabilities) != 1:
        raise ValueError(
            f'{plugin.__name__} declares {len(capabilities)} capabilities'
        )
    return capabilities[0]


def handler_of(plugin: type) -> type:
    """The class the host instantiates per call for ``plugin``."""
    if is_v3_plugin(plugin):
        handler: type = capability_of(plugin).handler
        return handler
    return plugin


def handler_under_test(module: str) -> type:
    """``handler_of(plugin_under_test(module))``."""
    return handler_of(plugin_under_test(module))


class ManifestView:
    """What the host reads from a manifest, in either generation.

    v3 moved the manifest booleans into the capability's hints and split
    options into Integration options and capability options.
    """

    def __init__(self, plugin: type) -> None:
        self.plugin = plugin
        self.manifest: typing.Any = plugin.manifest  # type: ignore[attr-defined]
        self.v3 = is_v3_plugin(plugin)
        self.capability = capability_of(plugin) if self.v3 else None

    @property
    def slug(self) -> str:
        return str(self.manifest.slug)

    @property
    def kind(self) -> str:
        """The v3 capability kind (v1 plugin types mapped onto them)."""
        if self.capability is not None:
            return str(self.capability.kind)
        kind = str(self.manifest.plugin_type)
        return 'webhook-actions' if kind == 'webhook' else kind

    @property
    def integration_options(self) -> list[typing.Any]:
        return list(self.manifest.options)

    @property
    def capability_options(self) -> list[typing.Any]:
        if self.capability is None:
            return []
        return list(self.capability.options)

    @property
    def options(self) -> list[typing.Any]:
        return self.integration_options + self.capability_options

    @property
    def credentials(self) -> list[typing.Any]:
        return list(self.manifest.credentials)

    @property
    def data_types(self) -> list[typing.Any]:
        return list(getattr(self.manifest, 'data_types', []) or [])

    @property
    def auth_type(self) -> str:
        return str(self.manifest.auth_type)

    def hint(self, name: str, default: typing.Any = None) -> typing.Any:
        if self.capability is not None:
            return self.capability.hints.get(name, default)
        return getattr(self.manifest, name, default)

    @property
    def supports_histogram(self) -> bool:
        return bool(self.hint('supports_histogram', False))

    @property
    def supports_deployment_sync(self) -> bool:
        return bool(self.hint('supports_deployment_sync', False))

    @property
    def default_scopes(self) -> list[str]:
        return list(self.hint('default_scopes', None) or [])
