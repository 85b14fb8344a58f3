"""The v3 plugin (imbi-common 2.12+), imported only through ``PLUGIN``.

Everything comes from the host's own plugin API through ``_host``, so
the v3 registry validates our classes against its own.
"""

import typing

from imbi_plugin_archiver import _host, spec
from imbi_plugin_archiver.handler import ArchiverHandler

p = _host.api()

if typing.TYPE_CHECKING:
    # mypy checks against v1, which has neither base: typed as object.
    _Capability = object
    _Plugin = object
else:
    _Capability = p.LifecycleCapability
    _Plugin = p.Plugin


class ArchiverCapability(ArchiverHandler, _Capability):
    """Lifecycle: archive and unarchive only; the other hooks stay the
    base methods, which the host reports as ``skipped``."""


class ArchiverPluginV3(_Plugin):
    """The archiver as one lifecycle capability of an Integration."""

    manifest: typing.ClassVar[typing.Any] = p.PluginManifest(
        slug=spec.SLUG_V3,
        name=spec.NAME,
        description=spec.DESCRIPTION,
        api_version=2,
        auth_type='api_token',
        options=[p.PluginOption(**o) for o in spec.INTEGRATION_OPTIONS],
        credentials=[p.CredentialField(**f) for f in spec.credentials(3)],
        capabilities=[
            p.Capability(
                kind='lifecycle',
                label=spec.CAPABILITY_LABEL,
                handler=ArchiverCapability,
                options=[p.PluginOption(**o) for o in spec.CAPABILITY_OPTIONS],
                hints=dict(spec.HINTS),
            )
        ],
    )


PLUGIN = ArchiverPluginV3
