"""GitHub's HTTP-200 OAuth errors and how each one surfaces."""

import pytest
from github_identity_helpers import REDIRECT_URI, GitHub
from imbi_plugin_github_identity import pkce
from imbi_plugin_github_identity._host import (
    PluginAuthenticationFailed,
    PluginUnavailableError,
)
from imbi_plugin_testing import make_context
from imbi_plugin_testing.fakes.github import oauth as fake_oauth
from imbi_plugin_testing.generation import handler_under_test

HANDLER = handler_under_test('imbi_plugin_github_identity')


async def test_a_code_works_once(github: GitHub) -> None:
    host = github.host()
    code, state = await github.authorize(host)
    first = await host.exchange_code(code, REDIRECT_URI, state)
    assert first.status == 302  # the host redirects to the connections page
    # The browser replays the callback: the host has no verifier left.
    assert (await host.exchange_code(code, REDIRECT_URI, state)).status == 400
    direct = await _exchange(github, code, verifier=None)
    assert isinstance(direct, ValueError)
    assert 'The code passed is incorrect or expired.' in str(direct)
    assert 'bad_verification_code' in str(direct)


async def test_an_expired_code(github: GitHub) -> None:
    host = github.host()
    code, state = await github.authorize(host)
    fake_oauth.advance(github.fake, fake_oauth.CODE_TTL_SECONDS + 1)
    response = await host.exchange_code(code, REDIRECT_URI, state)
    # The host's callback answers a ValueError with 400 and its text.
    assert response.status == 400
    assert isinstance(response.error, ValueError)
    assert 'incorrect or expired' in response.detail
    assert response.detail.startswith('Invalid state: ')


async def test_a_wrong_verifier(github: GitHub) -> None:
    code, _ = await github.authorize(github.host())
    error = await _exchange(github, code, verifier=pkce.new_verifier())
    assert isinstance(error, ValueError)
    assert 'bad_verification_code' in str(error)


async def test_a_missing_verifier(github: GitHub) -> None:
    code, _ = await github.authorize(github.host())
    error = await _exchange(github, code, verifier=None)
    assert isinstance(error, ValueError)


async def test_redirect_uri_mismatch(github: GitHub) -> None:
    host = github.host()
    code, state = await github.authorize(host)
    response = await host.exchange_code(
        code, 'https://imbi.example.com/elsewhere', state
    )
    assert isinstance(response.error, ValueError)
    assert 'redirect_uri_mismatch' in response.detail
    assert 'MUST match the registered callback URL' in response.detail


async def test_unverified_user_email(github: GitHub) -> None:
    response = await github.sign_in(github.host(), login='newbie')
    assert isinstance(response.error, ValueError)
    assert 'unverified_user_email' in response.detail
    assert 'verified primary email' in response.detail


async def test_incorrect_client_credentials(github: GitHub) -> None:
    host = github.host()
    code, state = await github.authorize(host)
    host.credentials['client_secret'] = 'f' * 40
    github.scan.add('f' * 40)
    response = await host.exchange_code(code, REDIRECT_URI, state)
    assert response.status == 500
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'incorrect_client_credentials' in response.detail


async def test_an_unknown_oauth_error_is_unavailable(github: GitHub) -> None:
    github.fake.inject(
        path='/login/oauth/access_token',
        status=200,
        body={'error': 'temporarily_unavailable'},
    )
    response = await github.sign_in(github.host())
    assert isinstance(response.error, PluginUnavailableError)
    assert 'temporarily_unavailable' in response.detail


async def test_a_token_answer_without_a_token(github: GitHub) -> None:
    github.fake.inject(
        path='/login/oauth/access_token',
        status=200,
        body={'token_type': 'bearer'},
    )
    response = await github.sign_in(github.host())
    assert isinstance(response.error, PluginUnavailableError)
    assert 'no access_token' in response.detail


@pytest.mark.parametrize('body', [['a', 'list'], 'not json at all'])
async def test_an_unexpected_token_body(github: GitHub, body: object) -> None:
    github.fake.inject(path='/login/oauth/access_token', status=200, body=body)
    response = await github.sign_in(github.host())
    assert isinstance(response.error, PluginUnavailableError)


async def _exchange(
    github: GitHub, code: str, verifier: str | None
) -> BaseException | None:
    """exchange_code straight on the plugin, with the verifier given."""
    github.scan.add(verifier)
    ctx = make_context(
        'identity', options={'github_url': github.url, 'api_url': github.url}
    )
    creds = {
        'client_id': github.oauth_app.client_id,
        'client_secret': github.oauth_app.client_secret,
    }
    try:
        await HANDLER().exchange_code(ctx, creds, code, REDIRECT_URI, verifier)
    except Exception as exc:
        github.scan.record_exception(exc)
        return exc
    return None
