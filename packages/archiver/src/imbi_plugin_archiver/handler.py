"""The archiver's handler methods, shared by the v1 plugin and the v3
capability: only the two hooks it implements, nothing else (v3 hosts
report every hook left as the base method ``skipped``)."""

import typing

from imbi_plugin_archiver._host import LifecycleResult, PluginContext


class ArchiverHandler:
    """Archive (and unarchive) a project's GitHub repository with it."""

    async def on_project_archived(
        self, ctx: PluginContext, credentials: dict[str, str]
    ) -> LifecycleResult:
        return await _handle(ctx, credentials, archive=True)

    async def on_project_unarchived(
        self, ctx: PluginContext, credentials: dict[str, str]
    ) -> LifecycleResult:
        return await _handle(ctx, credentials, archive=False)


async def _handle(
    ctx: PluginContext, credentials: typing.Mapping[str, str], *, archive: bool
) -> LifecycleResult:
    # httpx and the flows load on the first call, not at import.
    from imbi_plugin_archiver import lifecycle

    return await lifecycle.handle(ctx, dict(credentials), archive)
