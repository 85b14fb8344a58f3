"""The plugin's manifest as plain data: the one source of both manifests.

Stdlib only. ``plugin`` builds the v1 manifest from it and ``_v3`` the v3
one; the option reader and the action take their defaults and the
required credentials from it, so the two generations cannot drift apart.
"""

import typing

#: v1 slug: operators' webhook rules name it (``sonarqube:<action>`` or
#: ``sonarqube#<action>``), so it stays.
SLUG_V1 = 'sonarqube'
#: v3 slug: the ``imbi`` 2.41 meta-package ships AWeber's own plugin
#: under ``sonarqube``, which registers first.
SLUG_V3 = 'sonarqube-sync'
NAME = 'SonarQube'
DESCRIPTION = (
    'Writes SonarQube measures and the quality gate status onto the '
    'Imbi project when SonarQube reports a finished analysis.'
)
CAPABILITY_LABEL = 'SonarQube analysis sync'
#: v3 manifests name how the Integration authenticates upstream.
AUTH_TYPE = 'api_token'

ACTION = 'update_project_from_webhook'
ACTION_LABEL = 'Update project from SonarQube webhook'
ACTION_DESCRIPTION = (
    "Reads the analysed branch's measures (and quality gate) from "
    'SonarQube and writes them onto the Imbi project with one JSON Patch.'
)
ACTION_CALLABLE = (
    'imbi_plugin_sonarqube_sync.actions:update_project_from_webhook'
)
ACTION_CONFIG_MODEL = 'imbi_plugin_sonarqube_sync.config:UpdateProjectConfig'

DEFAULT_TIMEOUT_SECONDS = 8

#: Where SonarQube and Imbi are and how to reach them: asked once per
#: Integration.
INTEGRATION_OPTIONS: list[dict[str, typing.Any]] = [
    {
        'name': 'imbi_url',
        'label': 'Imbi API URL',
        'description': 'Imbi API base URL; defaults to the imbi_url '
        'credential',
        'type': 'string',
    },
    {
        'name': 'sonarqube_url',
        'label': 'SonarQube URL',
        'description': "SonarQube base URL; defaults to the gateway's "
        'service_endpoint. Never taken from the payload.',
        'type': 'string',
    },
    {
        'name': 'sonarqube_auth',
        'label': 'SonarQube authentication',
        'description': 'bearer (SonarQube 10+) or basic (9.9 and older)',
        'type': 'string',
        'default': 'bearer',
        'choices': ['bearer', 'basic'],
    },
    {
        'name': 'timeout_seconds',
        'label': 'Timeout (seconds)',
        'description': 'Budget of one whole action',
        'type': 'integer',
        'default': DEFAULT_TIMEOUT_SECONDS,
    },
    {
        'name': 'allow_plain_http',
        'label': 'Allow plain http',
        'type': 'boolean',
        'default': False,
        'description': 'Send tokens to an http:// sonarqube_url or '
        'imbi_url (loopback addresses are always allowed)',
    },
]

#: What to write where is each webhook rule's ``action_config``, so the
#: capability has no settings of its own.
CAPABILITY_OPTIONS: list[dict[str, typing.Any]] = []

#: ``secret`` is read by v3 hosts only (v1's CredentialField has none).
CREDENTIALS: list[dict[str, typing.Any]] = [
    {
        'name': 'api_token',
        'label': 'SonarQube user token',
        'description': 'A user token (squ_...) with Browse on the '
        'projects; analysis tokens cannot read measures',
        'secret': True,
    },
    {
        'name': 'imbi_api_key',
        'label': 'Imbi API key',
        'description': 'An Imbi API key allowed to update projects',
        'secret': True,
    },
    {
        'name': 'imbi_url',
        'label': 'Imbi API URL',
        'description': 'Imbi API base URL, for gateways that pass no '
        'plugin options',
        'required': False,
        # A URL, shown back to the operator on v3 hosts.
        'secret': False,
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


def required_credentials() -> list[str]:
    """The credential names a call cannot do without, in manifest order."""
    return [c['name'] for c in CREDENTIALS if c.get('required', True)]
