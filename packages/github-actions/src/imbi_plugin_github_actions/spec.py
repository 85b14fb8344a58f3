"""The one manifest source both generations' manifests are built from.

Plain data, stdlib only: ``plugin.py`` (v1) and ``_v3.py`` (v3) turn it
into their host's ``PluginManifest``; ``options.py`` takes the defaults
from here, since no host applies ``PluginOption.default``.
"""

import typing

SLUG_V1 = 'github-actions'
SLUG_V3 = 'github-actions'
NAME = 'GitHub Actions'
DESCRIPTION = (
    'Browse GitHub refs and commits, tag and release, dispatch a '
    'deployment workflow, follow its run and resync deployments '
    '(github.com and GitHub Enterprise Server).'
)
KIND_V3 = 'deployment'
LABEL_V3 = 'Deployments through GitHub Actions'
#: list_recent_deployments is implemented, so the v3 host may resync.
HINTS_V3: dict[str, typing.Any] = {'supports_deployment_sync': True}

#: Connection settings, asked once per v3 Integration.
INTEGRATION_OPTIONS: list[dict[str, typing.Any]] = [
    {
        'name': 'api_url',
        'label': 'API URL',
        'description': 'https://api.github.com, or https://HOST/api/v3 '
        'for GitHub Enterprise Server',
        'default': 'https://api.github.com',
    },
    {
        'name': 'timeout_seconds',
        'label': 'Timeout (seconds)',
        'description': (
            'Budget of one whole call (1..300), retries, waits, pagination '
            'and the GitHub App token exchange included'
        ),
        'type': 'integer',
        'default': 8,
    },
    {
        'name': 'allow_plain_http',
        'label': 'Allow plain http',
        'type': 'boolean',
        'default': False,
        'description': 'Send the token to an http:// api_url (loopback '
        'addresses are always allowed)',
    },
]

#: Per-project settings (v3 capability options, layered per project
#: type and project).
CAPABILITY_OPTIONS: list[dict[str, typing.Any]] = [
    {
        'name': 'repository',
        'label': 'Repository',
        'description': 'owner/name; else the project link '
        'github-repository, else its one link on the GitHub host',
    },
    {
        'name': 'workflow',
        'label': 'Workflow',
        'description': 'Deploy workflow file name or id; '
        "environment_config['workflow'] overrides it",
    },
    {
        'name': 'sha_input',
        'label': 'SHA input',
        'description': 'Workflow input that receives a commit SHA '
        '(SHAs are dispatched on the default branch)',
        'default': 'sha',
    },
    {
        'name': 'correlation_input',
        'label': 'Correlation input',
        'description': 'Workflow input that receives a unique id, '
        'used to find the run where GitHub cannot return it',
    },
]

#: v1 hosts' option order (the manifest v1 hosts have always shown).
V1_ORDER = (
    'api_url',
    'repository',
    'workflow',
    'sha_input',
    'correlation_input',
    'timeout_seconds',
    'allow_plain_http',
)

#: CredentialField arguments. ``secret`` and ``multiline`` exist only
#: on v3 (2.12.2+): :func:`credentials` leaves them out for v1.
CREDENTIALS: list[dict[str, typing.Any]] = [
    {
        'name': 'token',
        'label': 'GitHub token',
        'description': 'PAT or installation token, used when no GitHub '
        'identity is bound; or leave it empty and give app_id and '
        'private_key',
        'required': False,
    },
    {
        'name': 'app_id',
        'label': 'GitHub App ID',
        'description': 'Numeric id of a GitHub App installed on the '
        'repository; with private_key, an installation token is made '
        'for each call',
        'required': False,
        'secret': False,
    },
    {
        'name': 'private_key',
        'label': 'GitHub App private key',
        'description': "The App's private key: PEM, or the PEM "
        'base64-encoded on one line',
        'required': False,
        'multiline': True,
    },
]
_V3_ONLY_CREDENTIAL_KEYS = ('secret', 'multiline')


def options() -> list[dict[str, typing.Any]]:
    """Every option, in the order v1 manifests list them."""
    by_name = {o['name']: o for o in INTEGRATION_OPTIONS + CAPABILITY_OPTIONS}
    return [by_name[name] for name in V1_ORDER]


def credentials(generation: int) -> list[dict[str, typing.Any]]:
    """CredentialField arguments for a host of ``generation``."""
    if generation >= 3:
        return [dict(c) for c in CREDENTIALS]
    return [
        {k: v for k, v in c.items() if k not in _V3_ONLY_CREDENTIAL_KEYS}
        for c in CREDENTIALS
    ]


def defaults() -> dict[str, typing.Any]:
    """Each option's default, where it has one."""
    return {
        o['name']: o['default']
        for o in INTEGRATION_OPTIONS + CAPABILITY_OPTIONS
        if 'default' in o
    }
