"""Contract suite and the secret rules, on either generation."""

import pathlib
import typing

import pytest
from github_actions_helpers import NAME, OWNER, GitHub, plugin
from imbi_plugin_github_actions._host import PluginContext
from imbi_plugin_testing import (
    ContractSpec,
    SecretScan,
    check_plugin_contract_async,
)

README = pathlib.Path(__file__).parents[1] / 'README.md'
MISSING: list[dict[str, str]] = [
    {},
    {'token': ''},
    {'access_token': '', 'token': '  '},
]


def spec(
    call: typing.Callable[
        [typing.Any, PluginContext, dict[str, str]], typing.Awaitable[object]
    ],
) -> ContractSpec:
    return ContractSpec(
        plugin=plugin(),
        readme=README,
        credentials={'token': 'ghp_contract0000000000000000000000000000'},
        options=lambda url: {
            'api_url': url,
            'repository': f'{OWNER}/{NAME}',
            'workflow': 'deploy.yml',
        },
        call=call,
        context_kind='deployment',
        missing_credentials=MISSING,
    )


@pytest.mark.parametrize(
    'call',
    [
        lambda plugin, ctx, creds: plugin.list_workflows(ctx, creds),
        lambda plugin, ctx, creds: plugin.trigger_deployment(
            ctx, creds, 'main', {}
        ),
        lambda plugin, ctx, creds: plugin.list_commits(ctx, creds, 'main', 5),
    ],
    ids=['list_workflows', 'trigger_deployment', 'list_commits'],
)
async def test_contract(
    call: typing.Callable[..., typing.Awaitable[object]],
    secret_scan: SecretScan,
) -> None:
    secret_scan.add('ghp_contract0000000000000000000000000000')
    await check_plugin_contract_async(spec(call))


async def test_token_stays_in_the_authorization_header(
    github: GitHub,
) -> None:
    host = github.host(workflow='deploy.yml')
    await host.trigger_deployment('main')
    await host.deployment('list_commits', ref='main', limit=3)
    bad = await github.host(token=github.token.value + 'x').deployment(
        'list_workflows'
    )
    assert bad.error is not None
    assert github.token.value not in str(bad.error)
    for request in github.fake.requests:
        assert github.token.value not in request.url_text
        assert github.token.value not in request.body.decode()
    sent = github.fake.requests[0].headers
    assert sent['authorization'] == f'Bearer {github.token.value}'
    assert sent['x-github-api-version'] == '2022-11-28'
    assert sent['accept'] == 'application/vnd.github+json'


async def test_no_state_left_on_instances(github: GitHub) -> None:
    host = github.host()
    await host.deployment('list_refs')
    await host.deployment('list_workflows')
    assert all(not vars(i) for i in host.instances)
