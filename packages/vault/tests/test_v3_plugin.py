"""The v3 plugin as the real v3 registry loads it (v3 hosts only)."""

import collections.abc
import importlib.metadata
import sys
import typing

import pytest
from imbi_plugin_testing import Host
from imbi_plugin_vault import _host, _v3, spec

from .conftest import PLUGIN, Vault

registry: typing.Any = _host.api().registry


@pytest.fixture
def own_registry() -> collections.abc.Iterator[None]:
    """load_plugins() replaces the process-wide registry: put it back."""
    with registry._lock:
        saved = dict(registry._registry)
    yield
    with registry._lock:
        registry._registry.clear()
        registry._registry.update(saved)


def _version() -> tuple[int, ...]:
    text = importlib.metadata.version('imbi-common')
    return tuple(int(part) for part in text.split('.')[:2])


def test_the_api_path_of_this_release() -> None:
    expected = (
        'imbi.common.plugins'
        if _version() >= (2, 17)
        else 'imbi_common.plugins'
    )
    assert _host.api().__name__ == expected
    assert _host.generation() == 3


def test_plugin_is_the_v3_class() -> None:
    import imbi_plugin_vault

    assert imbi_plugin_vault.PLUGIN is _v3.VaultPluginV3
    assert PLUGIN is _v3.VaultPluginV3
    with pytest.raises(AttributeError):
        _ = imbi_plugin_vault.NOT_THERE


@pytest.mark.usefixtures('own_registry')
def test_the_real_registry_loads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Both ways a v3 host finds it: the imbi_plugin_* module scan and an
    # explicit IMBI_PLUGINS entry (the same class, registered once).
    monkeypatch.setenv('IMBI_PLUGINS', 'imbi_plugin_vault:PLUGIN')
    result = registry.load_plugins()
    assert 'vault' in result.loaded
    assert result.loaded.count('vault') == 1
    ours = {
        source: error
        for source, error in result.errors.items()
        if 'vault' in source
    }
    assert ours == {}
    entry = registry.get_plugin('vault')
    assert entry.plugin_cls is _v3.VaultPluginV3
    # packages_distributions() maps a wheel's module to its
    # distribution; an editable install keeps the module's name.
    assert entry.package_name in ('imbi-plugin-vault', 'imbi_plugin_vault')
    handler = registry.get_capability('vault', 'configuration')
    assert handler is _v3.VaultConfiguration
    assert issubclass(handler, _host.api().ConfigurationCapability)


def test_manifest() -> None:
    manifest = _v3.VaultPluginV3.manifest
    assert (manifest.slug, manifest.name, manifest.api_version) == (
        'vault',
        'HashiCorp Vault',
        2,
    )
    assert manifest.auth_type == 'api_token'
    assert [o.name for o in manifest.options] == [
        'url',
        'mount_path',
        'kv_version',
        'namespace',
        'delete_mode',
        'max_concurrency',
        'timeout_seconds',
        'verify_tls',
        'redirect_hosts',
        'allow_plain_http',
    ]
    (capability,) = manifest.capabilities
    assert capability.kind == 'configuration'
    assert capability.hints == {'cacheable': False}
    assert [o.name for o in capability.options] == ['path_template']
    assert capability.handler is _v3.VaultConfiguration
    # CredentialField.secret exists from 2.12.2 (True: masked).
    assert [
        (c.name, c.required, getattr(c, 'secret', True))
        for c in manifest.credentials
    ] == [('token', True, True)]
    assert [(d.name, d.secret) for d in manifest.data_types] == [
        ('string', False),
        ('secret', True),
    ]
    # Both manifests come from spec: the v1 one would list the same.
    names = [o.name for o in manifest.options + capability.options]
    assert names == [o['name'] for o in spec.options()]


def test_describe_prefix_overrides_the_base() -> None:
    base = _host.api().ConfigurationCapability
    if hasattr(base, 'describe_prefix'):  # 2.22+
        assert (
            _v3.VaultConfiguration.describe_prefix is not base.describe_prefix
        )


def test_the_host_gets_its_own_errors() -> None:
    errors = _host.api().errors
    assert _host.PluginCredentialsMissing is errors.PluginCredentialsMissing
    assert _host.PluginRateLimited is errors.PluginRateLimited


def test_v1_code_is_not_imported() -> None:
    assert 'imbi_plugin_vault.plugin' not in sys.modules


async def test_options_split_between_integration_and_capability(
    vault: Vault,
) -> None:
    # The Integration holds the connection, the project its folder: the
    # plugin reads both layers, and a project override of the folder.
    vault.fake.put(vault.mount, 'apps/billing-api/k', {'value': 'v'})
    host = Host(
        PLUGIN,
        plugin_options=vault.options(),
        project_options={'path_template': 'apps/${project_slug}'},
        credentials={'token': vault.token},
    )
    integration, capability = host.option_layers()
    assert set(integration) == {
        'url',
        'mount_path',
        'kv_version',
        'timeout_seconds',
    }
    assert capability == {'path_template': 'apps/${project_slug}'}
    ctx = host.context('configuration')
    assert ctx.assignment_options == capability
    response = await host.get_values(['k'])
    assert response.ok, response.error
    assert [v['value'] for v in response.body] == ['v']


async def test_an_empty_credential_blob_is_503(vault: Vault) -> None:
    host = Host(PLUGIN, plugin_options=vault.options(), credentials={})
    response = await host.list_keys()
    assert response.status == 503
    assert vault.fake.requests == []


@pytest.mark.usefixtures('own_registry')
def test_prefix_as_imbi_api_asks_for_it() -> None:
    # imbi-api 2.41's GET .../configuration/prefix without ?environment:
    # the context its _resolve_and_prepare builds, the handler class the
    # registry resolves, a synchronous call.
    registry.load_plugins()
    handler = registry.get_capability('vault', 'configuration')
    capability_options = {
        'path_template': '${org_slug}/${project_slug}/${environment}'
    }
    ctx = _host.PluginContext(
        project_id='p-billing',
        project_slug='billing-api',
        org_slug='aweber',
        team_slug='payments',
        environment='${environment}',
        project_type_slugs=['api'],
        assignment_options=capability_options,
        integration_options={
            'url': 'https://vault.example.com:8200',
            'mount_path': 'teams/kv',
            'namespace': 'eng',
        },
        capability_options=capability_options,
    )
    assert handler().describe_prefix(ctx) == (
        'eng/teams/kv/aweber/billing-api/${environment}'
    )
