"""The fault matrix: 5xx, lost connections, malformed bodies, timeouts,
both GitHub rate limits, and tokens GitHub rejects."""

import time

import pytest
from github_identity_helpers import GitHub
from imbi_plugin_github_identity import _host
from imbi_plugin_github_identity._host import (
    PluginAuthenticationFailed,
    PluginTimeoutError,
    PluginUnavailableError,
)

#: What a rate limit outlasting the budget raises: PluginRateLimited
#: where the host has it (v3), else PluginUnavailableError (v1).
RATE_LIMITED: type[Exception] = (
    _host.optional('PluginRateLimited') or PluginUnavailableError
)


async def test_a_5xx_on_a_read_is_retried(github: GitHub) -> None:
    github.fake.inject(path='/user$', status=502, times=2)
    response = await github.sign_in(github.host())
    assert response.status == 302, response.body
    assert len(github.fake.requests_to('/user$')) == 3


async def test_a_lasting_5xx_is_unavailable(github: GitHub) -> None:
    github.fake.inject(path='/user$', status=503, times=None)
    response = await github.sign_in(github.host())
    assert isinstance(response.error, PluginUnavailableError)
    assert 'HTTP 503' in response.detail
    assert len(github.fake.requests_to('/user$')) == 3


async def test_the_token_endpoint_is_not_retried(github: GitHub) -> None:
    """GitHub may have spent the code before failing."""
    github.fake.inject(path='/login/oauth/access_token', status=500)
    response = await github.sign_in(github.host())
    assert isinstance(response.error, PluginUnavailableError)
    assert len(github.fake.requests_to('/login/oauth/access_token')) == 1


@pytest.mark.parametrize('status', [301, 404])
async def test_a_wrong_github_url(github: GitHub, status: int) -> None:
    github.fake.inject(path='/login/oauth/access_token', status=status)
    response = await github.sign_in(github.host())
    assert isinstance(response.error, PluginUnavailableError)
    assert 'check github_url' in response.detail


async def test_a_dropped_connection_is_retried(github: GitHub) -> None:
    github.fake.inject(path='/user$', drop=True)
    response = await github.sign_in(github.host())
    assert response.status == 302, response.body


async def test_lasting_dropped_connections_are_unavailable(
    github: GitHub,
) -> None:
    github.fake.inject(path='/user$', drop=True, times=None)
    response = await github.sign_in(github.host())
    assert isinstance(response.error, PluginUnavailableError)
    assert 'cannot reach GitHub' in response.detail


async def test_a_dropped_token_exchange_is_unavailable(github: GitHub) -> None:
    github.fake.inject(path='/login/oauth/access_token', drop=True)
    response = await github.sign_in(github.host())
    assert isinstance(response.error, PluginUnavailableError)
    assert len(github.fake.requests_to('/login/oauth/access_token')) == 1


async def test_a_malformed_user_is_unavailable(github: GitHub) -> None:
    github.fake.inject(path='/user$', malformed=True)
    response = await github.sign_in(github.host())
    assert isinstance(response.error, PluginUnavailableError)
    assert 'malformed' in response.detail


async def test_an_unexpected_user_shape_is_unavailable(github: GitHub) -> None:
    github.fake.inject(path='/user$', status=200, body={'login': 'x'})
    response = await github.sign_in(github.host())
    assert isinstance(response.error, PluginUnavailableError)


async def test_an_unexpected_orgs_shape_is_unavailable(github: GitHub) -> None:
    github.fake.inject(path='/user/orgs', status=200, body={'not': 'a list'})
    response = await github.sign_in(github.host(), scopes=['read:org'])
    assert isinstance(response.error, PluginUnavailableError)


async def test_a_rejected_token_is_authentication_failed(
    github: GitHub,
) -> None:
    github.fake.inject(
        path='/user$', status=401, body={'message': 'Bad credentials'}
    )
    response = await github.sign_in(github.host())
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'Bad credentials' in response.detail


async def test_a_slow_github_hits_the_budget(github: GitHub) -> None:
    github.fake.inject(path='/user$', latency=5)
    started = time.monotonic()
    response = await github.sign_in(github.host(timeout_seconds=1))
    assert isinstance(response.error, PluginTimeoutError)
    assert time.monotonic() - started < 2.5


async def test_a_stalled_token_endpoint_hits_the_budget(
    github: GitHub,
) -> None:
    github.fake.inject(path='/login/oauth/access_token', stall=True)
    response = await github.sign_in(github.host(timeout_seconds=1))
    assert isinstance(response.error, PluginTimeoutError)


# -- rate limits -------------------------------------------------------------


async def test_primary_limit_waited_out_within_budget(github: GitHub) -> None:
    host = github.host()
    code, state = await github.authorize(host)
    github.fake.exhaust_rate_limit(reset_in=1)
    response = await host.exchange_code(
        code,
        'https://imbi.example.com/api/me/identities/github/callback',
        state,
    )
    assert response.status == 302, response.body
    assert response.elapsed >= 0.5


@pytest.mark.parametrize('status', [403, 429])
async def test_primary_limit_beyond_budget_is_rate_limited(
    github: GitHub, status: int
) -> None:
    github.fake.primary_status = status
    host = github.host()
    code, state = await github.authorize(host)
    github.fake.exhaust_rate_limit(reset_in=600)
    response = await host.exchange_code(
        code,
        'https://imbi.example.com/api/me/identities/github/callback',
        state,
    )
    assert isinstance(response.error, RATE_LIMITED)
    assert 'primary rate limit' in str(response.error)
    assert 'retry after' in str(response.error)
    assert response.elapsed < 1
    retry_at = getattr(response.error, 'retry_at', None)
    if retry_at is not None:
        # v3: the host's queues back off until the reset GitHub named.
        assert time.time() + 590 <= retry_at <= time.time() + 610


async def test_secondary_limit_honours_retry_after(github: GitHub) -> None:
    github.fake.limit_secondary(times=1, retry_after=1, status=429)
    response = await github.sign_in(github.host())
    assert response.status == 302, response.body
    assert response.elapsed >= 1


async def test_secondary_limit_without_retry_after_is_rate_limited(
    github: GitHub,
) -> None:
    """GitHub then asks for at least a minute: more than the budget."""
    github.fake.limit_secondary(times=1, retry_after=None)
    response = await github.sign_in(github.host())
    assert isinstance(response.error, RATE_LIMITED)
    assert 'secondary rate limit' in str(response.error)
    assert '(60 s)' in str(response.error)


async def test_rate_limits_end_after_two_retries(github: GitHub) -> None:
    github.fake.limit_secondary(times=5, retry_after=0)
    response = await github.sign_in(github.host())
    assert isinstance(response.error, RATE_LIMITED)
    assert len(github.fake.requests_to('/user$')) == 3


async def test_a_bare_429_is_a_secondary_limit(github: GitHub) -> None:
    github.fake.inject(path='/user$', status=429, body={'message': 'Slow'})
    response = await github.sign_in(github.host())
    assert isinstance(response.error, RATE_LIMITED)
    assert 'secondary rate limit' in str(response.error)
