"""v3 hosts only: the real registry, the manifest, the hooks left to the
host, the option layers, App credentials through the host model."""

import json
import subprocess
import sys
import typing

import pytest
from imbi_plugin_archiver import _host, spec
from imbi_plugin_testing import registry
from imbi_plugin_testing.generation import (
    ManifestView,
    handler_under_test,
    plugin_under_test,
)

if typing.TYPE_CHECKING:
    from conftest import GitHubApp, World

MODULE = 'imbi_plugin_archiver'
#: Every hook of LifecycleCapability the archiver leaves to the host.
NOT_OURS = (
    'on_project_created',
    'on_project_updated',
    'on_project_deleted',
    'on_project_relocated',
    'on_project_dependencies_changed',
    'resolve_relocation_target',
)


def test_host_api_resolution() -> None:
    api = _host.api()
    path = api.__name__

    assert _host.generation() == 3
    assert path in _host.PATHS
    # 2.12-2.16 keep the v3 API at imbi_common.plugins, 2.17+ moved it.
    has_old_path = 'imbi_common' in sys.modules
    assert path == (
        'imbi_common.plugins' if has_old_path else 'imbi.common.plugins'
    )
    assert _host.PluginContext is api.PluginContext
    assert _host.LifecycleResult is api.LifecycleResult


def test_real_registry_loads_it_through_imbi_plugins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``IMBI_PLUGINS=imbi_plugin_archiver:PLUGIN`` on the real registry,
    with the module scan finding nothing else."""
    api = _host.api()
    monkeypatch.setenv('IMBI_PLUGINS', f'{MODULE}:PLUGIN')
    try:
        with registry.listing():
            result = api.load_plugins()
        assert result.loaded == ['archiver'], result
        assert result.errors == {}
        entry = api.registry.get_plugin('archiver')
        assert entry.plugin_cls is plugin_under_test(MODULE)
        assert api.registry.get_capability(
            'archiver', 'lifecycle'
        ) is handler_under_test(MODULE)
    finally:
        monkeypatch.delenv('IMBI_PLUGINS')
        with registry.listing():
            api.load_plugins()


def test_module_scan_in_a_fresh_host() -> None:
    """The registry's own scan finds the module, and imports no v1 code."""
    code = (
        'import json, sys\n'
        f'from {_host.api().__name__} import load_plugins, registry\n'
        'result = load_plugins()\n'
        "entry = registry.get_plugin('archiver')\n"
        'print(json.dumps({\n'
        "    'loaded': result.loaded,\n"
        "    'errors': [k for k in result.errors if 'archiver' in k],\n"
        "    'v1': 'imbi_plugin_archiver.plugin' in sys.modules,\n"
        "    'v3': 'imbi_plugin_archiver._v3' in sys.modules,\n"
        "    'package': [entry.package_name, entry.package_version],\n"
        '}))\n'
    )
    output = subprocess.run(
        [sys.executable, '-c', code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout

    found = json.loads(output.strip().splitlines()[-1])
    assert 'archiver' in found['loaded']
    assert found['errors'] == []
    assert (found['v1'], found['v3']) == (False, True)
    # An editable install has no RECORD mapping the module to its
    # distribution (packages_distributions()); a wheel install has.
    assert found['package'][0] in ('imbi-plugin-archiver', MODULE)


def test_manifest() -> None:
    plugin = plugin_under_test(MODULE)
    manifest = plugin.manifest  # type: ignore[attr-defined]
    view = ManifestView(plugin)

    assert (manifest.slug, manifest.name, manifest.api_version) == (
        'archiver',
        'GitHub Repository Archiver',
        2,
    )
    assert manifest.auth_type == 'api_token'
    assert view.kind == 'lifecycle'
    assert view.hint('lifecycle_events') == ['archived', 'unarchived']
    assert {o.name: o.default for o in view.integration_options} == {
        'api_url': 'https://api.github.com',
        'timeout_seconds': 8,
        'allow_plain_http': False,
    }
    assert {o.name: o.default for o in view.capability_options} == {
        'repository': None,
        'archive_owner': None,
    }
    assert [(c.name, c.required) for c in view.credentials] == [
        ('token', False),
        ('app_id', False),
        ('private_key', False),
    ]


def test_credential_fields_where_the_host_has_them() -> None:
    """``secret``/``multiline`` exist from imbi-common 2.12.2; older v3
    releases drop them (pydantic ignores unknown keys)."""
    fields = {
        c.name: c for c in ManifestView(plugin_under_test(MODULE)).credentials
    }
    model = type(fields['token']).model_fields
    if 'secret' in model:
        assert fields['app_id'].secret is False
        assert fields['token'].secret is True
        assert fields['private_key'].secret is True
    if 'multiline' in model:
        assert fields['private_key'].multiline is True
        assert fields['token'].multiline is False


def test_only_archive_and_unarchive_are_overridden() -> None:
    handler = handler_under_test(MODULE)
    base = _host.api().LifecycleCapability

    assert issubclass(handler, base)
    for name in ('on_project_archived', 'on_project_unarchived'):
        assert getattr(handler, name) is not getattr(base, name)
    for name in NOT_OURS:
        if hasattr(base, name):
            assert getattr(handler, name) is getattr(base, name), name


@pytest.mark.parametrize(
    'event',
    ['created', 'updated', 'deleted', 'relocated', 'dependencies_changed'],
)
async def test_other_events_are_skipped_by_the_host(
    world: World, event: str
) -> None:
    result = await world.host().lifecycle(
        typing.cast(typing.Any, event), project_links=world.link()
    )

    assert result.status == 'skipped'
    assert result.message == f'Plugin does not implement on_project_{event}'
    assert world.fake.requests == []


async def test_options_arrive_in_their_layers(world: World) -> None:
    """api_url is an Integration option, repository a per-project one."""
    host = world.host(project_options={'repository': 'acme/billing-api'})
    ctx = host.context('lifecycle', project_links={})

    assert ctx.integration_options == {'api_url': world.url}  # type: ignore[attr-defined]
    assert ctx.capability_options == {  # type: ignore[attr-defined]
        'repository': 'acme/billing-api'
    }
    result = await host.lifecycle('archived', ctx=ctx)

    assert result.status == 'ok', result.message
    assert world.repo.archived


async def test_archive_owner_from_the_project_type(world: World) -> None:
    host = world.host(project_type_options={'archive_owner': 'acme-archive'})

    result = await host.lifecycle('archived', project_links=world.link())

    assert result.status == 'ok', result.message
    assert world.repo.full_name == 'acme-archive/billing-api'


async def test_link_writeback_on_the_context_passed(world: World) -> None:
    from imbi_plugin_testing.fakes.github.repos import move_repository

    move_repository(world.fake, world.repo, name='billing')
    host = world.host()
    ctx = host.context('lifecycle', project_links=world.link())

    result = await host.lifecycle('archived', ctx=ctx)

    assert result.status == 'ok', result.message
    writeback = ctx.link_writeback  # type: ignore[attr-defined]
    assert writeback is not None
    assert isinstance(writeback, _host.api().LinkWriteback)
    assert (writeback.link_key, writeback.new_url) == (
        'github-repository',
        f'{world.url}/acme/billing',
    )


async def test_app_credentials_through_the_host(
    world: World, github_app: GitHubApp
) -> None:
    """imbi-api 2.41 passes a stored App's fields on service paths."""
    result = await world.archive(credentials=github_app.credentials)

    assert result.status == 'ok', result.message
    assert github_app.access_tokens.call_count == 1


async def test_app_not_installed_through_the_host(
    world: World, github_app: GitHubApp
) -> None:
    github_app.installation.respond(404, json={'message': 'Not Found'})
    missing = _host.optional('PluginInstallationMissing')
    expected = (
        'PluginAuthenticationFailed' if missing is None else missing.__name__
    )

    result = await world.archive(credentials=github_app.credentials)

    assert result.status == 'failed'
    assert (result.message or '').startswith(
        f'{expected}: the GitHub App {github_app.app_id} is not installed'
    )


async def test_app_not_installed_names_the_integration(
    world: World, github_app: GitHubApp
) -> None:
    """imbi-api 2.31+ answers 403 app_not_installed with the Integration
    whose credential came up short (what ``?source=`` accepts)."""
    missing = _host.optional('PluginInstallationMissing')
    github_app.installation.respond(404, json={'message': 'Not Found'})
    host = world.host(credentials=github_app.credentials)
    ctx = host.context(
        'lifecycle', project_links=world.link(), integration_slug='gh-app'
    )
    handler = handler_under_test(MODULE)()

    with pytest.raises(missing or _host.PluginAuthenticationFailed) as raised:
        await handler.on_project_archived(ctx, host.credentials)

    world.scan.record_exception(raised.value)
    if missing is not None:
        # 2.12-2.30 have no such class: PluginAuthenticationFailed.
        assert raised.value.integration_slug == 'gh-app'
        assert raised.value.owner_repo == 'acme/billing-api'


def test_spec_feeds_the_manifest() -> None:
    view = ManifestView(plugin_under_test(MODULE))

    assert [o.name for o in view.options] == [
        o['name'] for o in spec.options()
    ]
    assert view.capability is not None
    assert view.capability.label == spec.CAPABILITY_LABEL
