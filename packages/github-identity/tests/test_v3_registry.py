"""v3 hosts (imbi-common 2.12+): the real registry loads ``PLUGIN``.

Collected only where a v3 imbi-common is installed. Everything here goes
through the host's own registry and classes, as imbi-api 2.41 does.
"""

import importlib
import importlib.util
import logging
import time
import types
import typing
import urllib.parse

import pytest
import respx
from imbi_plugin_github_identity import _host, spec
from imbi_plugin_github_identity.handler import GitHubIdentityHandler

MODULE = 'imbi_plugin_github_identity'
REDIRECT_URI = 'https://imbi.example.com/api/me/identities/1/callback'
CREDS = {'client_id': 'Ov23liV3', 'client_secret': 's' * 40}


def _api() -> types.ModuleType:
    return _host.api()


def _registry() -> types.ModuleType:
    return importlib.import_module(f'{_api().__name__}.registry')


@pytest.fixture
def entry(monkeypatch: pytest.MonkeyPatch) -> typing.Any:
    """The plugin as the registry holds it after ``load_plugins()``."""
    monkeypatch.setenv('IMBI_PLUGINS', f'{MODULE}:PLUGIN')
    result = _registry().load_plugins()
    assert MODULE not in result.errors, result.errors
    assert f'{MODULE}:PLUGIN' not in result.errors, result.errors
    assert spec.SLUG_V3 in result.loaded
    return _registry().get_plugin(spec.SLUG_V3)


def _context(**fields: typing.Any) -> typing.Any:
    """An identity flow's context as imbi-api 2.41 builds it: no project,
    the Integration's and the capability's options, assignment empty."""
    base = {'project_id': '', 'project_slug': '', 'org_slug': ''}
    return _api().PluginContext(**{**base, **fields})


def test_generation_and_import_path() -> None:
    assert _host.generation() == 3
    api = _api()
    # 2.12-2.16 keep the old path; from 2.17 only imbi.common exists.
    if importlib.util.find_spec('imbi_common') is not None:
        assert api.__name__ == 'imbi_common.plugins'
    else:
        assert api.__name__ == 'imbi.common.plugins'
    assert _host.PluginUnavailableError is api.PluginUnavailableError
    assert _host.rate_limited(1.0, 'x').__class__ is api.PluginRateLimited


def test_module_scan_finds_it() -> None:
    # No IMBI_PLUGINS: the convention scan of imbi_plugin_* modules.
    result = _registry().load_plugins()
    assert MODULE not in result.errors, result.errors
    assert spec.SLUG_V3 in result.loaded


def test_manifest(entry: typing.Any) -> None:
    api = _api()
    manifest = entry.manifest
    assert entry.plugin_cls is importlib.import_module(MODULE).PLUGIN
    assert issubclass(entry.plugin_cls, api.Plugin)
    assert manifest.slug == 'github-identity'
    assert manifest.name == 'GitHub'
    assert manifest.api_version == 2
    assert manifest.auth_type == 'oauth2'
    assert [o.name for o in manifest.options] == [
        'github_url',
        'api_url',
        'allow_plain_http',
        'timeout_seconds',
    ]
    assert {o.name: o.default for o in manifest.options} == {
        'github_url': 'https://github.com',
        'api_url': None,
        'allow_plain_http': False,
        'timeout_seconds': 8,
    }
    assert [c.name for c in manifest.credentials] == [
        'client_id',
        'client_secret',
    ]
    assert all(c.required for c in manifest.credentials)


def test_client_id_is_not_secret(entry: typing.Any) -> None:
    fields = {c.name: c for c in entry.manifest.credentials}
    if 'secret' not in type(fields['client_id']).model_fields:
        # 2.12.0/2.12.1 have no ``secret`` and drop the keyword.
        return
    assert fields['client_id'].secret is False
    assert fields['client_secret'].secret is True


def test_identity_capability(entry: typing.Any) -> None:
    api = _api()
    (capability,) = entry.manifest.capabilities
    assert capability.kind == 'identity'
    assert capability.project_scoped is False
    assert capability.hints == {
        'login_capable': True,
        'default_scopes': ['read:user', 'user:email'],
        'widget_text': spec.WIDGET_TEXT,
    }
    assert [o.name for o in capability.options] == [
        'use_pkce',
        'allow_signup',
        'include_organizations',
    ]
    handler = _registry().get_capability(spec.SLUG_V3, 'identity')
    assert handler is capability.handler
    assert issubclass(handler, api.IdentityCapability)
    assert issubclass(handler, GitHubIdentityHandler)


async def test_options_from_integration_and_capability(
    entry: typing.Any,
) -> None:
    handler = entry.manifest.get_capability('identity').handler
    ctx = _context(
        integration_options={'github_url': 'https://github.example.com'},
        capability_options={'use_pkce': False, 'allow_signup': True},
    )
    request = await handler().authorization_request(ctx, CREDS, REDIRECT_URI)
    assert isinstance(request, _api().AuthorizationRequest)
    parts = urllib.parse.urlsplit(request.authorization_url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert parts.netloc == 'github.example.com'
    assert query['allow_signup'] == 'true'
    assert 'code_challenge' not in query
    assert request.code_verifier is None
    # The host's default scopes come from the hint; without any, ours.
    assert query['scope'] == 'read:user user:email'
    assert ctx.assignment_options == {}


async def test_missing_credentials_raise_the_hosts_class(
    entry: typing.Any,
) -> None:
    handler = entry.manifest.get_capability('identity').handler
    with pytest.raises(_api().PluginCredentialsMissing):
        await handler().exchange_code(_context(), {}, 'code', REDIRECT_URI)


@respx.mock(assert_all_called=False)
async def test_rate_limit_is_plugin_rate_limited(
    respx_mock: respx.MockRouter, entry: typing.Any
) -> None:
    reset = int(time.time()) + 600
    respx_mock.post('https://github.com/login/oauth/access_token').respond(
        200, json={'access_token': 'gho_' + 'a' * 36, 'scope': 'read:user'}
    )
    respx_mock.get('https://api.github.com/user').respond(
        403,
        json={'message': 'API rate limit exceeded'},
        headers={
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': str(reset),
        },
    )
    handler = entry.manifest.get_capability('identity').handler
    with pytest.raises(_api().PluginRateLimited) as caught:
        await handler().exchange_code(
            _context(), CREDS, 'a1b2c3d4', REDIRECT_URI
        )
    assert reset - 5 <= caught.value.retry_at <= reset + 5
    assert 'primary rate limit' in str(caught.value)
    assert 'gho_' not in str(caught.value)


@respx.mock(assert_all_called=False)
async def test_revoke_logs_a_rate_limit(
    respx_mock: respx.MockRouter,
    entry: typing.Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    respx_mock.delete(url__regex=r'/applications/.+/token$').respond(
        429, json={'message': 'You have exceeded a secondary rate limit'}
    )
    handler = entry.manifest.get_capability('identity').handler
    with caplog.at_level(logging.WARNING):
        await handler().revoke(_context(), CREDS, 'gho_' + 'r' * 36)
    assert 'secondary rate limit' in caplog.text
    assert 'gho_' not in caplog.text


def test_httpx_stays_unloaded_until_a_call() -> None:
    import subprocess
    import sys

    code = (
        'import sys\n'
        f'import {MODULE}\n'
        f'assert {MODULE}.PLUGIN.manifest.slug == {spec.SLUG_V3!r}\n'
        "print('httpx' in sys.modules)\n"
    )
    output = subprocess.run(
        [sys.executable, '-c', code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert output.strip() == 'False'
