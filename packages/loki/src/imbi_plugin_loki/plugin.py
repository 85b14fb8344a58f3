"""The v1 entry point (imbi-common 2.3-2.11, ``imbi.plugins``).

Only v1 hosts import this module: it takes the v1 API from
``imbi_common.plugins`` directly. v3 hosts reach ``_v3`` through the
package's ``PLUGIN`` instead.
"""

from imbi_common.plugins import (
    CredentialField,
    LogsPlugin,
    PluginManifest,
    PluginOption,
)

from imbi_plugin_loki import spec
from imbi_plugin_loki.handler import LokiHandler

MANIFEST = PluginManifest(
    slug=spec.SLUG_V1,
    name=spec.NAME,
    description=spec.DESCRIPTION,
    plugin_type='logs',
    api_version=1,
    supports_histogram=True,
    options=[PluginOption(**option) for option in spec.options()],
    credentials=[CredentialField(**field) for field in spec.CREDENTIALS],
)


class LokiPlugin(LokiHandler, LogsPlugin):
    """Search, describe and chart a project's logs in Grafana Loki."""

    manifest = MANIFEST
