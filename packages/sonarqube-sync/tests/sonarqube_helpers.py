"""Shared test plumbing: constants, the served stand-ins, calling styles."""

import dataclasses
import json
import typing

from imbi_plugin_sonarqube_sync import _host, actions, spec
from imbi_plugin_sonarqube_sync.config import UpdateProjectConfig
from imbi_plugin_testing import Host, HostResponse, SecretScan
from imbi_plugin_testing.fakes.imbi_api import ImbiApiFake
from imbi_plugin_testing.fakes.sonarqube import SonarQubeFake
from imbi_plugin_testing.generation import (
    handler_under_test,
    plugin_under_test,
)

MODULE = 'imbi_plugin_sonarqube_sync'
KEY = 'aweber:billing-api'
ORG = 'aweber'
PROJECT_ID = 'prj-0001'
ACTION = spec.ACTION
HAS_CATALOG = _host.optional('ActionDescriptor') is not None
V3 = _host.generation() == 3
#: The slug the installed host knows the plugin by.
SLUG = spec.SLUG_V3 if V3 else spec.SLUG_V1

CONFIG: dict[str, typing.Any] = {
    'metrics': {
        'coverage': '/sonarqube_coverage',
        'bugs': '/sonarqube_bugs',
        'ncloc': '/sonarqube_lines_of_code',
        'new_coverage': '/sonarqube_new_coverage',
        'reliability_rating': '/sonarqube_reliability',
        'security_rating': '/sonarqube_security',
        'alert_status': '/sonarqube_alert_status',
    },
    'quality_gate': '/sonarqube_quality_gate',
    'dashboard_url': '/sonarqube_dashboard',
}

#: The calling styles: run_action ('slug:action') and the action catalog
#: ('slug#action') with the body as payload= or inside event=. v3
#: gateways only ever pass event=.
STYLES = ('event',) if V3 else ('run_action', 'payload', 'event')
#: The one style every host of this generation has: tests that are not
#: about the calling style use it.
BASIC = 'event' if V3 else 'run_action'


@dataclasses.dataclass
class Tokens:
    api_token: str
    imbi_api_key: str


@dataclasses.dataclass
class World:
    """Both stand-ins served, the credentials, and a host to call with."""

    sonarqube: SonarQubeFake
    imbi: ImbiApiFake
    sonar_url: str
    imbi_url: str
    tokens: Tokens
    scan: SecretScan

    def credentials(self, **override: str) -> dict[str, str]:
        creds = {
            'api_token': self.tokens.api_token,
            'imbi_api_key': self.tokens.imbi_api_key,
            'imbi_url': self.imbi_url,
        }
        creds.update(override)
        return creds

    def host(
        self,
        options: dict[str, typing.Any] | None = None,
        **credentials: str,
    ) -> Host:
        host = Host(
            plugin_class(),
            plugin_options={
                'sonarqube_url': self.sonar_url,
                'imbi_url': self.imbi_url,
                **(options or {}),
            },
            credentials=self.credentials(**credentials),
        )
        # The host registers every credential value with the scan; the
        # imbi_url credential is a URL, not a secret.
        self.scan.secrets.discard(self.imbi_url)
        return host

    def project(self) -> dict[str, typing.Any]:
        return self.imbi.project(ORG, PROJECT_ID)

    def network_requests(self) -> int:
        return len(self.sonarqube.requests) + len(self.imbi.requests)

    async def call(
        self,
        style: str,
        payload: typing.Any,
        config: typing.Any = None,
        *,
        host: Host | None = None,
        key: str = KEY,
    ) -> HostResponse:
        """One webhook delivery through the host in ``style``."""
        host = host or self.host()
        config = CONFIG if config is None else config
        if style == 'run_action':
            return await host.dispatch(
                f'{SLUG}:{ACTION}',
                external_identifier=key,
                action_config=config,
                payload=payload,
            )
        keyword: typing.Literal['payload', 'event'] = (
            'payload' if style == 'payload' else 'event'
        )
        if HAS_CATALOG:
            return await host.dispatch(
                f'{SLUG}#{ACTION}',
                external_identifier=key,
                action_config=config,
                payload=payload,
                service_slug='sonarqube',
                service_endpoint=self.sonar_url,
                payload_keyword=keyword,
            )
        return await self._call_catalog_directly(
            host, keyword, payload, config, key
        )

    async def _call_catalog_directly(
        self,
        host: Host,
        keyword: str,
        payload: typing.Any,
        config: typing.Any,
        key: str,
    ) -> HostResponse:
        """What imbi-gateway 1.3 does, where imbi-common has no catalog.

        imbi-common before 2.5.1 has no ActionDescriptor, so the host's
        catalog dispatch cannot run; the callable is awaited with the
        gateway's keywords and a validated config model instead.
        """
        text = config if isinstance(config, str) else json.dumps(config)
        body = payload if keyword == 'payload' else {'payload': payload}
        ctx = host.context(
            'webhook',
            options={
                'service_slug': 'sonarqube',
                'service_endpoint': self.sonar_url,
            },
        )
        try:
            await actions.update_project_from_webhook(
                ctx=ctx,
                credentials=host.credentials,
                external_identifier=key,
                action_config=UpdateProjectConfig.model_validate_json(text),
                **{keyword: body},
            )
        except Exception as exc:
            self.scan.record_exception(exc)
            return Host.error_response(exc)
        return HostResponse(204)


def plugin_class() -> typing.Any:
    """The plugin the installed host loads (v1 class or v3 ``PLUGIN``)."""
    return plugin_under_test(MODULE)


def handler_class() -> typing.Any:
    """The class whose ``actions()`` the installed host reads."""
    return handler_under_test(MODULE)
