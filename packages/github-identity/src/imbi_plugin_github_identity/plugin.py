"""The v1 entry point (imbi-common 2.3-2.11): manifest and plugin class.

Only v1 hosts import this module (entry point ``imbi.plugins``), so it
takes the v1 classes from ``imbi_common.plugins`` directly. Module top
level imports only imbi_common, the stdlib and this package's
stdlib-only modules; httpx comes in with ``client`` on the first call.
"""

from imbi_common.plugins import (
    CredentialField,
    IdentityPlugin,
    PluginManifest,
    PluginOption,
)

from imbi_plugin_github_identity import spec
from imbi_plugin_github_identity.handler import GitHubIdentityHandler

DEFAULT_SCOPES = list(spec.DEFAULT_SCOPES)

MANIFEST = PluginManifest(
    slug=spec.SLUG_V1,
    name=spec.NAME,
    description=spec.DESCRIPTION,
    plugin_type='identity',
    auth_type=spec.AUTH_TYPE,
    api_version=1,
    login_capable=spec.LOGIN_CAPABLE,
    default_scopes=DEFAULT_SCOPES,
    widget_text=spec.WIDGET_TEXT,
    options=[PluginOption(**option) for option in spec.options()],
    credentials=[CredentialField(**field) for field in spec.v1_credentials()],
)


class GitHubIdentityPlugin(GitHubIdentityHandler, IdentityPlugin):
    """OAuth 2.0 web flow against github.com or GitHub Enterprise Server."""

    manifest = MANIFEST
