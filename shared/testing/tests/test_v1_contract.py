"""The contract suite passes a good plugin and names each broken rule."""

import asyncio
import pathlib
import typing

import httpx
import pytest
import tiny
from imbi_common.plugins import (
    ConfigKey,
    CredentialField,
    DataType,
    LogHistogramBucket,
    PluginContext,
    PluginOption,
)
from imbi_plugin_testing import (
    ContractSpec,
    ContractViolation,
    check_plugin_contract,
    check_plugin_contract_async,
)

README = '`url` `timeout_seconds` `token`'


@pytest.fixture
def readme(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / 'README.md'
    path.write_text(README)
    return path


def spec_for(
    plugin: type, readme: pathlib.Path, **extra: typing.Any
) -> ContractSpec:
    values: dict[str, typing.Any] = {
        'plugin': plugin,
        'readme': readme,
        'credentials': {'token': 'contract-token'},
        'options': lambda url: {'url': url},
        'call': lambda instance, ctx, creds: instance.list_keys(ctx, creds),
        'context_kind': 'configuration',
    }
    values.update(extra)
    return ContractSpec(**values)


async def test_a_good_plugin_passes(readme: pathlib.Path) -> None:
    await check_plugin_contract_async(spec_for(tiny.TinyConfig, readme))


def test_sync_entry_point(readme: pathlib.Path) -> None:
    check_plugin_contract(spec_for(tiny.TinyConfig, readme))


async def _violations(spec: ContractSpec) -> str:
    with pytest.raises(ContractViolation) as caught:
        await check_plugin_contract_async(spec)
    return str(caught.value)


class Undocumented(tiny.TinyConfig):
    manifest = tiny.TinyConfig.manifest.model_copy(
        update={
            'options': [
                *tiny.TinyConfig.manifest.options,
                PluginOption(name='hidden', label='Hidden'),
                PluginOption(name='hidden', label='Hidden'),
            ],
            'data_types': [
                DataType(name='password', label='Password'),
                DataType(name='api_key', label='API key'),
            ],
            'api_version': 2,
        }
    )


async def test_static_rules(readme: pathlib.Path) -> None:
    text = await _violations(spec_for(Undocumented, readme))
    assert "duplicate option names: ['hidden']" in text
    assert "'hidden' is not documented in the README" in text
    assert "data type 'password' looks secret" in text
    assert "data type 'api_key' looks secret" in text
    assert 'api_version is 2, not 1' in text
    assert 'registry did not load it' in text


async def test_missing_readme(tmp_path: pathlib.Path) -> None:
    text = await _violations(spec_for(tiny.TinyConfig, tmp_path / 'nope.md'))
    assert 'README not found' in text


async def test_wrong_base_class(readme: pathlib.Path) -> None:
    class Confused(tiny.TinyConfig):
        manifest = tiny.TinyConfig.manifest.model_copy(
            update={'plugin_type': 'logs'}
        )

    text = await _violations(spec_for(Confused, readme))
    assert 'does not subclass LogsPlugin' in text
    assert 'supports_histogram is False' not in text


async def test_histogram_flag_must_match(readme: pathlib.Path) -> None:
    class Unflagged(tiny.TinyLogs):
        manifest = tiny.TinyLogs.manifest.model_copy(
            update={'supports_histogram': False}
        )

    async def histogram(
        instance: typing.Any, ctx: PluginContext, creds: dict[str, str]
    ) -> list[LogHistogramBucket]:
        return []

    text = await _violations(
        spec_for(Unflagged, readme, call=histogram, context_kind='logs')
    )
    assert 'supports_histogram is False but histogram is overridden' in text


class Sloppy(tiny.TinyConfig):
    """Calls upstream before checking credentials, ignores its budget and
    keeps state on the instance."""

    manifest = tiny.TinyConfig.manifest.model_copy(
        update={
            'slug': 'sloppy',
            'options': [PluginOption(name='url', label='URL')],
            'credentials': [CredentialField(name='token', label='Token')],
        }
    )

    async def list_keys(
        self, ctx: PluginContext, credentials: dict[str, str]
    ) -> list[ConfigKey]:
        self.last_ctx = ctx
        type(self).calls = getattr(type(self), 'calls', 0) + 1  # type: ignore[attr-defined]
        async with httpx.AsyncClient(timeout=2.5) as client:
            await client.get(ctx.assignment_options['url'])
        return []


async def test_dynamic_rules(readme: pathlib.Path) -> None:
    spec = spec_for(
        Sloppy, readme, missing_credentials=[{'token': 'x', 'other': ''}]
    )
    text = await _violations(spec)
    assert 'no timeout_seconds option' in text
    assert 'credentials case 0 ([]): expected PluginCredentialsMissing' in text
    assert "credentials case 1 (['token'])" in text
    assert "credentials case 2 (['other', 'token'])" in text
    assert 'connection(s) made before the credentials were checked' in text
    assert 'left state on the instance' in text
    assert "changed class attributes: ['calls']" in text
    assert (
        'stalled upstream: expected PluginTimeoutError, got ReadTimeout'
        in (text)
    )
    assert 'stalled upstream: took' in text


async def test_budget_is_enforced_even_for_runaway_calls(
    readme: pathlib.Path,
) -> None:
    async def forever(
        instance: typing.Any, ctx: PluginContext, creds: dict[str, str]
    ) -> None:
        if not creds.get('token'):
            from imbi_common.plugins import PluginCredentialsMissing

            raise PluginCredentialsMissing('token')
        await asyncio.sleep(3600)

    spec = spec_for(tiny.TinyConfig, readme, call=forever, budget_seconds=0)
    text = await _violations(spec)
    assert 'expected PluginTimeoutError, got TimeoutError' in text
