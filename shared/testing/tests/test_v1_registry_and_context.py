"""installed() drives the real registry; contexts look like the host's."""

import importlib.metadata
import typing

import tiny
from imbi_common.plugins import get_plugin, list_plugins, load_plugins
from imbi_plugin_testing import (
    StallServer,
    credentials,
    installed,
    make_context,
)
from imbi_plugin_testing.registry import entry_points_listing


def test_installed_loads_through_the_real_registry() -> None:
    with installed(
        tiny.TinyConfig, tiny.TinyLogs, distribution='imbi-plugin-tiny'
    ) as result:
        assert result.loaded == ['tiny-config', 'tiny-logs']
        assert result.errors == {}
        entry = get_plugin('tiny-config')
        assert entry.handler_cls is tiny.TinyConfig
        assert entry.package_name == 'imbi-plugin-tiny'
    assert list_plugins() == []


def test_installed_reports_registry_errors() -> None:
    class NotAPlugin:
        pass

    class WrongType(tiny.TinyConfig):
        manifest = tiny.TinyConfig.manifest.model_copy(
            update={'slug': 'wrong', 'plugin_type': 'logs'}
        )

    class Future(tiny.TinyLogs):
        manifest = tiny.TinyLogs.manifest.model_copy(
            update={'slug': 'future', 'api_version': 2}
        )

    with installed(NotAPlugin, WrongType, Future) as result:
        assert set(result.errors) == {'notaplugin', 'wrong'}
        assert result.skipped == ['future']


def test_entry_points_listing_leaves_other_groups_alone() -> None:
    with entry_points_listing(tiny.TinyConfig) as eps:
        assert list(importlib.metadata.entry_points(group='imbi.plugins')) == (
            eps
        )
        scripts = importlib.metadata.entry_points(group='console_scripts')
        assert any(ep.name == 'imbi-plugins' for ep in scripts)
        assert load_plugins().loaded == ['tiny-config']
    with entry_points_listing():
        load_plugins()


def test_contexts_per_kind() -> None:
    config = make_context('configuration', options={'url': 'u'})
    assert config.environment == 'production'
    assert config.assignment_options == {'url': 'u'}
    identity = make_context('identity')
    assert (identity.project_id, identity.actor_user_id) == ('', 'usr-0001')
    deployment = make_context(
        'deployment', project_links={'github-repository': 'x'}
    )
    assert deployment.project_links == {'github-repository': 'x'}
    assert deployment.project_type_slugs == ['apis']
    lifecycle = make_context('lifecycle', not_a_field_here=1)
    assert lifecycle.environment is None
    assert credentials(token=123) == {'token': '123'}  # type: ignore[arg-type]


def test_installed_plugins_fixture(
    installed_plugins: typing.Callable[..., typing.Any],
) -> None:
    result = installed_plugins(tiny.TinyConfig)
    assert result.loaded == ['tiny-config']
    assert get_plugin('tiny-config').handler_cls is tiny.TinyConfig


def test_stall_server_fixture(stall_server: StallServer) -> None:
    assert stall_server.url.startswith('http://127.0.0.1:')
    assert stall_server.connections == 0
