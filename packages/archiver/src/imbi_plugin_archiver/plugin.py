"""The archiver's manifest and handler: thin, the flows live elsewhere.

Only imbi_common and the stdlib are imported here; httpx and the flows
load on the first call.
"""

from imbi_common.plugins import (
    CredentialField,
    PluginContext,
    PluginManifest,
    PluginOption,
)
from imbi_common.plugins.base import LifecyclePlugin, LifecycleResult


class ArchiverPlugin(LifecyclePlugin):
    """Archive (and unarchive) a project's GitHub repository with it."""

    manifest = PluginManifest(
        slug='archiver',
        name='GitHub Repository Archiver',
        description=(
            "Archives the project's GitHub repository when the project is "
            'archived and unarchives it when the project is unarchived, '
            'optionally moving it to an archive organization and back.'
        ),
        plugin_type='lifecycle',
        api_version=1,
        options=[
            PluginOption(
                name='api_url',
                label='GitHub API URL',
                description=(
                    'https://api.github.com, or https://HOST/api/v3 for '
                    'GitHub Enterprise Server'
                ),
                default='https://api.github.com',
            ),
            PluginOption(
                name='repository',
                label='Repository',
                description=(
                    'owner/name; else the project link github-repository, '
                    'else the single project link to a repository on the '
                    'GitHub host'
                ),
            ),
            PluginOption(
                name='archive_owner',
                label='Archive organization',
                description=(
                    'Organization archived repositories move to (and back '
                    'from on unarchive); empty: they stay where they are'
                ),
            ),
            PluginOption(
                name='timeout_seconds',
                label='Timeout (seconds)',
                description='Budget of one whole call',
                type='integer',
                default=8,
            ),
            PluginOption(
                name='allow_plain_http',
                label='Allow plain http',
                type='boolean',
                default=False,
                description='Send the token to an http:// api_url (loopback '
                'addresses are always allowed)',
            ),
        ],
        credentials=[
            CredentialField(
                name='token',
                label='GitHub token',
                description=(
                    'Used when no GitHub identity is bound: a token of a '
                    'repository admin (classic: repo scope; fine-grained '
                    'or App: Administration write)'
                ),
                required=False,
            ),
        ],
    )

    async def on_project_archived(
        self, ctx: PluginContext, credentials: dict[str, str]
    ) -> LifecycleResult:
        return await _handle(ctx, credentials, archive=True)

    async def on_project_unarchived(
        self, ctx: PluginContext, credentials: dict[str, str]
    ) -> LifecycleResult:
        return await _handle(ctx, credentials, archive=False)


async def _handle(
    ctx: PluginContext, credentials: dict[str, str], *, archive: bool
) -> LifecycleResult:
    from imbi_plugin_archiver import lifecycle, options

    token = options.access_token(credentials)
    return await lifecycle.handle(ctx, token, archive)
