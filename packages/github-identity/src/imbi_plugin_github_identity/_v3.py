"""The v3 plugin (imbi-common 2.12+): one ``identity`` capability.

Imported only through ``imbi_plugin_github_identity.PLUGIN``, which v3
registries read; v1 hosts never import it. Every class comes from the
host's own plugin API through ``_host``.
"""

from imbi_plugin_github_identity import _host, spec
from imbi_plugin_github_identity.handler import GitHubIdentityHandler

p = _host.api()


class GitHubIdentity(GitHubIdentityHandler, p.IdentityCapability):  # type: ignore[misc,name-defined]
    """OAuth 2.0 web flow against github.com or GitHub Enterprise Server."""


class GitHubIdentityPluginV3(p.Plugin):  # type: ignore[misc,name-defined]
    """The plugin as v3 registries list it (slug ``github-identity``)."""

    manifest = p.PluginManifest(
        slug=spec.SLUG_V3,
        name=spec.NAME,
        description=spec.DESCRIPTION,
        api_version=2,
        auth_type=spec.AUTH_TYPE,
        options=[p.PluginOption(**o) for o in spec.INTEGRATION_OPTIONS],
        credentials=[p.CredentialField(**c) for c in spec.CREDENTIALS],
        capabilities=[
            p.Capability(
                kind='identity',
                label=spec.CAPABILITY_LABEL,
                description=spec.DESCRIPTION,
                # Sign-in is per user, not per project.
                project_scoped=False,
                handler=GitHubIdentity,
                options=[p.PluginOption(**o) for o in spec.CAPABILITY_OPTIONS],
                hints={
                    'login_capable': spec.LOGIN_CAPABLE,
                    'default_scopes': list(spec.DEFAULT_SCOPES),
                    'widget_text': spec.WIDGET_TEXT,
                },
            )
        ],
    )


PLUGIN = GitHubIdentityPluginV3
