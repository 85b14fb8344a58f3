"""v3 hosts (imbi-common 2.12+): registry, manifest, hints, options, App."""

import json
import os
import subprocess
import sys
import typing

import pytest
from github_actions_helpers import NAME, OWNER, GitHub, handler, plugin
from imbi_plugin_github_actions import _host, spec
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.github import apps

_LOAD = """
import json, sys
from {api} import registry
result = registry.load_plugins()
entry = registry.get_plugin('github-actions')
manifest = entry.manifest
(capability,) = manifest.capabilities
print(json.dumps({{
    'errors': {{k: str(v) for k, v in dict(result.errors).items()
               if 'github_actions' in k}},
    'class': entry.plugin_cls.__module__ + '.' + entry.plugin_cls.__name__,
    'kind': str(capability.kind),
    'hints': capability.hints,
    'handler': capability.handler.__name__,
    'v1_module': 'imbi_plugin_github_actions.plugin' in sys.modules,
    'first_call_modules': sorted(
        m for m in sys.modules
        if m.startswith('imbi_plugin_github_actions.')
        and m.rsplit('.', 1)[1] in ('client', 'operations', 'app_auth')
    ),
}}))
"""


@pytest.mark.parametrize('how', ['IMBI_PLUGINS', 'module scan'])
def test_the_real_registry_loads_plugin(how: str) -> None:
    env = dict(os.environ)
    env.pop('IMBI_PLUGINS', None)
    if how == 'IMBI_PLUGINS':
        env['IMBI_PLUGINS'] = 'imbi_plugin_github_actions:PLUGIN'
    code = _LOAD.format(api=_host.api().__name__)
    done = subprocess.run(
        [sys.executable, '-c', code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {
        'errors': {},
        'class': 'imbi_plugin_github_actions._v3.GitHubActionsPluginV3',
        'kind': 'deployment',
        'hints': {'supports_deployment_sync': True},
        'handler': 'GitHubActionsCapability',
        'v1_module': False,
        # httpx, the request code and PyJWT wait for the first call.
        'first_call_modules': [],
    }


def test_the_v3_manifest() -> None:
    manifest = plugin().manifest  # type: ignore[attr-defined]
    assert (manifest.slug, manifest.name, manifest.api_version) == (
        'github-actions',
        'GitHub Actions',
        2,
    )
    assert manifest.auth_type == 'api_token'
    assert [o.name for o in manifest.options] == [
        'api_url',
        'timeout_seconds',
        'allow_plain_http',
    ]
    (capability,) = manifest.capabilities
    assert capability.kind == 'deployment'
    assert capability.hints == {'supports_deployment_sync': True}
    assert [o.name for o in capability.options] == [
        'repository',
        'workflow',
        'sha_input',
        'correlation_input',
    ]
    fields = {c.name: c for c in manifest.credentials}
    assert list(fields) == ['token', 'app_id', 'private_key']
    assert not any(c.required for c in fields.values())
    # CredentialField.secret / multiline exist from imbi-common 2.12.2;
    # 2.12.0 and 2.12.1 drop the keywords (pydantic's extra='ignore').
    if hasattr(fields['app_id'], 'secret'):
        assert fields['token'].secret is True
        assert fields['app_id'].secret is False
        assert fields['private_key'].secret is True
        assert fields['private_key'].multiline is True


def test_the_handler_is_the_capability() -> None:
    base = _host.api().DeploymentCapability
    assert issubclass(handler(), base)
    # Every optional method v1 offered is implemented, so the host's
    # resync (supports_deployment_sync) reaches ours, not the base's.
    for method in (
        'get_check_status',
        'create_tag',
        'create_release',
        'list_workflows',
        'list_recent_deployments',
    ):
        assert getattr(handler(), method) is not getattr(base, method)


def test_host_resolves_the_v3_api() -> None:
    assert _host.generation() == 3
    assert _host.api().__name__ in _host.PATHS
    assert _host.PluginContext is _host.api().PluginContext


def test_spec_is_the_one_source() -> None:
    manifest = plugin().manifest  # type: ignore[attr-defined]
    (capability,) = manifest.capabilities
    assert [o.name for o in manifest.options] + [
        o.name for o in capability.options
    ] == [
        o['name'] for o in spec.INTEGRATION_OPTIONS + spec.CAPABILITY_OPTIONS
    ]


async def test_options_come_from_both_layers(github: GitHub) -> None:
    """The Integration's api_url, the project's workflow override."""
    host = github.host(workflow='other.yml')
    host.project_options['workflow'] = 'deploy.yml'
    ctx: typing.Any = host.context('deployment')
    assert ctx.integration_options['api_url'] == github.url
    assert 'api_url' not in ctx.assignment_options
    response = await host.trigger_deployment('main')
    assert response.ok, response.body
    assert any(
        r.path.endswith('/workflows/deploy.yml/dispatches')
        for r in github.fake.requests
    )


async def test_an_app_on_the_service_path(
    github: GitHub, secret_scan: SecretScan
) -> None:
    app = apps.add_app(github.fake)
    secret_scan.add(app.private_key_pem)
    apps.install(github.fake, app, OWNER, [github.repo], {'actions': 'read'})
    host = github.host()
    host.credentials = {
        'app_id': str(app.id),
        'private_key': app.private_key_pem,
    }
    response = await host.deployment('list_workflows')
    assert response.ok, response.body
    for token in apps.state(github.fake).issued:
        secret_scan.add(token.value)


async def test_an_app_not_installed_answers_app_not_installed(
    github: GitHub, secret_scan: SecretScan
) -> None:
    app = apps.add_app(github.fake)
    secret_scan.add(app.private_key_pem)
    host = github.host()
    host.credentials = {
        'app_id': str(app.id),
        'private_key': app.private_key_pem,
    }
    response = await host.deployment('list_workflows')
    if _host.optional('PluginInstallationMissing') is None:
        # imbi-common before 2.31: the host has no such error.
        assert isinstance(response.error, _host.PluginAuthenticationFailed)
        return
    assert response.status == 403
    assert response.body['detail']['error'] == 'app_not_installed'
    assert f'{OWNER}/{NAME}' in response.body['detail']['message']
