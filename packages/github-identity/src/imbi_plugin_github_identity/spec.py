"""The plugin's manifest as plain data: the one source of both manifests.

Stdlib only. ``plugin`` builds the v1 manifest from it and ``_v3`` the v3
one, and the handler and the option reader take their defaults from it,
so the two generations cannot drift apart.
"""

import typing

#: v1 hosts know the plugin by this slug (operators' settings name it).
SLUG_V1 = 'github'
#: v3 hosts: imbi-api 2.41 ships AWeber's own plugin under ``github``.
SLUG_V3 = 'github-identity'
NAME = 'GitHub'
DESCRIPTION = (
    'Sign in with GitHub or GitHub Enterprise Server through an OAuth '
    'App or a GitHub App.'
)
AUTH_TYPE = 'oauth2'
LOGIN_CAPABLE = True
DEFAULT_SCOPES = ('read:user', 'user:email')
WIDGET_TEXT = (
    'Connect your GitHub account so Imbi can act as you on GitHub '
    'and show your GitHub identity.'
)
CAPABILITY_LABEL = 'Sign in with GitHub'

DEFAULT_GITHUB_URL = 'https://github.com'
DEFAULT_TIMEOUT_SECONDS = 8

#: Where GitHub is and how to reach it: asked once per Integration.
INTEGRATION_OPTIONS: list[dict[str, typing.Any]] = [
    {
        'name': 'github_url',
        'label': 'GitHub URL',
        'description': 'Web host: https://github.com or your GitHub '
        'Enterprise Server, e.g. https://github.example.com.',
        'type': 'string',
        'default': DEFAULT_GITHUB_URL,
    },
    {
        'name': 'api_url',
        'label': 'API URL',
        'description': 'REST base; derived from github_url when empty '
        '(https://api.github.com, or <github_url>/api/v3).',
        'type': 'string',
    },
    {
        'name': 'allow_plain_http',
        'label': 'Allow plain http',
        'type': 'boolean',
        'default': False,
        'description': 'Use http:// github_url or api_url (loopback '
        'addresses are always allowed)',
    },
    {
        'name': 'timeout_seconds',
        'label': 'Timeout (seconds)',
        'description': 'Budget of one whole call.',
        'type': 'integer',
        'default': DEFAULT_TIMEOUT_SECONDS,
    },
]

#: How the sign-in flow behaves: the identity capability's own settings.
CAPABILITY_OPTIONS: list[dict[str, typing.Any]] = [
    {
        'name': 'use_pkce',
        'label': 'Use PKCE',
        'description': 'Send an S256 code challenge (RFC 7636).',
        'type': 'boolean',
        'default': True,
    },
    {
        'name': 'allow_signup',
        'label': 'Allow sign-up',
        'description': 'Offer to create a GitHub account on the '
        'authorize page.',
        'type': 'boolean',
        'default': False,
    },
    {
        'name': 'include_organizations',
        'label': 'Include organizations',
        'description': 'Fill groups with organization logins when the '
        'token may read them (scope read:org, or a GitHub App).',
        'type': 'boolean',
        'default': True,
    },
]

#: ``secret`` is read by v3 hosts only (v1's CredentialField has none):
#: the client ID is public by design (it is in every authorize URL), so
#: v3 hosts may show it back to the operator.
CREDENTIALS: list[dict[str, typing.Any]] = [
    {
        'name': 'client_id',
        'label': 'Client ID',
        'description': 'Client ID of the OAuth App or GitHub App.',
        'secret': False,
    },
    {
        'name': 'client_secret',
        'label': 'Client secret',
        'description': 'A client secret of the same app.',
        'secret': True,
    },
]


def options() -> list[dict[str, typing.Any]]:
    """Every option, in the order of the v1 manifest."""
    return [dict(o) for o in INTEGRATION_OPTIONS + CAPABILITY_OPTIONS]


def v1_credentials() -> list[dict[str, typing.Any]]:
    """The credential fields without ``secret``, which v1 does not know."""
    return [
        {k: v for k, v in field.items() if k != 'secret'}
        for field in CREDENTIALS
    ]


def defaults() -> dict[str, typing.Any]:
    """Each option's default (None where it has none)."""
    return {o['name']: o.get('default') for o in options()}
