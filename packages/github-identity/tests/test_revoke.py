"""revoke: 204 done, 404/422 already invalid, the rest logged."""

import logging
import typing

import httpx
import pytest
from github_identity_helpers import GitHub
from imbi_plugin_github_identity._host import PluginTimeoutError
from imbi_plugin_testing import Fault, Host


async def _token(github: GitHub, ghes: bool = False) -> tuple[Host, str]:
    host = github.host(ghes=ghes)
    response = await github.sign_in(host)
    return host, response.result[1].access_token


@pytest.mark.parametrize('ghes', [False, True])
async def test_revoke_is_idempotent(github: GitHub, ghes: bool) -> None:
    host, token = await _token(github, ghes)
    first = await host.revoke(token)
    assert first.status == 204
    assert github.fake.tokens[token].revoked
    second = await host.revoke(token)
    assert second.status == 204
    calls = github.fake.requests_to('/applications/.*/token$', 'DELETE')
    assert len(calls) == 2
    prefix = '/api/v3' if ghes else ''
    assert calls[0].path == (
        f'{prefix}/applications/{github.oauth_app.client_id}/token'
    )
    assert calls[0].headers['authorization'].startswith('Basic ')
    assert token.encode() in calls[0].body
    async with httpx.AsyncClient() as api:
        user = await api.get(
            f'{github.url}/user', headers={'Authorization': f'Bearer {token}'}
        )
    assert user.status_code == 401


async def test_revoking_kills_the_refresh_token(github: GitHub) -> None:
    host = github.host(github.github_app)
    response = await github.sign_in(host)
    _, creds = response.result
    assert (await host.revoke(creds.access_token)).status == 204
    assert (await host.refresh(creds.refresh_token)).status == 401


async def test_422_is_already_invalid(github: GitHub) -> None:
    host, token = await _token(github)
    github.fake.inject(path='/applications/', status=422)
    response = await host.revoke(token)
    assert response.status == 204


@pytest.mark.parametrize(
    ('fault', 'logged'),
    [
        ({'status': 500, 'times': None}, 'HTTP 500'),
        ({'status': 401, 'body': {'message': 'Bad credentials'}}, 'HTTP 401'),
        ({'drop': True, 'times': None}, 'cannot reach GitHub'),
    ],
)
async def test_other_failures_are_logged_not_raised(
    github: GitHub,
    caplog: pytest.LogCaptureFixture,
    fault: dict[str, typing.Any],
    logged: str,
) -> None:
    host, token = await _token(github)
    github.fake.inject(Fault(path='/applications/', **fault))
    with caplog.at_level(logging.WARNING):
        response = await host.revoke(token)
    assert response.status == 204
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= 30]
    assert any(logged in text for text in warnings), warnings
    assert not any(token in text for text in warnings)
    assert not github.fake.tokens[token].revoked


async def test_revoke_within_the_budget(github: GitHub) -> None:
    host, token = await _token(github)
    github.fake.inject(path='/applications/', stall=True)
    host.plugin_options['timeout_seconds'] = 1
    response = await host.revoke(token)
    assert isinstance(response.error, PluginTimeoutError)


async def test_wrong_client_secret_is_a_warning(
    github: GitHub, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 17 (6): GitHub answers a wrong client secret with 404, the
    # same status as a token it does not know; the token still works.
    host, token = await _token(github)
    host.credentials['client_secret'] = 'not-the-secret'
    with caplog.at_level(logging.DEBUG, 'imbi_plugin_github_identity'):
        response = await host.revoke(token)
    assert response.status == 204
    assert not github.fake.tokens[token].revoked
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= 30]
    assert any('client_id or client_secret' in w for w in warnings), warnings
    assert not any(
        token in r.getMessage() or 'not-the-secret' in r.getMessage()
        for r in caplog.records
    )


async def test_404_for_a_token_that_no_longer_works_is_quiet(
    github: GitHub, caplog: pytest.LogCaptureFixture
) -> None:
    host, token = await _token(github)
    github.fake.tokens[token].revoked = True
    with caplog.at_level(logging.DEBUG, 'imbi_plugin_github_identity'):
        response = await host.revoke(token)
    assert response.status == 204
    assert not [r for r in caplog.records if r.levelno >= 30]
    assert 'already invalid' in caplog.text


async def test_404_and_no_way_to_check_the_token_is_a_warning(
    github: GitHub, caplog: pytest.LogCaptureFixture
) -> None:
    host, token = await _token(github)
    host.credentials['client_secret'] = 'not-the-secret'
    github.fake.inject(Fault(path='/user$', drop=True, times=None))
    with caplog.at_level(logging.WARNING, 'imbi_plugin_github_identity'):
        response = await host.revoke(token)
    assert response.status == 204
    assert 'may still work' in caplog.text


async def test_404_and_a_check_out_of_time_is_a_warning(
    github: GitHub, caplog: pytest.LogCaptureFixture
) -> None:
    # GitHub has answered the revoke (404): a check of the token that
    # outlasts the budget leaves it unknown whether the token is gone,
    # which the README answers with a WARNING, not a raised timeout.
    host, token = await _token(github)
    host.credentials['client_secret'] = 'not-the-secret'
    host.plugin_options['timeout_seconds'] = 1
    github.fake.inject(path='/user$', stall=True, times=None)
    with caplog.at_level(logging.WARNING, 'imbi_plugin_github_identity'):
        response = await host.revoke(token)
    assert response.status == 204, response.error
    assert 'may still work' in caplog.text
    assert token not in caplog.text
