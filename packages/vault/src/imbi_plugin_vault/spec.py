"""The one manifest source of both generations: plain data, stdlib only.

``plugin.py`` (v1) and ``_v3.py`` (v3) build their manifests from these
dicts, and the handler takes defaults and data types from here, so the
two generations cannot drift apart.
"""

import typing

SLUG_V1 = 'vault'
SLUG_V3 = 'vault'
NAME = 'HashiCorp Vault'
DESCRIPTION = (
    'Project configuration stored in a HashiCorp Vault KV (v1 or v2) '
    'mount, one secret per key.'
)
#: v3 capability label.
LABEL = 'Vault KV configuration'
#: The v1 manifest flag, the v3 capability hint: keys change outside
#: Imbi (the ``vault`` CLI, other tools), so a cached list goes stale.
CACHEABLE = False
#: v3 ``Capability.hints``.
HINTS: dict[str, typing.Any] = {'cacheable': CACHEABLE}

KV_VERSIONS = ('1', '2')
DELETE_MODES = ('soft', 'destroy')

#: Connection settings: one Vault, mount and token policy per
#: Integration (v3 asks for them once per Integration).
INTEGRATION_OPTIONS: list[dict[str, typing.Any]] = [
    {
        'name': 'url',
        'label': 'Vault address',
        'description': 'e.g. https://vault.example.com:8200',
        'type': 'string',
        'required': True,
    },
    {
        'name': 'mount_path',
        'label': 'KV mount',
        'description': (
            'Path of the KV secrets engine, e.g. secret or teams/kv'
        ),
        'type': 'string',
        'default': 'secret',
    },
    {
        'name': 'kv_version',
        'label': 'KV engine version',
        'description': (
            'Empty: read from Vault. Set it for tokens that may not '
            'look the mount up; a mismatch is an error'
        ),
        'type': 'string',
        'choices': list(KV_VERSIONS),
    },
    {
        'name': 'namespace',
        'label': 'Vault Enterprise namespace',
        'description': 'Sent as X-Vault-Namespace',
        'type': 'string',
    },
    {
        # An Integration option, not a capability one: which delete the
        # token's policy allows (data/ for soft, metadata/ for destroy)
        # is a property of the Integration's token, and destroying every
        # version is a retention decision a per-project override must
        # not be able to take.
        'name': 'delete_mode',
        'label': 'Delete mode (KV v2)',
        'description': (
            'soft: delete the latest version (recoverable); destroy: '
            'delete the key with all its versions'
        ),
        'type': 'string',
        'default': 'soft',
        'choices': list(DELETE_MODES),
    },
    {
        'name': 'max_concurrency',
        'label': 'Parallel requests',
        'description': 'Vault requests at once within one call (1-64)',
        'type': 'integer',
        'default': 8,
    },
    {
        'name': 'timeout_seconds',
        'label': 'Budget of one call (seconds)',
        'description': (
            'Whole call, retries included (1-300); the host may stop '
            'waiting sooner'
        ),
        'type': 'integer',
        'default': 8,
    },
    {
        'name': 'verify_tls',
        'label': 'Verify TLS certificates',
        'description': (
            'Against REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE or certifi'
        ),
        'type': 'boolean',
        'default': True,
    },
    {
        'name': 'redirect_hosts',
        'label': 'Other Vault nodes',
        'description': (
            'host:port of cluster nodes a redirect may lead to, '
            'comma-separated; the token follows no other redirect'
        ),
        'type': 'string',
    },
    {
        'name': 'allow_plain_http',
        'label': 'Allow plain http',
        'description': (
            'Send the token to an http:// url (loopback addresses are '
            'always allowed)'
        ),
        'type': 'boolean',
        'default': False,
    },
]

#: Per-project settings (v3 layers them with project-type and project
#: overrides).
CAPABILITY_OPTIONS: list[dict[str, typing.Any]] = [
    {
        'name': 'path_template',
        'label': 'Project folder',
        'description': (
            'Folder under the mount holding the project keys; '
            'variables: ${org_slug}, ${project_slug}, ${team_slug}, '
            '${environment}, ${project_id}'
        ),
        'type': 'string',
        'default': '${org_slug}/${project_slug}',
    },
]

CREDENTIALS: list[dict[str, typing.Any]] = [
    {
        'name': 'token',
        'label': 'Vault token',
        'description': 'Sent only in the X-Vault-Token header',
        'required': True,
    },
]

DATA_TYPES: list[dict[str, typing.Any]] = [
    {'name': 'string', 'label': 'String', 'secret': False},
    {'name': 'secret', 'label': 'Secret', 'secret': True},
]


def options() -> list[dict[str, typing.Any]]:
    """Every option, as the v1 manifest lists them (one layer)."""
    return INTEGRATION_OPTIONS + CAPABILITY_OPTIONS


def defaults() -> dict[str, str | int | bool]:
    """Option name -> default, for the options that have one."""
    return {
        option['name']: option['default']
        for option in options()
        if option.get('default') is not None
    }


def data_types() -> dict[str, bool]:
    """Data type name -> whether its values are secret."""
    return {
        data_type['name']: bool(data_type['secret'])
        for data_type in DATA_TYPES
    }
