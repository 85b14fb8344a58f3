"""The v3 plugin (imbi-common 2.12+), reached only through ``PLUGIN``.

v1 hosts never import this module. Everything comes from ``_host``, so
the manifest and the capability are built from the host's own classes
whichever import path (``imbi_common`` or ``imbi.common``) it serves.
"""

from imbi_plugin_github_actions import _host, spec
from imbi_plugin_github_actions.handler import GitHubActionsHandler

p = _host.api()


class GitHubActionsCapability(GitHubActionsHandler, p.DeploymentCapability):  # type: ignore[misc,name-defined]
    """The deployment capability: the shared handler on v3's contract."""


class GitHubActionsPluginV3(p.Plugin):  # type: ignore[misc,name-defined]
    """GitHub Actions as a v3 plugin with one deployment capability."""

    manifest = p.PluginManifest(
        slug=spec.SLUG_V3,
        name=spec.NAME,
        description=spec.DESCRIPTION,
        api_version=2,
        auth_type='api_token',
        options=[p.PluginOption(**o) for o in spec.INTEGRATION_OPTIONS],
        credentials=[p.CredentialField(**c) for c in spec.credentials(3)],
        capabilities=[
            p.Capability(
                kind=spec.KIND_V3,
                label=spec.LABEL_V3,
                handler=GitHubActionsCapability,
                options=[p.PluginOption(**o) for o in spec.CAPABILITY_OPTIONS],
                hints=dict(spec.HINTS_V3),
            )
        ],
    )


PLUGIN = GitHubActionsPluginV3
