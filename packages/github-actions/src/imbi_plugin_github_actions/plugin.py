"""The v1 entry point (``plugin:GitHubActionsPlugin``, group imbi.plugins).

Only v1 hosts (imbi-common 2.3-2.11, entry points ``imbi.plugins``) load
this module, so it imports ``imbi_common.plugins`` directly; the handler
and the manifest's content are shared with v3 (``handler.py``,
``spec.py``).
"""

from imbi_common.plugins import CredentialField, PluginManifest, PluginOption
from imbi_common.plugins.base import DeploymentPlugin

from imbi_plugin_github_actions import spec
from imbi_plugin_github_actions.handler import (
    PLUGIN_KEYS as PLUGIN_KEYS,
)
from imbi_plugin_github_actions.handler import (
    CheckStatus as CheckStatus,
)
from imbi_plugin_github_actions.handler import GitHubActionsHandler
from imbi_plugin_github_actions.handler import Setup as Setup

MANIFEST = PluginManifest(
    slug=spec.SLUG_V1,
    name=spec.NAME,
    description=spec.DESCRIPTION,
    plugin_type='deployment',
    api_version=1,
    supports_deployment_sync=True,
    options=[PluginOption(**option) for option in spec.options()],
    credentials=[CredentialField(**field) for field in spec.credentials(1)],
)


class GitHubActionsPlugin(GitHubActionsHandler, DeploymentPlugin):
    """Refs, commits, tags, releases and deploys through GitHub Actions."""

    manifest = MANIFEST
