"""Demo: SonarQube analyses reach an Imbi project through both gateways.

Serves the SonarQube and Imbi API stand-ins, then delivers webhook
payloads the way each host calls the plugin: a main-branch analysis
(``slug:action``), the same delivery again (idempotent), a pull request
(skipped), a release branch (``slug#action`` where imbi-common has the
action catalog) and an analysis token (refused).
"""

import json
import typing

from imbi_plugin_testing import _host as plugin_base
from imbi_plugin_testing.fakes.imbi_api import ImbiApiFake
from imbi_plugin_testing.fakes.sonarqube import SonarQubeFake
from imbi_plugin_testing.host import Host
from imbi_plugin_testing.scenarios import Steps
from imbi_plugin_testing.secrets import current_scan

KEY = 'aweber:billing-api'
ORG = 'aweber'
PROJECT_ID = 'prj-0001'
ACTION = 'update_project_from_webhook'
CONFIG: dict[str, typing.Any] = {
    'metrics': {
        'coverage': '/sonarqube_coverage',
        'bugs': '/sonarqube_bugs',
        'new_coverage': '/sonarqube_new_coverage',
        'reliability_rating': '/sonarqube_reliability',
    },
    'quality_gate': '/sonarqube_quality_gate',
    'dashboard_url': '/sonarqube_dashboard',
    'branches': ['main', 'release'],
}


def _stand_ins() -> tuple[SonarQubeFake, ImbiApiFake]:
    sonarqube = SonarQubeFake()
    sonarqube.add_project(KEY, 'Billing API')
    sonarqube.set_measures(
        KEY,
        coverage='87.4',
        bugs='3',
        reliability_rating='1.0',
        gate='OK',
        period={'new_coverage': '91.0'},
    )
    sonarqube.set_measures(
        KEY,
        branch='release',
        coverage='80.0',
        bugs='5',
        reliability_rating='3.0',
        gate='ERROR',
    )
    sonarqube.set_measures(KEY, pull_request='42', coverage='50.0')
    imbi = ImbiApiFake()
    imbi.add_project(ORG, PROJECT_ID, name='Billing API')
    return sonarqube, imbi


async def run(steps: Steps) -> None:
    from imbi_plugin_testing.generation import (
        V3,
        ManifestView,
        plugin_under_test,
    )

    SonarQubePlugin = plugin_under_test('imbi_plugin_sonarqube_sync')
    slug = ManifestView(SonarQubePlugin).slug
    # v3 gateways know only the catalog style, under the v3 slug.
    basic = f'{slug}#{ACTION}' if V3 else f'{slug}:{ACTION}'

    sonarqube, imbi = _stand_ins()
    with sonarqube.serve() as sonar_url, imbi.serve() as imbi_url:
        credentials = {
            'api_token': sonarqube.issue_token('imbi'),
            'imbi_api_key': imbi.issue_api_key(),
            'imbi_url': imbi_url,
        }
        host = Host(
            SonarQubePlugin,
            plugin_options={'sonarqube_url': sonar_url, 'imbi_url': imbi_url},
            credentials=credentials,
            project={'org_slug': ORG, 'project_id': PROJECT_ID},
        )
        # The host registers every credential value as a secret; the
        # imbi_url credential is a URL that httpx logs, not a secret.
        scan = current_scan()
        if scan is not None:
            scan.secrets.discard(imbi_url)

        async def deliver(
            payload: dict[str, typing.Any],
            handler: str = basic,
        ) -> None:
            response = await host.dispatch(
                handler,
                external_identifier=KEY,
                action_config=json.dumps(CONFIG),
                payload=payload,
                service_slug='sonarqube',
                service_endpoint=sonar_url,
            )
            steps.check(response.ok, f'host answered {response.status}')

        async with steps.step('main-branch analysis writes the measures'):
            await deliver(sonarqube.webhook_payload(KEY))
            project = imbi.project(ORG, PROJECT_ID)
            steps.check(project['sonarqube_coverage'] == 87.4, 'coverage')
            steps.check(project['sonarqube_bugs'] == 3, 'bugs')
            steps.check(project['sonarqube_reliability'] == 'A', 'rating')
            steps.check(project['sonarqube_quality_gate'] == 'OK', 'gate')

        async with steps.step('the same delivery again changes nothing'):
            before = dict(imbi.project(ORG, PROJECT_ID))
            await deliver(sonarqube.webhook_payload(KEY))
            after = dict(imbi.project(ORG, PROJECT_ID))
            before.pop('updated_at')
            after.pop('updated_at')
            steps.check(before == after, 'project changed on a re-run')

        async with steps.step('a pull-request analysis is skipped'):
            seen = len(sonarqube.requests)
            await deliver(sonarqube.webhook_payload(KEY, pull_request='42'))
            steps.check(len(sonarqube.requests) == seen, 'SonarQube read')

        async with steps.step('a release-branch analysis is synced'):
            handler = (
                f'{slug}#{ACTION}'
                if hasattr(plugin_base, 'ActionDescriptor')
                else basic
            )
            await deliver(
                sonarqube.webhook_payload(KEY, branch='release'), handler
            )
            project = imbi.project(ORG, PROJECT_ID)
            steps.check(project['sonarqube_bugs'] == 5, 'bugs')
            steps.check(project['sonarqube_quality_gate'] == 'ERROR', 'gate')

        async with steps.step('an analysis token is refused'):
            host.credentials['api_token'] = sonarqube.issue_token(
                kind='project_analysis'
            )
            response = await host.dispatch(
                basic,
                external_identifier=KEY,
                action_config=json.dumps(CONFIG),
                payload=sonarqube.webhook_payload(KEY),
            )
            steps.check(response.status == 500, f'got {response.status}')
            steps.check(
                type(response.error).__name__ == 'PluginAuthenticationFailed',
                f'got {response.error!r}',
            )
