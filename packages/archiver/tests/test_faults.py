"""The fault matrix: 5xx, lost connections, bad bodies, rate limits,
latency against the budget."""

import time
import typing

import pytest
from imbi_plugin_archiver import _host
from imbi_plugin_archiver._host import PluginTimeoutError
from imbi_plugin_archiver.client import GitHub
from imbi_plugin_testing.standin import Fault

if typing.TYPE_CHECKING:
    from conftest import World

REPO = '/repos/acme/billing-api$'


@pytest.mark.parametrize('method', ['GET', 'PATCH'])
async def test_one_5xx_is_retried(world: World, method: str) -> None:
    world.fake.inject(Fault(path=REPO, method=method, status=502))

    result = await world.archive()

    assert result.status == 'ok', result.message
    assert len(world.fake.requests_to(REPO, method)) == 2


async def test_lasting_5xx_is_unavailable(world: World) -> None:
    world.fake.inject(
        Fault(path=REPO, status=503, times=None, body='maintenance')
    )

    result = await world.archive()

    assert result.status == 'failed'
    assert result.message == (
        'PluginUnavailableError: GitHub answered 503 Service Unavailable '
        'to GET /repos/acme/billing-api; retry later'
    )
    assert len(world.fake.requests) == 3


async def test_dropped_connection_is_retried(world: World) -> None:
    world.fake.inject(Fault(path=REPO, method='GET', drop=True))

    result = await world.archive()

    assert result.status == 'ok', result.message


async def test_unreachable_github_is_unavailable(world: World) -> None:
    world.fake.inject(Fault(path=REPO, drop=True, times=None))

    result = await world.archive()

    assert result.status == 'failed'
    assert result.message is not None
    assert result.message.startswith(
        f'PluginUnavailableError: GitHub at {world.url} could not be reached ('
    )


async def test_malformed_body_is_unavailable(world: World) -> None:
    world.fake.inject(Fault(path=REPO, malformed=True))

    result = await world.archive()

    assert result.status == 'failed'
    assert 'with a body that is not JSON' in (result.message or '')


@pytest.mark.parametrize(
    'body',
    [
        {'id': 1},
        {
            'id': '1',
            'name': 'x',
            'owner': {'login': 'acme'},
            'html_url': 'u',
            'archived': False,
        },
        ['not', 'an', 'object'],
    ],
)
async def test_unexpected_repository_object_is_unavailable(
    world: World, body: typing.Any
) -> None:
    world.fake.inject(Fault(path=REPO, status=200, body=body))

    result = await world.archive()

    assert result.status == 'failed'
    assert 'unexpected repository object' in (result.message or '')


async def test_primary_rate_limit_is_waited_out(world: World) -> None:
    world.fake.exhaust_rate_limit(reset_in=0.5)

    started = time.monotonic()
    result = await world.archive()

    assert result.status == 'ok', result.message
    assert time.monotonic() - started < 4


async def test_primary_rate_limit_beyond_the_budget(world: World) -> None:
    world.fake.exhaust_rate_limit(reset_in=3600)

    result = await world.archive()

    # PluginRateLimited on v3 hosts, PluginUnavailableError on v1.
    raised = type(_host.rate_limited(0.0, '')).__name__
    assert result.status == 'failed'
    assert result.message is not None
    assert result.message.startswith(
        f'{raised}: GitHub rate limit reached (API rate limit exceeded for '
        'user ID '
    )
    assert 'retry after ' in result.message
    assert len(world.fake.requests) == 1


async def test_rate_limit_carries_when_to_retry(world: World) -> None:
    """v3 hosts' queues back off until ``retry_at`` (epoch seconds)."""
    limited = _host.optional('PluginRateLimited')
    world.fake.exhaust_rate_limit(reset_in=3600)

    with pytest.raises(limited or _host.PluginUnavailableError) as caught:
        await world.call()

    if limited is not None:
        retry_at = caught.value.retry_at
        assert time.time() + 3500 < retry_at < time.time() + 3700


@pytest.mark.parametrize('status', [403, 429])
async def test_secondary_rate_limit_honours_retry_after(
    world: World, status: int
) -> None:
    world.fake.limit_secondary(times=1, retry_after=1, status=status)

    result = await world.archive()

    assert result.status == 'ok', result.message
    assert len(world.fake.requests) == 3


async def test_secondary_rate_limit_without_retry_after(
    world: World,
) -> None:
    world.fake.limit_secondary(times=1, retry_after=None)

    result = await world.archive()

    assert result.status == 'failed'
    assert 'secondary rate limit' in (result.message or '')
    assert len(world.fake.requests) == 1


async def test_bare_429_waits_as_the_header_says(world: World) -> None:
    world.fake.inject(
        Fault(path=REPO, status=429, headers={'retry-after': 'soon'})
    )

    result = await world.archive()

    assert result.status == 'failed'
    assert 'GitHub rate limit reached (Too Many Requests)' in (
        result.message or ''
    )


async def test_primary_limit_with_retry_after(world: World) -> None:
    world.fake.inject(
        Fault(
            path=REPO,
            status=403,
            headers={'x-ratelimit-remaining': '0', 'retry-after': '1'},
            body={'message': 'API rate limit exceeded'},
        )
    )

    result = await world.archive()

    assert result.status == 'ok', result.message


async def test_primary_limit_without_reset_header(world: World) -> None:
    world.fake.inject(
        Fault(
            path=REPO,
            status=403,
            headers={'x-ratelimit-remaining': '0'},
            body={'message': 'API rate limit exceeded'},
        )
    )

    result = await world.archive()

    assert result.status == 'failed'
    assert 'GitHub rate limit reached' in (result.message or '')


async def test_slow_github_ends_within_the_budget(world: World) -> None:
    world.fake.inject(Fault(path=REPO, latency=5))

    started = time.monotonic()
    result = await world.archive(options={'timeout_seconds': 1})

    assert time.monotonic() - started < 1.5
    assert result.status == 'failed'
    assert result.message == (
        'PluginTimeoutError: GitHub did not answer GET '
        '/repos/acme/billing-api in time'
    )


async def test_no_request_once_the_budget_is_spent(world: World) -> None:
    async with GitHub.client(world.token) as http:
        github = GitHub(http, world.url, time.monotonic() + 0.1)

        with pytest.raises(PluginTimeoutError, match='budget ran out'):
            await github.repository('acme', 'billing-api')

    assert world.fake.requests == []


async def test_refusal_without_a_json_body(world: World) -> None:
    world.fake.inject(Fault(path=REPO, method='PATCH', status=403, body='no'))

    result = await world.archive()

    assert result.status == 'failed'
    assert 'GitHub: 403 Forbidden; archiving and unarchiving need admin' in (
        result.message or ''
    )
