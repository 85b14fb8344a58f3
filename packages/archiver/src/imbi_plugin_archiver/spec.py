"""The archiver's manifest as plain data: the v1 and v3 manifests and
the option reader's defaults all come from here (stdlib only)."""

import typing

SLUG_V1 = 'archiver'
SLUG_V3 = 'archiver'
NAME = 'GitHub Repository Archiver'
DESCRIPTION = (
    "Archives the project's GitHub repository when the project is "
    'archived and unarchives it when the project is unarchived, '
    'optionally moving it to an archive organization and back.'
)
DEFAULT_API_URL = 'https://api.github.com'
DEFAULT_TIMEOUT_SECONDS = 8

#: Connection settings: one Integration's GitHub (v3 Integration options).
INTEGRATION_OPTIONS: list[dict[str, typing.Any]] = [
    {
        'name': 'api_url',
        'label': 'GitHub API URL',
        'description': (
            'https://api.github.com, or https://HOST/api/v3 for GitHub '
            'Enterprise Server'
        ),
        'default': DEFAULT_API_URL,
    },
    {
        'name': 'timeout_seconds',
        'label': 'Timeout (seconds)',
        'description': 'Budget of one whole call',
        'type': 'integer',
        'default': DEFAULT_TIMEOUT_SECONDS,
    },
    {
        'name': 'allow_plain_http',
        'label': 'Allow plain http',
        'type': 'boolean',
        'default': False,
        'description': (
            'Send the token to an http:// api_url (loopback addresses are '
            'always allowed)'
        ),
    },
]

#: Per-project settings (v3 capability options, layered per project type
#: and project).
CAPABILITY_OPTIONS: list[dict[str, typing.Any]] = [
    {
        'name': 'repository',
        'label': 'Repository',
        'description': (
            'owner/name; else the project link github-repository, else the '
            'single project link to a repository on the GitHub host'
        ),
    },
    {
        'name': 'archive_owner',
        'label': 'Archive organization',
        'description': (
            'Organization archived repositories move to (and back from on '
            'unarchive); empty: they stay where they are'
        ),
    },
]

#: Credential fields, as both generations' CredentialField takes them.
CREDENTIALS: list[dict[str, typing.Any]] = [
    {
        'name': 'token',
        'label': 'GitHub token',
        'description': (
            'Used when no GitHub identity is bound: a token of a repository '
            'admin (classic: repo scope; fine-grained or App: '
            'Administration write). Or leave it empty and set app_id and '
            'private_key'
        ),
        'required': False,
    },
    {
        'name': 'app_id',
        'label': 'GitHub App ID',
        'description': (
            "A GitHub App's numeric App ID, with private_key: used when "
            'neither an identity nor a token is there. The App needs the '
            '"Administration: write" repository permission and an '
            'installation on the repositories'
        ),
        'required': False,
    },
    {
        'name': 'private_key',
        'label': 'GitHub App private key',
        'description': (
            "The App's private key (the whole .pem file GitHub generated)"
        ),
        'required': False,
    },
]

#: What only v3's CredentialField has (imbi-common 2.12.2+; older v3
#: releases drop unknown keys). v1's CredentialField never sees these.
CREDENTIALS_V3: dict[str, dict[str, typing.Any]] = {
    'app_id': {'secret': False},
    'private_key': {'multiline': True},
}

CAPABILITY_LABEL = 'Archive GitHub repository'
HINTS: dict[str, typing.Any] = {'lifecycle_events': ['archived', 'unarchived']}


def options() -> list[dict[str, typing.Any]]:
    """The v1 manifest's options: integration and capability in one."""
    return INTEGRATION_OPTIONS + CAPABILITY_OPTIONS


def credentials(generation: int) -> list[dict[str, typing.Any]]:
    """Credential field arguments for ``generation`` (1 or 3)."""
    if generation != 3:
        return [dict(field) for field in CREDENTIALS]
    return [
        {**field, **CREDENTIALS_V3.get(field['name'], {})}
        for field in CREDENTIALS
    ]
