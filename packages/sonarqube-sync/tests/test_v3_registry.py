"""v3 hosts (imbi-common 2.12+): the real registry loads ``PLUGIN`` and
the action runs as imbi-gateway 2.13+ calls it.

Collected only where a v3 imbi-common is installed.
"""

import importlib
import importlib.util
import json
import subprocess
import sys
import time
import types
import typing

import pytest
import respx
from imbi_plugin_sonarqube_sync import _host, spec
from imbi_plugin_sonarqube_sync.config import UpdateProjectConfig
from imbi_plugin_sonarqube_sync.handler import SonarQubeHandler

MODULE = 'imbi_plugin_sonarqube_sync'
SONAR = 'https://sonar.example.com'
IMBI = 'https://imbi.example.com/api'
KEY = 'aweber:billing-api'
CREDS = {
    'api_token': 'squ_' + 'v' * 40,
    'imbi_api_key': 'ik_v3_' + 's' * 24,
}
CONFIG = json.dumps(
    {
        'metrics': {'coverage': '/sonarqube_coverage', 'bugs': '/b'},
        'quality_gate': '/gate',
    }
)
MEASURES = {
    'component': {
        'key': KEY,
        'measures': [
            {'metric': 'coverage', 'value': '87.4'},
            {'metric': 'bugs', 'value': '3'},
        ],
    },
    'metrics': [
        {'key': 'coverage', 'type': 'PERCENT'},
        {'key': 'bugs', 'type': 'INT'},
    ],
}


def _api() -> types.ModuleType:
    return _host.api()


def _registry() -> types.ModuleType:
    return importlib.import_module(f'{_api().__name__}.registry')


@pytest.fixture
def entry(monkeypatch: pytest.MonkeyPatch) -> typing.Any:
    monkeypatch.setenv('IMBI_PLUGINS', f'{MODULE}:PLUGIN')
    result = _registry().load_plugins()
    assert MODULE not in result.errors, result.errors
    assert f'{MODULE}:PLUGIN' not in result.errors, result.errors
    assert spec.SLUG_V3 in result.loaded
    return _registry().get_plugin(spec.SLUG_V3)


def _gateway_context(**options: typing.Any) -> typing.Any:
    """The context imbi-gateway 2.41 builds: the Integration's options,
    the capability's (none here), and no ``assignment_options``."""
    return _api().PluginContext(
        project_id='prj-0001',
        project_slug='billing-api',
        org_slug='aweber',
        integration_slug='sonarqube-sync',
        integration_options={
            'sonarqube_url': SONAR,
            'imbi_url': IMBI,
            **options,
        },
        capability_options={},
    )


async def _dispatch(entry: typing.Any, ctx: typing.Any) -> None:
    """What imbi-gateway 2.41 does with rule ``sonarqube-sync#<action>``."""
    handler = _registry().get_capability(spec.SLUG_V3, 'webhook-actions')
    (descriptor,) = [d for d in handler.actions() if d.name == spec.ACTION]
    config = descriptor.config_model.model_validate_json(CONFIG)
    await descriptor.callable(
        ctx=ctx,
        credentials=CREDS,
        external_identifier=KEY,
        action_config=config,
        event={
            'type': 'sonarqube',
            'payload': {
                'taskId': 'AX1',
                'status': 'SUCCESS',
                'project': {'key': KEY},
            },
            'metadata': {'headers': {}},
            'signature_verified': True,
        },
    )


def test_generation_and_import_path() -> None:
    assert _host.generation() == 3
    if importlib.util.find_spec('imbi_common') is not None:
        assert _api().__name__ == 'imbi_common.plugins'
    else:
        assert _api().__name__ == 'imbi.common.plugins'


def test_module_scan_finds_it() -> None:
    result = _registry().load_plugins()
    assert MODULE not in result.errors, result.errors
    assert spec.SLUG_V3 in result.loaded


def test_manifest(entry: typing.Any) -> None:
    manifest = entry.manifest
    assert entry.plugin_cls is importlib.import_module(MODULE).PLUGIN
    assert manifest.slug == 'sonarqube-sync'
    assert manifest.api_version == 2
    assert {o.name: o.default for o in manifest.options} == {
        'imbi_url': None,
        'sonarqube_url': None,
        'sonarqube_auth': 'bearer',
        'timeout_seconds': 8,
        'allow_plain_http': False,
    }
    fields = {c.name: c for c in manifest.credentials}
    assert {n: f.required for n, f in fields.items()} == {
        'api_token': True,
        'imbi_api_key': True,
        'imbi_url': False,
    }
    if 'secret' in type(fields['imbi_url']).model_fields:
        assert fields['imbi_url'].secret is False
        assert fields['api_token'].secret is True
        assert fields['imbi_api_key'].secret is True


def test_webhook_actions_capability(entry: typing.Any) -> None:
    api = _api()
    (capability,) = entry.manifest.capabilities
    assert capability.kind == 'webhook-actions'
    assert capability.options == []
    assert capability.hints == {}
    handler = capability.handler
    assert issubclass(handler, api.WebhookActionsCapability)
    assert issubclass(handler, SonarQubeHandler)
    # run_action is the v1 (2.3.0-2.5.0) entry: no v3 host calls it.
    assert not hasattr(handler, 'run_action')
    (descriptor,) = handler.actions()
    assert isinstance(descriptor, api.ActionDescriptor)
    assert descriptor.name == spec.ACTION
    actions = importlib.import_module(f'{MODULE}.actions')
    assert descriptor.callable is actions.update_project_from_webhook
    assert descriptor.config_model is UpdateProjectConfig
    assert handler.actions() is not handler.actions()


@respx.mock(assert_all_called=True)
async def test_gateway_dispatch_with_event(
    respx_mock: respx.MockRouter, entry: typing.Any
) -> None:
    respx_mock.get(f'{SONAR}/api/measures/component').respond(
        200, json=MEASURES
    )
    respx_mock.get(f'{SONAR}/api/qualitygates/project_status').respond(
        200, json={'projectStatus': {'status': 'OK'}}
    )
    patch = respx_mock.patch(
        f'{IMBI}/organizations/aweber/projects/prj-0001'
    ).respond(200, json={})
    ctx = _gateway_context()
    await _dispatch(entry, ctx)
    body = json.loads(patch.calls.last.request.content)
    assert {op['path']: op['value'] for op in body} == {
        '/sonarqube_coverage': 87.4,
        '/b': 3,
        '/gate': 'OK',
    }
    request = patch.calls.last.request
    assert request.headers['authorization'] == (
        f'Bearer {CREDS["imbi_api_key"]}'
    )
    assert ctx.assignment_options == {}


@respx.mock(assert_all_called=False)
async def test_no_sonarqube_url_names_the_option(
    respx_mock: respx.MockRouter, entry: typing.Any
) -> None:
    ctx = _gateway_context(sonarqube_url='')
    with pytest.raises(ValueError, match='sonarqube_url'):
        await _dispatch(entry, ctx)
    assert not respx_mock.calls


async def test_missing_credentials_raise_the_hosts_class(
    entry: typing.Any,
) -> None:
    actions = importlib.import_module(f'{MODULE}.actions')
    with pytest.raises(_api().PluginCredentialsMissing):
        await actions.update_project_from_webhook(
            ctx=_gateway_context(),
            credentials={},
            external_identifier=KEY,
            action_config=UpdateProjectConfig.model_validate_json(CONFIG),
            event={'payload': None},
        )


@pytest.mark.parametrize(
    ('headers', 'wait'), [({'Retry-After': '120'}, 120.0), ({}, 60.0)]
)
@respx.mock(assert_all_called=False)
async def test_a_lasting_429_is_plugin_rate_limited(
    respx_mock: respx.MockRouter,
    entry: typing.Any,
    headers: dict[str, str],
    wait: float,
) -> None:
    respx_mock.get(f'{SONAR}/api/measures/component').respond(
        429, json={'errors': [{'msg': 'Too many requests'}]}, headers=headers
    )
    with pytest.raises(_api().PluginRateLimited) as caught:
        await _dispatch(entry, _gateway_context())
    now = time.time()
    assert now + wait - 10 <= caught.value.retry_at <= now + wait
    assert 'HTTP 429' in str(caught.value)
    assert CREDS['api_token'] not in str(caught.value)


def test_reading_plugin_imports_no_upstream_client() -> None:
    code = (
        'import sys\n'
        f'import {MODULE}\n'
        f'{MODULE}.PLUGIN.manifest.capabilities[0].handler.actions()\n'
        "print([m for m in ('httpx', 'jsonpointer') if m in sys.modules])\n"
    )
    output = subprocess.run(
        [sys.executable, '-c', code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert output.strip() == '[]'
