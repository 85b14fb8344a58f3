"""The v1 entry point (imbi-common 2.3-2.11): the manifest and the class.

Only imbi_common and the stdlib are imported here; httpx and the flows
load on the first call. v3 hosts never import this module (they read
``imbi_plugin_archiver.PLUGIN``).
"""

from imbi_common.plugins import CredentialField, PluginManifest, PluginOption
from imbi_common.plugins.base import LifecyclePlugin

from imbi_plugin_archiver import spec
from imbi_plugin_archiver.handler import ArchiverHandler

MANIFEST = PluginManifest(
    slug=spec.SLUG_V1,
    name=spec.NAME,
    description=spec.DESCRIPTION,
    plugin_type='lifecycle',
    api_version=1,
    options=[PluginOption(**option) for option in spec.options()],
    credentials=[CredentialField(**field) for field in spec.credentials(1)],
)


class ArchiverPlugin(ArchiverHandler, LifecyclePlugin):
    """Archive (and unarchive) a project's GitHub repository with it."""

    manifest = MANIFEST
