"""The harness's contract suite (both generations)."""

import pathlib
import typing

from imbi_plugin_loki._host import PluginContext
from imbi_plugin_testing import (
    ContractSpec,
    check_plugin_contract_async,
)
from imbi_plugin_testing.generation import plugin_under_test

README = pathlib.Path(__file__).parents[1] / 'README.md'
PASSWORD = 'glc_eyJvIjoiMTIzIiwibiI6InN0YWNr-secret'


async def _search(
    instance: typing.Any, ctx: PluginContext, credentials: dict[str, str]
) -> typing.Any:
    from imbi_plugin_testing import Host

    return await instance.search(ctx, credentials, Host.log_query())


async def test_contract_suite() -> None:
    await check_plugin_contract_async(
        ContractSpec(
            plugin=plugin_under_test('imbi_plugin_loki'),
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
                plugin=plugin_under_test('imbi_plugin_loki'),
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
