"""The ``update_project_from_webhook`` action, for both calling styles.

imbi-gateway 1.3+ imports :func:`update_project_from_webhook` through the
plugin's ``ActionDescriptor`` and awaits it with keyword arguments;
``SonarQubePlugin.run_action`` (imbi-common 2.3.0-2.5.0) calls
:func:`run`. Both run the same code, under the plugin's own budget:
the gateway applies no timeout.
"""

import asyncio
import collections.abc
import logging
import re
import typing

from imbi_plugin_sonarqube_sync import _host
from imbi_plugin_sonarqube_sync import config as action_config_module
from imbi_plugin_sonarqube_sync._host import PluginContext, PluginTimeoutError

if typing.TYPE_CHECKING:
    from imbi_plugin_sonarqube_sync import analysis, options, values
else:
    # v3 registries and imbi-gateway import this module at start-up (the
    # action catalog names it); the rest is loaded by the first call.
    analysis = _host.deferred('imbi_plugin_sonarqube_sync.analysis')
    options = _host.deferred('imbi_plugin_sonarqube_sync.options')
    values = _host.deferred('imbi_plugin_sonarqube_sync.values')

LOGGER = logging.getLogger(__name__)

#: SonarQube's project key rule (ComponentKeys): letters, digits, '-',
#: '_', '.' and ':', with at least one non-digit, at most 400 characters.
_PROJECT_KEY = re.compile(r'[0-9]*[A-Za-z_.:-][A-Za-z0-9_.:-]*')
_PROJECT_KEY_MAX = 400


async def update_project_from_webhook(
    *,
    ctx: PluginContext,
    credentials: dict[str, str],
    external_identifier: str,
    action_config: object,
    payload: object = None,
    event: object = None,
    **_later: object,
) -> None:
    """Sync the project's SonarQube measures onto the Imbi project.

    Takes the body as ``payload=`` (imbi-gateway 1.3) or inside
    ``event=`` (imbi-common 2.11 and the v3 gateways:
    ``event['payload']``); keywords a later gateway adds are accepted
    and ignored.
    """
    body = payload if payload is not None else _event_payload(event)
    await run(ctx, credentials, external_identifier, action_config, body)


def _event_payload(event: object) -> object:
    if isinstance(event, collections.abc.Mapping):
        return event.get('payload')
    return getattr(event, 'payload', None)


async def run(
    ctx: PluginContext,
    credentials: collections.abc.Mapping[str, typing.Any],
    external_identifier: str,
    action_config: object,
    payload: object,
) -> None:
    """Validate everything, pick the branch, read SonarQube, patch Imbi."""
    secrets = options.require_credentials(credentials)
    config = action_config_module.parse(action_config)
    opts = options.read(options.raw(ctx), credentials)
    key = (external_identifier or '').strip()
    if not key:
        raise ValueError(
            'external_identifier is empty: the webhook rule must resolve '
            'the SonarQube project key (e.g. /project/key)'
        )
    if len(key) > _PROJECT_KEY_MAX or not _PROJECT_KEY.fullmatch(key):
        raise ValueError(
            f'external_identifier {key[:100]!r} is not a SonarQube project '
            "key (letters, digits, '-', '_', '.' and ':', with at least one "
            f'non-digit, at most {_PROJECT_KEY_MAX} characters): check what '
            "the webhook rule's identifier selector (/project/key) resolved"
        )
    if not ctx.org_slug or not ctx.project_id:
        raise ValueError(
            'the context names no Imbi project (org_slug and project_id '
            'are required)'
        )
    target = analysis.select(payload, config)
    if isinstance(target, str):
        LOGGER.info('sonarqube: skipped %s: %s', key, target)
        return
    try:
        async with asyncio.timeout(opts.timeout_seconds):
            await _sync(ctx, opts, secrets, config, key, target)
    except TimeoutError:
        raise PluginTimeoutError(
            f'sonarqube: syncing {key!r} took longer than '
            f'timeout_seconds={opts.timeout_seconds}'
        ) from None


async def _sync(
    ctx: PluginContext,
    opts: options.Options,
    secrets: options.Secrets,
    config: action_config_module.UpdateProjectConfig,
    key: str,
    target: analysis.Target,
) -> None:
    from imbi_plugin_sonarqube_sync import client

    async with client.connect(opts, secrets) as upstreams:
        measures = await upstreams.measures(
            key, list(config.metrics), target.branch
        )
        gate = (
            await upstreams.gate_status(key, target.branch)
            if config.quality_gate
            else None
        )
        operations = values.patch(
            config,
            measures,
            gate,
            values.dashboard_url(opts.sonarqube_url, key, target.branch),
        )
        if not operations:
            LOGGER.info(
                'sonarqube: %s (%s) has no values to write', key, target.label
            )
            return
        await upstreams.patch_project(ctx.org_slug, ctx.project_id, operations)
    LOGGER.info(
        'sonarqube: wrote %d value(s) of %s (%s) to project %s/%s',
        len(operations),
        key,
        target.label,
        ctx.org_slug,
        ctx.project_id,
    )
