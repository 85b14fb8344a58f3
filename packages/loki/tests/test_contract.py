"""The harness's contract suite, the registry and the manifest."""

import pathlib
import sys
import typing

from imbi_common.plugins import LogsPlugin, PluginContext
from imbi_plugin_loki.plugin import LokiPlugin
from imbi_plugin_testing import (
    ContractSpec,
    check_plugin_contract_async,
    installed,
)

README = pathlib.Path(__file__).parents[1] / 'README.md'
PASSWORD = 'glc_eyJvIjoiMTIzIiwibiI6InN0YWNr-secret'


async def _search(
    instance: LokiPlugin, ctx: PluginContext, credentials: dict[str, str]
) -> typing.Any:
    from imbi_plugin_testing import Host

    return await instance.search(ctx, credentials, Host.log_query())


async def test_contract_suite() -> None:
    await check_plugin_contract_async(
        ContractSpec(
            plugin=LokiPlugin,
            readme=README,
            credentials={'username': '918273', 'password': PASSWORD},
            options=lambda url: {'url': url, 'tenant': 'team-a'},
            call=_search,
            context_kind='logs',
            missing_credentials=[
                {'username': '918273'},
                {'password': PASSWORD},
                {'username': '918273', 'password': ''},
            ],
        )
    )


async def test_histogram_and_schema_respect_the_budget_too() -> None:
    for call in (
        lambda i, c, cr: i.histogram(c, cr, _query()),
        lambda i, c, cr: i.schema(c, cr),
    ):
        await check_plugin_contract_async(
            ContractSpec(
                plugin=LokiPlugin,
                readme=README,
                credentials={'token': 'contract-token-value'},
                options=lambda url: {'url': url},
                call=call,
                context_kind='logs',
                missing_credentials=[{'password': PASSWORD}],
            )
        )


def _query() -> typing.Any:
    from imbi_plugin_testing import Host

    return Host.log_query()


def test_registry_loads_it() -> None:
    with installed(LokiPlugin) as result:
        assert result.loaded == ['loki']
        assert result.errors == {}
        assert result.skipped == []
    manifest = LokiPlugin.manifest
    assert issubclass(LokiPlugin, LogsPlugin)
    assert (manifest.slug, manifest.name, manifest.plugin_type) == (
        'loki',
        'Grafana Loki',
        'logs',
    )
    assert manifest.api_version == 1
    assert manifest.supports_histogram is True
    assert [o.name for o in manifest.options] == [
        'url',
        'tenant',
        'selector_template',
        'line_format',
        'level_field',
        'message_field',
        'pipeline',
        'timeout_seconds',
        'verify_tls',
        'allow_plain_http',
    ]
    assert [o.name for o in manifest.options if o.required] == ['url']
    assert [(c.name, c.required) for c in manifest.credentials] == [
        ('username', False),
        ('password', False),
        ('token', False),
    ]


def test_importing_the_plugin_loads_no_http_client() -> None:
    import subprocess

    code = (
        'import sys, imbi_plugin_loki.plugin; '
        "print(sorted(m for m in ('httpx', 're2') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == '[]'
