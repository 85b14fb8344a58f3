"""The harness's contract suite (both generations)."""

import pathlib
import typing

from imbi_plugin_loki._host import PluginContext
from imbi_plugin_testing import (
    ContractSpec,
    check_plugin_contract_async,
)
from imbi_plugin_testing.generation import V3, plugin_under_test

README = pathlib.Path(__file__).parents[1] / 'README.md'
PASSWORD = 'glc_eyJvIjoiMTIzIiwibiI6InN0YWNr-secret'


def _mode(mode: str) -> dict[str, str]:
    """What a v3 Integration states besides its credentials (required
    there, but one saved before that has none: they decide then)."""
    return {'auth_mode': mode} if V3 else {}


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
            credentials={
                'username': '918273',
                'password': PASSWORD,
                **_mode('basic'),
            },
            options=lambda url: {'url': url, 'tenant': 'team-a'},
            call=_search,
            context_kind='logs',
            missing_credentials=[
                {'username': '918273'},
                {'password': PASSWORD},
                {'username': '918273', 'password': ''},
                *([_mode('basic'), _mode('bearer')] if V3 else []),
            ],
            inferred_credentials=('auth_mode',),
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
                credentials={
                    'token': 'contract-token-value',
                    **_mode('bearer'),
                },
                options=lambda url: {'url': url},
                call=call,
                context_kind='logs',
                missing_credentials=[{'password': PASSWORD}],
                inferred_credentials=('auth_mode',),
            )
        )


def _query() -> typing.Any:
    from imbi_plugin_testing import Host

    return Host.log_query()
