"""The contract suite, the host's multi-environment fan-out, the demo."""

import pathlib
import typing

import pytest
from imbi_plugin_cloudwatch._host import LogQuery, PluginContext
from imbi_plugin_testing import (
    ContractSpec,
    Host,
    SecretScan,
    check_plugin_contract_async,
)
from imbi_plugin_testing.generation import V3, plugin_under_test
from imbi_plugin_testing.scenarios import Steps, scenario_for

Env = typing.Any
README = pathlib.Path(__file__).parent.parent / 'README.md'
TEMPLATE = '/${org_slug}/${environment}/${project_slug}'


async def _search(
    instance: typing.Any, ctx: PluginContext, credentials: dict[str, str]
) -> typing.Any:
    return await instance.search(ctx, credentials, Host.log_query())


KEY_ID = 'AKIACONTRACTSUITE001'
SECRET = 'contract-suite-secret'
#: What a v3 Integration states besides its keys (required there, but an
#: Integration saved before that has none: the keys decide then).
MODE: dict[str, str] = {'auth_mode': 'keys'} if V3 else {}


async def test_contract(secret_scan: SecretScan) -> None:
    secret_scan.add(KEY_ID, SECRET, 'contract-suite-token')
    await check_plugin_contract_async(
        ContractSpec(
            plugin=plugin_under_test('imbi_plugin_cloudwatch'),
            readme=README,
            credentials={
                'access_key_id': KEY_ID,
                'secret_access_key': SECRET,
                **MODE,
            },
            options=lambda url: {'region': 'us-east-1', 'endpoint_url': url},
            call=_search,
            context_kind='logs',
            missing_credentials=[
                {},
                {'access_key_id': KEY_ID},
                {'secret_access_key': SECRET},
                {'session_token': 'contract-suite-token'},
                {'access_key_id': '', 'secret_access_key': ''},
                *([MODE] if V3 else []),
            ],
            inferred_credentials=('auth_mode',),
        )
    )


async def test_histogram_and_schema_contract(
    secret_scan: SecretScan,
) -> None:
    """The budget holds for every method, not only search."""
    secret_scan.add(KEY_ID, SECRET)

    async def histogram(
        instance: typing.Any,
        ctx: PluginContext,
        credentials: dict[str, str],
    ) -> typing.Any:
        return await instance.histogram(ctx, credentials, Host.log_query())

    async def schema(
        instance: typing.Any,
        ctx: PluginContext,
        credentials: dict[str, str],
    ) -> typing.Any:
        return await instance.schema(ctx, credentials)

    for call in (histogram, schema):
        await check_plugin_contract_async(
            ContractSpec(
                plugin=plugin_under_test('imbi_plugin_cloudwatch'),
                readme=README,
                credentials={
                    'access_key_id': KEY_ID,
                    'secret_access_key': SECRET,
                    **MODE,
                },
                options=lambda url: {
                    'region': 'us-east-1',
                    'endpoint_url': url,
                },
                call=call,
                context_kind='logs',
                inferred_credentials=('auth_mode',),
            )
        )


def _two_environments(cw: Env) -> Host:
    for environment, count in (('production', 3), ('staging', 2)):
        group = f'/aweber/{environment}/billing-api'
        cw.fake.add_group(group)
        for index in range(count):
            cw.fake.put(
                group,
                'web-1',
                cw.at(100 + 10 * index + (environment == 'staging')),
                f'ERROR {environment} {index}',
            )
    host: Host = cw.host(log_group_template=TEMPLATE)
    return host


async def test_search_over_two_environments(cw: Env) -> None:
    host = _two_environments(cw)
    query: LogQuery = cw.query(filters=['message:contains:ERROR'])
    response = await host.search(query, environments=['production', 'staging'])
    assert response.status == 200
    entries = response.body['entries']
    assert len(entries) == 5
    assert {e['raw']['environment'] for e in entries} == {
        'production',
        'staging',
    }
    assert response.body['next_cursor'] is None
    insights = await host.search(
        cw.query(levels=['error']), environments=['production', 'staging']
    )
    assert len(insights.body['entries']) == 5


async def test_histograms_sum_across_environments(cw: Env) -> None:
    host = _two_environments(cw)
    response = await host.histogram(
        cw.query(), environments=['production', 'staging'], bucket_count=30
    )
    assert response.status == 200
    assert sum(b.count for b in response.result) == 5
    assert len(response.result) <= 31
    assert sum(b.levels.get('error', 0) for b in response.result) == 5


async def test_a_failing_environment_is_a_warning(cw: Env) -> None:
    host = _two_environments(cw)
    response = await host.search(
        cw.query(filters=['message:contains:ERROR']),
        environments=['production', 'qa'],
    )
    assert response.status == 200
    assert len(response.body['entries']) == 3
    (warning,) = response.body['warnings']
    assert warning.startswith("Search for environment 'qa' failed: ")
    assert "'/aweber/qa/billing-api' does not exist" in warning


@pytest.mark.filter_log_events
async def test_demo_scenario() -> None:
    module = scenario_for('cloudwatch')
    assert module is not None
    steps = Steps('cloudwatch')
    await module.run(steps)
    assert steps.results
    assert all(result.ok for result in steps.results), steps.results


async def test_no_environment_with_an_environment_log_group(cw: Env) -> None:
    """The host passes ctx.environment None when the request names no
    environment: a log group named after it cannot be chosen, and no AWS
    call is made to find that out."""
    host = cw.host(log_group_template=TEMPLATE)
    for response in (
        await host.search(cw.query()),
        await host.histogram(cw.query()),
        await host.schema(),
    ):
        assert response.status == 500
        assert isinstance(response.error, ValueError)
        assert 'choose an environment' in str(response.error)
    assert cw.fake.requests == []


async def test_no_environment_drops_an_environment_stream_prefix(
    cw: Env,
) -> None:
    cw.fake.put(cw.group, 'production-web', cw.at(3), 'from production')
    cw.fake.put(cw.group, 'staging-web', cw.at(2), 'from staging')
    host = cw.host(
        log_stream_prefix_template='${environment}-', query_mode='insights'
    )
    response = await host.search(cw.query())
    assert response.status == 200, response.body
    assert [e['message'] for e in response.body['entries']] == [
        'from staging',
        'from production',
    ]
