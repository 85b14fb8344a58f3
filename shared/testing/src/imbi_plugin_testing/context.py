"""Factories for PluginContext and credentials, shaped as the host builds them.

The shapes follow docs/upstreams/host.md: configuration and logs contexts carry
project fields and an environment, identity contexts carry empty project
fields and the actor, deployment and lifecycle contexts carry project links
and project type slugs, and webhook contexts carry what the gateway sets.
"""

import typing

from imbi_plugin_testing._host import PluginContext

ContextKind = typing.Literal[
    'configuration',
    'logs',
    'identity',
    'deployment',
    'lifecycle',
    'webhook',
]

_PROJECT: dict[str, typing.Any] = {
    'project_id': 'prj-0001',
    'project_slug': 'billing-api',
    'org_slug': 'aweber',
    'team_slug': 'payments',
}


def make_context(
    kind: ContextKind = 'configuration',
    *,
    options: dict[str, typing.Any] | None = None,
    **fields: typing.Any,
) -> PluginContext:
    """Build a PluginContext the way imbi-api builds it for ``kind``.

    ``options`` becomes ``assignment_options``; ``fields`` override any
    field (``environment``, ``project_links``, ``environment_config``...).
    Fields the running imbi-common does not know are dropped, so a test
    can pass 2.11-only fields and still run on 2.3.
    """
    base: dict[str, typing.Any]
    if kind == 'identity':
        base = {
            'project_id': '',
            'project_slug': '',
            'org_slug': '',
            'actor_user_id': 'usr-0001',
        }
    else:
        base = dict(_PROJECT)
    if kind in ('configuration', 'logs', 'deployment'):
        base['environment'] = 'production'
    if kind in ('deployment', 'lifecycle'):
        base['project_links'] = {}
        base['project_type_slugs'] = ['apis']
    base['assignment_options'] = dict(options or {})
    base.update(fields)
    known = PluginContext.model_fields
    return PluginContext(**{k: v for k, v in base.items() if k in known})


def credentials(**values: str) -> dict[str, str]:
    """A credentials dict as the host passes it (decrypted, str values)."""
    return {name: str(value) for name, value in values.items()}
