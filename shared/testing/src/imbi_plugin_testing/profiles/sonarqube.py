"""Matrix profile of the sonarqube webhook plugin (SonarQube and Imbi).

The action ``update_project_from_webhook`` talks to two upstreams: it
reads SonarQube (measures, then the quality gate) and writes the Imbi
project with one PATCH. The profile's ``make_fake`` returns one
:class:`SonarQubeAndImbi`: a stand-in whose routes are those of the
SonarQube fake and of the Imbi API fake (their paths do not overlap),
each fake keeping its own state. One stand-in for both upstreams means
one request log, so the bad-input matrix's "no upstream request" check
sees a stray SonarQube read *and* a stray Imbi write.

The fault matrix injects each fault for every path; a call variant then
aims it at one upstream request before dispatching the action (the same
``sonarqube:update_project_from_webhook`` delivery each time):

- ``update_project/measures``: the SonarQube measures read, the first
  request, so SonarQube's own error bodies (``error_bodies``) apply;
- ``update_project/quality_gate``: the measures read succeeds and the
  gate read meets the fault (404 answered with the gate's own message);
- ``update_project/imbi_patch``: both reads succeed and the Imbi PATCH
  meets the fault, answered with the Imbi API's (FastAPI) error bodies.
  For ``refused`` SonarQube is read from the stand-in's own address and
  only ``imbi_url`` points at the closed port.

SonarQube and Imbi are both reachable at the URL the matrix gives, so a
refused or stalled upstream is refused or stalled for both (the
SonarQube variants meet it first; the Imbi variant keeps SonarQube up).
"""

import json
import pathlib
import typing

import starlette.routing

from imbi_plugin_testing.contract import ContractSpec
from imbi_plugin_testing.fakes.imbi_api import ImbiApiFake
from imbi_plugin_testing.fakes.sonarqube import SonarQubeFake
from imbi_plugin_testing.generation import V3
from imbi_plugin_testing.host import Host, HostResponse
from imbi_plugin_testing.profiles import (
    BadInput,
    Profile,
    Run,
    UpstreamCall,
)
from imbi_plugin_testing.standin import Fault, StandIn

KEY = 'aweber:billing-api'
ORG = 'aweber'
PROJECT_ID = 'prj-0001'
ACTION = 'update_project_from_webhook'
#: The rule's handler: imbi-common <= 2.5.0's ``slug:action`` on v1;
#: v3 gateways know only the catalog style, under the v3 slug.
HANDLER = f'sonarqube-sync#{ACTION}' if V3 else f'sonarqube:{ACTION}'
CONFIG: dict[str, typing.Any] = {
    'metrics': {
        'coverage': '/sonarqube_coverage',
        'bugs': '/sonarqube_bugs',
        'new_coverage': '/sonarqube_new_coverage',
        'reliability_rating': '/sonarqube_reliability',
    },
    'quality_gate': '/sonarqube_quality_gate',
    'dashboard_url': '/sonarqube_dashboard',
}
MEASURES = r'^/api/measures/component$'
GATE = r'^/api/qualitygates/project_status$'
PATCH = r'^/organizations/[^/]+/projects/[^/]+$'

#: The Imbi API's answers (FastAPI ``{"detail": ...}``, docs/upstreams/host.md
#: and fakes/imbi_api.py); 500 is Starlette's plain-text default and
#: 429/503 what the proxy in front of it sends.
IMBI_ERRORS: dict[int, Fault] = {
    401: Fault(body={'detail': 'Invalid API key'}),
    403: Fault(body={'detail': 'Permission denied: project:write required'}),
    404: Fault(body={'detail': f'Project {PROJECT_ID!r} not found'}),
    429: Fault(body={'detail': 'Too Many Requests'}),
    500: Fault(body='Internal Server Error'),
    503: Fault(body='Service Unavailable'),
}
#: SonarQube's {"errors": [{"msg": ...}]} (docs/upstreams/sonarqube.md),
#: merged into the matrix faults; the Imbi variant swaps in IMBI_ERRORS.
SONARQUBE_ERRORS: dict[str, Fault] = {
    # SonarQube answers an unknown token with an empty 401.
    '401': Fault(body=b''),
    '403': Fault(body={'errors': [{'msg': 'Insufficient privileges'}]}),
    '404': Fault(
        body={'errors': [{'msg': f"Component key '{KEY}' not found"}]}
    ),
    '429': Fault(body={'errors': [{'msg': 'Too many requests'}]}),
    '500': Fault(
        body={
            'errors': [
                {
                    'msg': 'An error has occurred. Please contact your '
                    'administrator'
                }
            ]
        }
    ),
    '503': Fault(body={'errors': [{'msg': 'SonarQube is under maintenance'}]}),
}
#: The quality gate's 404 (docs/upstreams/sonarqube.md).
GATE_ERRORS: dict[int, Fault] = {
    404: Fault(body={'errors': [{'msg': f"Project '{KEY}' not found"}]}),
}


class SonarQubeAndImbi(StandIn):
    """Both upstreams of the action behind one address and request log."""

    def __init__(self) -> None:
        super().__init__()
        self.sonarqube = SonarQubeFake()
        self.imbi = ImbiApiFake()
        #: Faults injected so far, so a call variant can aim them.
        self.injected: list[Fault] = []
        #: Where the stand-in is served.
        self.url: str | None = None
        self.api_token = self.sonarqube.issue_token('imbi')
        self.imbi_api_key = self.imbi.issue_api_key()

    def routes(self) -> list[starlette.routing.BaseRoute]:
        return [*self.sonarqube.routes(), *self.imbi.routes()]

    def inject(
        self, fault: Fault | None = None, **fields: typing.Any
    ) -> Fault:
        made = super().inject(fault, **fields)
        self.injected.append(made)
        return made

    def aim(self, path: str, bodies: dict[int, Fault]) -> None:
        """Limit the injected faults to ``path``, answering ``bodies``."""
        for fault in self.injected:
            fault.path = path
            shaped = bodies.get(fault.status or 0)
            # Matrix faults come with no body or SonarQube's own; a fault
            # with any other body (another service's answer) keeps it.
            generic = not fault.body or any(
                fault.body == known.body for known in SONARQUBE_ERRORS.values()
            )
            if shaped is not None and generic:
                fault.body = shaped.body
                fault.headers = {**fault.headers, **shaped.headers}

    def bind(self, url: str) -> None:
        self.url = url


class SonarQubeHost(Host):
    """A Host that knows the stand-in it was configured against."""

    def __init__(self, fake: SonarQubeAndImbi, **kwargs: typing.Any) -> None:
        from imbi_plugin_testing.generation import plugin_under_test

        SonarQubePlugin = plugin_under_test('imbi_plugin_sonarqube_sync')

        super().__init__(SonarQubePlugin, **kwargs)
        self.fake = fake


def _fake() -> StandIn:
    fake = SonarQubeAndImbi()
    fake.sonarqube.add_project(KEY, 'Billing API')
    fake.sonarqube.set_measures(
        KEY,
        coverage='87.4',
        bugs='3',
        reliability_rating='1.0',
        gate='OK',
        period={'new_coverage': '91.0'},
    )
    fake.imbi.add_project(ORG, PROJECT_ID, name='Billing API')
    return fake


def _host(fake: StandIn, url: str, budget: int) -> Host:
    if not isinstance(fake, SonarQubeAndImbi):
        raise TypeError(f'expected the profile stand-in, got {fake!r}')
    return SonarQubeHost(
        fake,
        plugin_options={
            'sonarqube_url': url,
            'imbi_url': url,
            'timeout_seconds': budget,
        },
        credentials={
            'api_token': fake.api_token,
            'imbi_api_key': fake.imbi_api_key,
        },
        project={'org_slug': ORG, 'project_id': PROJECT_ID},
    )


def _stand_in(host: Host) -> SonarQubeAndImbi:
    if not isinstance(host, SonarQubeHost):
        raise TypeError(f'expected the profile host, got {host!r}')
    return host.fake


async def _deliver(
    host: Host,
    config: str | dict[str, typing.Any] = CONFIG,
    *,
    handler: str = HANDLER,
    key: str = KEY,
) -> HostResponse:
    """One main-branch analysis delivery, as imbi-common <= 2.5.0 runs it."""
    payload = _stand_in(host).sonarqube.webhook_payload(KEY)
    return await host.dispatch(
        handler,
        external_identifier=key,
        action_config=config,
        payload=payload,
    )


def _aimed(path: str, bodies: dict[int, Fault]) -> Run:
    async def run(host: Host) -> HostResponse:
        _stand_in(host).aim(path, bodies)
        return await _deliver(host)

    return run


async def _imbi_patch(host: Host) -> HostResponse:
    fake = _stand_in(host)
    # SonarQube stays up (its own address) whatever the Imbi fault is;
    # for ``refused`` only imbi_url points at the closed port.
    host.plugin_options['sonarqube_url'] = fake.url
    fake.aim(PATCH, IMBI_ERRORS)
    return await _deliver(host)


def _with(**options: typing.Any) -> Run:
    async def run(host: Host) -> HostResponse:
        host.project_options.update(options)
        return await _deliver(host)

    return run


def _config(config: str | dict[str, typing.Any]) -> Run:
    return lambda host: _deliver(host, config)


def _metrics(**pointers: typing.Any) -> dict[str, typing.Any]:
    return {'metrics': {'coverage': '/sonarqube_coverage', **pointers}}


async def _no_imbi_url(host: Host) -> HostResponse:
    host.plugin_options.pop('imbi_url')
    return await _deliver(host)


def _contract() -> ContractSpec:
    from imbi_plugin_testing.generation import plugin_under_test

    SonarQubePlugin = plugin_under_test('imbi_plugin_sonarqube_sync')

    async def call(
        plugin: typing.Any,
        ctx: typing.Any,
        creds: dict[str, str],
    ) -> None:
        if not V3:
            await plugin.run_action(
                ctx, creds, KEY, ACTION, json.dumps(CONFIG), None
            )
            return
        # v3 has no run_action: the catalog's callable, as the gateway
        # calls it (the body inside event=).
        (descriptor,) = [d for d in plugin.actions() if d.name == ACTION]
        await descriptor.callable(
            ctx=ctx,
            credentials=creds,
            external_identifier=KEY,
            action_config=descriptor.config_model.model_validate(CONFIG),
            event={'payload': None},
        )

    return ContractSpec(
        plugin=SonarQubePlugin,
        readme=pathlib.Path('packages/sonarqube-sync/README.md'),
        credentials={
            'api_token': 'squ_contract0000000000000000000000000000',
            'imbi_api_key': 'ik_contract_secret000000000000',
        },
        options=lambda url: {'sonarqube_url': url, 'imbi_url': url},
        call=call,
        context_kind='webhook',
    )


def _calls() -> list[UpstreamCall]:
    return [
        # README (Errors): a SonarQube 404 for the component or branch is
        # a ValueError naming the key (the gateway resolved a key that
        # SonarQube does not know: configuration, not an outage).
        UpstreamCall(
            'update_project/measures',
            _aimed(MEASURES, {}),
            {'404': 'ValueError'},
        ),
        UpstreamCall(
            'update_project/quality_gate',
            _aimed(GATE, GATE_ERRORS),
            {'404': 'ValueError'},
        ),
        UpstreamCall(
            'update_project/imbi_patch',
            _imbi_patch,
            {
                # README (Errors): an Imbi 404 is a ValueError naming the
                # project and imbi_url.
                '404': 'ValueError',
                # Imbi answers a PATCH with the patched project, which the
                # plugin has no use for: its 2xx status says the write
                # happened, whatever the body (and ``add`` operations
                # make a re-run safe anyway).
                'malformed': 'ok',
            },
        ),
    ]


def _bad_inputs() -> list[BadInput]:
    # v3: imbi-gateway validates action_config with the action's
    # config_model before it calls the plugin (a 422, pydantic's
    # ValidationError); v1's run_action gets the raw JSON and refuses it
    # itself (ValueError). Either way nothing reaches an upstream.
    config_error = 'ValidationError' if V3 else 'ValueError'
    bad = 'Invalid JSON' if V3 else 'invalid action_config'
    empty = 'Invalid JSON' if V3 else 'action_config is empty'
    return [
        BadInput(
            'action_config that is not JSON',
            _config('{"metrics": {"coverage": "/sonarqube_coverage"'),
            config_error,
            bad,
        ),
        BadInput(
            'action_config with an unknown key',
            _config({**CONFIG, 'webhook_url': 'https://elsewhere.test/'}),
            config_error,
            'webhook_url',
        ),
        BadInput(
            'action_config with empty metrics',
            _config({'metrics': {}}),
            config_error,
            'metrics',
        ),
        BadInput(
            'action_config that is empty',
            _config(''),
            config_error,
            empty,
        ),
        BadInput(
            'pointer without a leading slash',
            _config(_metrics(bugs='sonarqube_bugs')),
            config_error,
            'not a JSON pointer',
        ),
        BadInput(
            'pointer with a stray ~ escape',
            _config(_metrics(bugs='/sonarqube~2bugs')),
            config_error,
            'not a JSON pointer',
        ),
        BadInput(
            'pointer into an array',
            _config(_metrics(bugs='/tags/-')),
            config_error,
            'points into an array',
        ),
        BadInput(
            'pointer to the whole project',
            _config({**_metrics(), 'quality_gate': ''}),
            config_error,
            'whole project',
        ),
        BadInput(
            'one pointer for two values',
            _config(_metrics(bugs='/sonarqube_coverage')),
            config_error,
            'repeated',
        ),
        BadInput(
            'metric key that smuggles a second metric (comma)',
            _config(_metrics(**{'bugs,ncloc': '/sonarqube_bugs'})),
            config_error,
            'not a SonarQube metric key',
        ),
        BadInput(
            'metric key with quotes, braces, backticks and a newline',
            _config(_metrics(**{'b"u{g}`s\n': '/sonarqube_bugs'})),
            config_error,
            'not a SonarQube metric key',
        ),
        BadInput(
            'branch list with an empty name',
            _config({**_metrics(), 'branches': ['main', ' ']}),
            config_error,
            'branch names',
        ),
        # v3 gateways look actions up in the catalog and skip an
        # unknown one themselves: the plugin is never called.
        *(
            []
            if V3
            else [
                BadInput(
                    'unknown action',
                    lambda host: _deliver(
                        host, handler='sonarqube:delete_project'
                    ),
                    'ValueError',
                    'delete_project',
                )
            ]
        ),
        BadInput(
            'no imbi_url option or credential',
            _no_imbi_url,
            'ValueError',
            'imbi_url',
        ),
        BadInput(
            'sonarqube_auth not one of its choices',
            _with(sonarqube_auth='token'),
            'ValueError',
            'sonarqube_auth',
        ),
        BadInput(
            'non-numeric timeout_seconds',
            _with(timeout_seconds='ten'),
            'ValueError',
            'timeout_seconds',
        ),
        BadInput(
            'timeout_seconds out of range',
            _with(timeout_seconds=0),
            'ValueError',
            '1..300',
        ),
        BadInput(
            'sonarqube_url without a scheme',
            _with(sonarqube_url='sonarqube.example.com'),
            'ValueError',
            'sonarqube_url',
        ),
        BadInput(
            'imbi_url with a user part',
            _with(imbi_url='https://admin:hunter2@imbi.example.com'),
            'ValueError',
            'credentials do not belong in the URL',
        ),
        BadInput(
            'empty external identifier',
            lambda host: _deliver(host, key=' '),
            'ValueError',
            'external_identifier',
        ),
        BadInput(
            'external identifier with ../, quotes and a newline',
            lambda host: _deliver(host, key="../admin'\n`{x}`"),
            'ValueError',
            'not a SonarQube project key',
        ),
    ]


def profile() -> Profile:
    return Profile(
        slug='sonarqube-sync' if V3 else 'sonarqube',
        folder='sonarqube-sync',
        make_fake=_fake,
        make_host=_host,
        calls=_calls(),
        bad_inputs=_bad_inputs(),
        contract=_contract,
        error_bodies=SONARQUBE_ERRORS,
    )
