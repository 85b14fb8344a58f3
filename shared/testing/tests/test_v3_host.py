"""The host model in v3 (imbi-common 2.12+): imbi-api 2.41's rules."""

import pathlib

import pytest
import respx
import tiny_v3
from imbi_plugin_testing import (
    ContractSpec,
    ContractViolation,
    Host,
    _host,
    check_plugin_contract_async,
    generation,
)
from imbi_plugin_testing.registry import installed


def test_generation_is_three() -> None:
    assert generation.GENERATION == 3
    assert generation.is_v3_plugin(tiny_v3.TinyConfig)
    assert (
        generation.handler_of(tiny_v3.TinyConfig) is tiny_v3.TinyConfigHandler
    )


def test_the_real_registry_loads_v3_plugins() -> None:
    with installed(tiny_v3.TinyConfig, tiny_v3.TinyLifecycle) as result:
        assert not result.errors, result.errors
        assert sorted(result.loaded) == ['tiny-config', 'tiny-lifecycle']


def test_a_v1_style_class_is_a_load_error() -> None:
    class NotAPlugin:
        manifest = None

    with installed(NotAPlugin) as result:
        assert result.errors
        assert not result.loaded


@respx.mock
async def test_options_split_into_integration_and_capability() -> None:
    respx.get('https://tiny.example/keys').respond(json={'keys': ['a']})
    tiny_v3.TinyConfigHandler.seen.clear()
    host = Host(
        tiny_v3.TinyConfig,
        plugin_options={
            'url': 'https://tiny.example',
            'timeout_seconds': 5,
            'folder': 'integration-level',
        },
        project_type_options={'folder': 'type-level'},
        project_options={'folder': 'project-level'},
        credentials={'token': 'tiny-v3-token'},
    )
    response = await host.list_keys()
    assert response.status == 200, response.body
    ctx = tiny_v3.TinyConfigHandler.seen[-1]
    assert ctx.integration_options == {
        'url': 'https://tiny.example',
        'timeout_seconds': 5,
    }
    assert ctx.capability_options == {'folder': 'project-level'}
    # The 2.41 host: assignment_options is the capability options.
    assert ctx.assignment_options == ctx.capability_options


async def test_empty_credential_blob_is_503() -> None:
    host = Host(
        tiny_v3.TinyConfig,
        plugin_options={'url': 'https://tiny.example'},
        credentials={},
    )
    response = await host.list_keys()
    assert response.status == 503
    assert host.calls == []


async def test_installation_missing_is_403() -> None:
    host = Host(
        tiny_v3.TinyConfig,
        plugin_options={'url': 'https://tiny.example'},
        credentials={'token': 'tiny-v3-token'},
    )
    response = await host.get_values()
    if _host.optional('PluginInstallationMissing') is None:
        # Before 2.31 the host has no such class: any error is a 500.
        assert response.status == 500
        return
    assert response.status == 403
    assert response.body['detail']['error'] == 'app_not_installed'


async def test_lifecycle_hooks_left_to_the_base_are_skipped() -> None:
    host = Host(tiny_v3.TinyLifecycle, credentials={'token': 't-1'})
    archived = await host.lifecycle('archived')
    assert archived.status == 'ok'
    unarchived = await host.lifecycle('unarchived')
    assert unarchived.status == 'skipped'
    assert host.calls == ['on_project_archived']


async def test_lifecycle_with_an_empty_blob_fails() -> None:
    host = Host(tiny_v3.TinyLifecycle, credentials={})
    result = await host.lifecycle('archived')
    assert result.status == 'failed'
    assert host.calls == []


class TinyLifecycleWithMode(tiny_v3.TinyLifecycle):
    manifest = tiny_v3.TinyLifecycle.manifest.model_copy(
        update={
            'slug': 'tiny-lifecycle-mode',
            'credentials': [
                tiny_v3.TOKEN,
                _host.api().CredentialField(name='mode', label='Mode'),
            ],
        }
    )


@pytest.mark.parametrize(
    'credentials', [{'token': 't-1'}, {'token': 't-1', 'mode': ''}]
)
async def test_lifecycle_missing_a_required_credential_fails(
    credentials: dict[str, str],
) -> None:
    """imbi-api 2.41's lifecycle dispatch checks the manifest's required
    credentials (its other routes only refuse an empty blob)."""
    host = Host(TinyLifecycleWithMode, credentials=credentials)
    result = await host.lifecycle('archived')
    assert result.status == 'failed'
    assert result.message == (
        "No credentials available for plugin 'tiny-lifecycle-mode': "
        'missing mode.'
    )
    assert host.calls == []


async def test_lifecycle_required_credentials_met_or_an_identity() -> None:
    complete = Host(
        TinyLifecycleWithMode, credentials={'token': 't-1', 'mode': 'm'}
    )
    assert (await complete.lifecycle('archived')).status == 'ok'
    # A bound identity's token is used instead of the blob, unchecked.
    identity = Host(
        TinyLifecycleWithMode, credentials={}, identity_token='user-token'
    )
    assert (await identity.lifecycle('archived')).status == 'ok'


async def test_logs_and_configuration_ignore_required_credentials() -> None:
    """Only an empty blob is refused there: a missing required field
    reaches the plugin, which decides."""
    tiny_v3.TinyConfigHandler.seen.clear()
    host = Host(
        tiny_v3.TinyConfig,
        plugin_options={'url': 'https://tiny.example', 'timeout_seconds': 1},
        credentials={'other': 'x'},
    )
    response = await host.list_keys()
    assert response.status == 503
    assert response.detail == 'token'
    assert len(tiny_v3.TinyConfigHandler.seen) == 1


async def test_webhook_gets_event_and_no_assignment_options() -> None:
    tiny_v3.RECORDED.clear()
    host = Host(
        tiny_v3.TinyWebhook,
        plugin_options={'url': 'https://tiny.example'},
        credentials={'token': 'hook-token-3'},
    )
    response = await host.dispatch(
        'tiny-webhook#record',
        external_identifier='proj-1',
        action_config={'label': 'y'},
        payload={'hello': 'world'},
    )
    assert response.status == 204, response.body
    (call,) = tiny_v3.RECORDED
    assert call['event']['payload'] == {'hello': 'world'}
    assert 'payload' not in call
    assert call['ctx'].assignment_options == {}
    assert call['ctx'].integration_options == {'url': 'https://tiny.example'}
    assert call['action_config'].label == 'y'


async def test_contract_suite_runs_on_v3(tmp_path: pathlib.Path) -> None:
    readme = tmp_path / 'README.md'
    readme.write_text('`url` `timeout_seconds` `token` `folder`')
    spec = ContractSpec(
        plugin=tiny_v3.TinyConfig,
        readme=readme,
        credentials={'token': 'contract-token'},
        options=lambda url: {'url': url},
        call=lambda instance, ctx, creds: instance.list_keys(ctx, creds),
        context_kind='configuration',
    )
    await check_plugin_contract_async(spec)


class TinyConfigWithMode(tiny_v3.TinyConfig):
    """``mode`` is required, but list_keys never reads it: as loki's and
    cloudwatch's auth_mode, inferred when an older Integration has none."""

    manifest = tiny_v3.TinyConfig.manifest.model_copy(
        update={
            'slug': 'tiny-config-mode',
            'credentials': [
                tiny_v3.TOKEN,
                _host.api().CredentialField(name='mode', label='Mode'),
            ],
        }
    )


def _mode_spec(
    tmp_path: pathlib.Path, inferred: tuple[str, ...]
) -> ContractSpec:
    readme = tmp_path / 'README.md'
    readme.write_text('`url` `timeout_seconds` `token` `mode` `folder`')
    return ContractSpec(
        plugin=TinyConfigWithMode,
        readme=readme,
        credentials={'token': 'contract-token', 'mode': 'm'},
        options=lambda url: {'url': url},
        call=lambda instance, ctx, creds: instance.list_keys(ctx, creds),
        context_kind='configuration',
        inferred_credentials=inferred,
    )


async def test_contract_inferred_credentials(tmp_path: pathlib.Path) -> None:
    """An inferred required credential must not be needed: without it
    the call reaches the upstream."""
    await check_plugin_contract_async(_mode_spec(tmp_path, ('mode',)))
    with pytest.raises(ContractViolation) as caught:
        await check_plugin_contract_async(_mode_spec(tmp_path, ()))
    assert "(['token']): expected PluginCredentialsMissing" in str(
        caught.value
    )
    with pytest.raises(ContractViolation) as caught:
        await check_plugin_contract_async(
            _mode_spec(tmp_path, ('mode', 'token'))
        )
    assert (
        "inferred credentials case 0 (['mode']): expected the call to "
        'reach the stalled upstream (PluginTimeoutError), got '
        'PluginCredentialsMissing: token'
    ) in str(caught.value)


async def test_contract_suite_names_v3_breaks(tmp_path: pathlib.Path) -> None:
    readme = tmp_path / 'README.md'
    readme.write_text('`url`')
    spec = ContractSpec(
        plugin=tiny_v3.TinyConfig,
        readme=readme,
        credentials={'token': 'contract-token'},
        options=lambda url: {'url': url},
        call=lambda instance, ctx, creds: instance.list_keys(ctx, creds),
        context_kind='configuration',
    )
    with pytest.raises(ContractViolation) as caught:
        await check_plugin_contract_async(spec)
    assert "'folder' is not documented" in str(caught.value)
