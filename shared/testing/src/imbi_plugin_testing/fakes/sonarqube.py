"""Stand-in for the SonarQube web API and its webhook payloads.

Follows docs/upstreams/sonarqube.md: ``GET /api/measures/component`` and
``GET /api/qualitygates/project_status`` for projects with branches and
pull requests; bearer tokens (SonarQube 10+, switch off with
``bearer_supported=False`` to act as 9.9) and basic auth with the token
as the login and an empty password; analysis tokens (``sqa_``/``sqp_``)
are refused with 403 on these endpoints; errors in SonarQube's shape
``{"errors": [{"msg": ...}]}`` with its messages (unknown component,
branch, pull request, metric). The order of checks is SonarQube's:
authentication, parameters, component, permission, metrics.
"""

import base64
import dataclasses
import secrets
import typing

import starlette.requests
import starlette.responses
import starlette.routing

from imbi_plugin_testing.standin import StandIn

#: Metric key -> (type, name, domain), for the metrics the fake knows.
METRICS: dict[str, tuple[str, str, str]] = {
    'alert_status': ('LEVEL', 'Quality Gate Status', 'Releasability'),
    'bugs': ('INT', 'Bugs', 'Reliability'),
    'code_smells': ('INT', 'Code Smells', 'Maintainability'),
    'coverage': ('PERCENT', 'Coverage', 'Coverage'),
    'duplicated_lines_density': (
        'PERCENT',
        'Duplicated Lines (%)',
        'Duplications',
    ),
    'ncloc': ('INT', 'Lines of Code', 'Size'),
    'new_bugs': ('INT', 'New Bugs', 'Reliability'),
    'new_coverage': ('PERCENT', 'Coverage on New Code', 'Coverage'),
    'new_violations': ('INT', 'New Issues', 'Issues'),
    'reliability_rating': ('RATING', 'Reliability Rating', 'Reliability'),
    'security_hotspots': ('INT', 'Security Hotspots', 'SecurityReview'),
    'security_rating': ('RATING', 'Security Rating', 'Security'),
    'sqale_index': ('WORK_DUR', 'Technical Debt', 'Maintainability'),
    'sqale_rating': ('RATING', 'Maintainability Rating', 'Maintainability'),
    'software_quality_maintainability_rating': (
        'RATING',
        'Maintainability Rating',
        'Maintainability',
    ),
    'vulnerabilities': ('INT', 'Vulnerabilities', 'Security'),
}
_TOKEN_PREFIXES = {
    'user': 'squ_',
    'global_analysis': 'sqa_',
    'project_analysis': 'sqp_',
}


@dataclasses.dataclass
class Branch:
    """A branch or pull request with its measures and gate status.

    ``measures`` holds metric values as SonarQube sends them (strings);
    ``period`` the new-code values (``new_*`` metrics live only there).
    """

    name: str
    is_main: bool = False
    pull_request: bool = False
    measures: dict[str, str] = dataclasses.field(default_factory=dict)
    period: dict[str, str] = dataclasses.field(default_factory=dict)
    gate_status: str = 'NONE'
    gate_conditions: list[dict[str, str]] = dataclasses.field(
        default_factory=list
    )


@dataclasses.dataclass
class Project:
    key: str
    name: str
    branches: dict[str, Branch] = dataclasses.field(default_factory=dict)
    pull_requests: dict[str, Branch] = dataclasses.field(default_factory=dict)

    @property
    def main(self) -> Branch:
        return next(b for b in self.branches.values() if b.is_main)


@dataclasses.dataclass
class Token:
    login: str
    kind: typing.Literal['user', 'global_analysis', 'project_analysis']
    #: Project keys the user may browse; None: every project.
    browse: set[str] | None = None


class SonarQubeFake(StandIn):
    """The SonarQube stand-in; state is set up with the helpers below."""

    def __init__(
        self,
        *,
        bearer_supported: bool = True,
        base_url: str = 'http://sonarqube.test',
    ) -> None:
        super().__init__()
        self.bearer_supported = bearer_supported
        self.base_url = base_url
        self.projects: dict[str, Project] = {}
        self.tokens: dict[str, Token] = {}

    # -- state helpers ------------------------------------------------------

    def add_project(
        self, key: str, name: str | None = None, main_branch: str = 'main'
    ) -> Project:
        project = Project(key=key, name=name or key)
        project.branches[main_branch] = Branch(main_branch, is_main=True)
        self.projects[key] = project
        return project

    def branch(
        self,
        key: str,
        branch: str | None = None,
        pull_request: str | None = None,
    ) -> Branch:
        """A project's branch or pull request, created when absent."""
        project = self.projects[key]
        if pull_request is not None:
            return project.pull_requests.setdefault(
                pull_request, Branch(pull_request, pull_request=True)
            )
        if branch is None:
            return project.main
        return project.branches.setdefault(branch, Branch(branch))

    def set_measures(
        self,
        key: str,
        *,
        branch: str | None = None,
        pull_request: str | None = None,
        gate: str | None = None,
        period: dict[str, str] | None = None,
        **measures: str,
    ) -> Branch:
        """Record an analysis result: measures, new-code values, gate."""
        target = self.branch(key, branch, pull_request)
        target.measures.update(measures)
        target.period.update(period or {})
        if gate is not None:
            target.gate_status = gate
            target.gate_conditions = [
                {
                    'status': gate if gate in ('OK', 'ERROR') else 'OK',
                    'metricKey': 'new_coverage',
                    'comparator': 'LT',
                    'errorThreshold': '80',
                    'actualValue': target.period.get('new_coverage', '0.0'),
                }
            ]
        return target

    def issue_token(
        self,
        login: str = 'imbi',
        kind: typing.Literal[
            'user', 'global_analysis', 'project_analysis'
        ] = 'user',
        browse: set[str] | None = None,
    ) -> str:
        value = _TOKEN_PREFIXES[kind] + secrets.token_hex(20)
        self.tokens[value] = Token(login, kind, browse)
        return value

    def webhook_payload(
        self,
        key: str,
        *,
        branch: str | None = None,
        pull_request: str | None = None,
        status: str = 'SUCCESS',
        task_id: str | None = 'AYx2kq3m0dWcSb-pTv1R',
    ) -> dict[str, typing.Any]:
        """The body SonarQube POSTs to a webhook after an analysis.

        ``task_id=None`` gives the shape of an issue-change delivery.
        """
        project = self.projects[key]
        target = self.branch(key, branch, pull_request)
        dashboard = f'{self.base_url}/dashboard?id={key}'
        payload: dict[str, typing.Any] = {
            'serverUrl': self.base_url,
            'status': status,
            'analysedAt': '2025-02-10T10:51:17+0100',
            'revision': 'c8e6f2b0a7d94e1f3b5a6c7d8e9f0a1b2c3d4e5f',
            'changedAt': '2025-02-13T09:55:38+0100',
            'project': {'key': key, 'name': project.name, 'url': dashboard},
            'branch': {
                'name': target.name,
                'type': 'PULL_REQUEST' if target.pull_request else 'BRANCH',
                'isMain': target.is_main,
                'url': (
                    f'{dashboard}&pullRequest={target.name}'
                    if target.pull_request
                    else dashboard
                    if target.is_main
                    else f'{dashboard}&branch={target.name}'
                ),
            },
            'qualityGate': {
                'name': 'Sonar way',
                'status': 'ERROR' if target.gate_status == 'ERROR' else 'OK',
                'conditions': [
                    {
                        'metric': c['metricKey'],
                        'operator': 'LESS_THAN',
                        'value': c['actualValue'],
                        'status': c['status'],
                        'errorThreshold': c['errorThreshold'],
                    }
                    for c in target.gate_conditions
                ],
            },
            'properties': {'sonar.analysis.detectedscm': 'git'},
        }
        if task_id is not None:
            payload = {'taskId': task_id, **payload}
        return payload

    # -- plumbing -------------------------------------------------------------

    @staticmethod
    def error(status: int, message: str) -> starlette.responses.Response:
        return starlette.responses.JSONResponse(
            {'errors': [{'msg': message}]}, status_code=status
        )

    def authenticate(
        self, request: starlette.requests.Request
    ) -> Token | starlette.responses.Response:
        header = request.headers.get('authorization', '')
        scheme, _, value = header.partition(' ')
        token_value: str | None = None
        if scheme.lower() == 'bearer' and self.bearer_supported:
            token_value = value.strip()
        elif scheme.lower() == 'basic':
            try:
                decoded = base64.b64decode(value.strip()).decode()
            except ValueError:
                return starlette.responses.Response(status_code=401)
            login, _, password = decoded.partition(':')
            # A token travels as the login with an empty password.
            token_value = login if not password else None
        if not token_value:
            return self.error(401, 'Authentication is required')
        token = self.tokens.get(token_value)
        if token is None:
            # SonarQube answers a bad token with an empty 401.
            return starlette.responses.Response(status_code=401)
        return token

    def _browse_denied(self, token: Token, key: str) -> bool:
        if token.kind != 'user':
            return True
        return token.browse is not None and key not in token.browse

    # -- routes ---------------------------------------------------------------

    def routes(self) -> list[starlette.routing.BaseRoute]:
        return [
            starlette.routing.Route(
                '/api/measures/component', self.measures_component
            ),
            starlette.routing.Route(
                '/api/qualitygates/project_status', self.project_status
            ),
        ]

    async def measures_component(
        self, request: starlette.requests.Request
    ) -> starlette.responses.Response:
        token = self.authenticate(request)
        if not isinstance(token, Token):
            return token
        params = request.query_params
        for name in ('component', 'metricKeys'):
            if not params.get(name):
                return self.error(400, f"The '{name}' parameter is missing")
        key = params['component']
        branch_name = params.get('branch')
        pr_name = params.get('pullRequest')
        if branch_name and pr_name:
            return self.error(
                400, 'Either branch or pull request can be provided, not both'
            )
        found = self._find(key, branch_name, pr_name)
        if found is None:
            if branch_name:
                message = f"Component '{key}' on branch '{branch_name}' "
            elif pr_name:
                message = f"Component '{key}' of pull request '{pr_name}' "
            else:
                message = f"Component key '{key}' "
            return self.error(404, message + 'not found')
        if self._browse_denied(token, key):
            return self.error(403, 'Insufficient privileges')
        keys = [k for k in params['metricKeys'].split(',') if k]
        missing = [k for k in keys if k not in METRICS]
        if missing:
            return self.error(
                404,
                'The following metric keys are not found: '
                + ', '.join(missing),
            )
        project = self.projects[key]
        measures = []
        for metric in keys:
            measure: dict[str, typing.Any] = {'metric': metric}
            if metric in found.measures:
                measure['value'] = found.measures[metric]
            if metric in found.period:
                measure['period'] = {
                    'value': found.period[metric],
                    'bestValue': False,
                }
            if len(measure) > 1:
                measures.append(measure)
        body: dict[str, typing.Any] = {
            'component': {
                'key': key,
                'name': project.name,
                'qualifier': 'TRK',
                'measures': measures,
            }
        }
        if branch_name and not found.is_main:
            body['component']['branch'] = branch_name
        if pr_name:
            body['component']['pullRequest'] = pr_name
        additional = params.get('additionalFields', '').split(',')
        if 'metrics' in additional:
            body['metrics'] = [
                {
                    'key': metric,
                    'name': METRICS[metric][1],
                    'type': METRICS[metric][0],
                    'domain': METRICS[metric][2],
                    'higherValuesAreBetter': metric.endswith('coverage'),
                    'qualitative': True,
                    'hidden': False,
                }
                for metric in keys
            ]
        if 'period' in additional:
            body['period'] = {
                'mode': 'PREVIOUS_VERSION',
                'date': '2025-02-01T10:00:00+0100',
            }
        return starlette.responses.JSONResponse(body)

    async def project_status(
        self, request: starlette.requests.Request
    ) -> starlette.responses.Response:
        token = self.authenticate(request)
        if not isinstance(token, Token):
            return token
        params = request.query_params
        given = [
            n for n in ('analysisId', 'projectId', 'projectKey') if n in params
        ]
        if len(given) != 1:
            return self.error(
                400,
                "Either 'analysisId', 'projectId' or 'projectKey' must be "
                'provided',
            )
        if given != ['projectKey']:
            return self.error(
                400, f"the stand-in answers projectKey only, not '{given[0]}'"
            )
        key = params['projectKey']
        branch_name = params.get('branch')
        pr_name = params.get('pullRequest')
        if branch_name and pr_name:
            return self.error(
                400,
                "Either 'branch' or 'pullRequest' can be provided, not both",
            )
        if key not in self.projects:
            return self.error(404, f"Project '{key}' not found")
        found = self._find(key, branch_name, pr_name)
        if found is None:
            what = (
                f"Branch '{branch_name}'"
                if branch_name
                else f"Pull request '{pr_name}'"
            )
            return self.error(404, f"{what} in project '{key}' not found")
        if self._browse_denied(token, key):
            return self.error(403, 'Insufficient privileges')
        return starlette.responses.JSONResponse(
            {
                'projectStatus': {
                    'status': found.gate_status,
                    'conditions': found.gate_conditions,
                    'ignoredConditions': False,
                    'caycStatus': 'compliant',
                }
            }
        )

    def _find(
        self, key: str, branch: str | None, pull_request: str | None
    ) -> Branch | None:
        project = self.projects.get(key)
        if project is None:
            return None
        if pull_request:
            return project.pull_requests.get(pull_request)
        if branch:
            return project.branches.get(branch)
        return project.main
