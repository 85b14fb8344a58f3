"""The webhook handler, shared by the v1 and v3 plugin classes.

Stdlib only at the top level; the host's classes come through ``_host``
and the action itself (httpx, jsonpointer) on the first call.
"""

import typing

from imbi_plugin_sonarqube_sync import _host, spec


class SonarQubeHandler:
    """Keeps Imbi projects in step with SonarQube analyses.

    A plain mixin: ``plugin.SonarQubePlugin`` (v1) and
    ``_v3.SonarQubeWebhookActions`` (v3) add the host's base class. The
    v1-only ``run_action`` entry lives on the v1 class.
    """

    @classmethod
    def actions(cls) -> list[typing.Any]:
        """The action catalog imbi-common 2.5.1+ and v3 read at load."""
        descriptor = _host.optional('ActionDescriptor')
        if descriptor is None:
            raise NotImplementedError(
                'actions() needs imbi-common 2.5.1 or later; older hosts '
                'call run_action'
            )
        return [
            descriptor(
                name=spec.ACTION,
                label=spec.ACTION_LABEL,
                description=spec.ACTION_DESCRIPTION,
                callable=spec.ACTION_CALLABLE,
                config_model=spec.ACTION_CONFIG_MODEL,
            )
        ]
