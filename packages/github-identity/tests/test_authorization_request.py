"""authorization_request: the authorize URL, no network call."""

import urllib.parse

import pytest
from github_identity_helpers import REDIRECT_URI
from imbi_plugin_github_identity import pkce
from imbi_plugin_testing import make_context
from imbi_plugin_testing.generation import handler_under_test

HANDLER = handler_under_test('imbi_plugin_github_identity')

CREDS = {'client_id': 'Ov23liAuthorize'}


async def _request(
    options: dict[str, object] | None = None,
    scopes: list[str] | None = None,
    redirect_uri: str = REDIRECT_URI,
) -> tuple[urllib.parse.SplitResult, dict[str, str], object]:
    ctx = make_context('identity', options=options or {})
    request = await HANDLER().authorization_request(
        ctx, CREDS, redirect_uri, scopes
    )
    parts = urllib.parse.urlsplit(request.authorization_url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert query['state'] == request.state
    return parts, query, request


async def test_defaults_on_github_com() -> None:
    parts, query, request = await _request()
    assert f'{parts.scheme}://{parts.netloc}{parts.path}' == (
        'https://github.com/login/oauth/authorize'
    )
    assert query['client_id'] == 'Ov23liAuthorize'
    assert query['redirect_uri'] == REDIRECT_URI
    assert query['scope'] == 'read:user user:email'
    assert query['allow_signup'] == 'false'
    assert query['code_challenge_method'] == 'S256'
    verifier = request.code_verifier  # type: ignore[attr-defined]
    assert pkce.is_valid_verifier(verifier)
    assert query['code_challenge'] == pkce.challenge(verifier)
    # Scopes are space separated, percent-encoded as %20.
    assert 'read%3Auser%20user%3Aemail' in parts.query
    # Nothing secret in the URL: no client secret and no verifier.
    assert verifier not in parts.query


async def test_ghes_with_signup_and_without_pkce() -> None:
    parts, query, request = await _request(
        {
            'github_url': 'https://github.example.com/',
            'allow_signup': True,
            'use_pkce': 0,
        },
        scopes=['repo', 'read:org'],
    )
    assert parts.netloc == 'github.example.com'
    assert parts.path == '/login/oauth/authorize'
    assert query['scope'] == 'repo read:org'
    assert query['allow_signup'] == 'true'
    assert 'code_challenge' not in query
    assert request.code_verifier is None  # type: ignore[attr-defined]


async def test_fresh_state_and_verifier_every_time() -> None:
    _, first, one = await _request()
    _, second, two = await _request()
    assert first['state'] != second['state']
    assert one.code_verifier != two.code_verifier  # type: ignore[attr-defined]


async def test_only_the_client_id_is_needed() -> None:
    _, query, _ = await _request()
    assert 'client_secret' not in query


@pytest.mark.parametrize(
    'redirect_uri', ['', 'callback', '//imbi.example.com/cb', 'javascript:x']
)
async def test_redirect_uri_must_be_absolute_http(redirect_uri: str) -> None:
    with pytest.raises(ValueError, match='redirect_uri'):
        await _request(redirect_uri=redirect_uri)


@pytest.mark.parametrize('scope', ['', 'read:user user:email', 'a,b'])
async def test_malformed_scopes(scope: str) -> None:
    with pytest.raises(ValueError, match='scope'):
        await _request(scopes=[scope])


@pytest.mark.parametrize(
    'options',
    [
        {'github_url': 'https://x:s3cret@github.example.com'},
        {'api_url': 'https://x:s3cret@api.github.example.com'},
    ],
)
async def test_no_credentials_reach_the_authorize_url(
    options: dict[str, object],
) -> None:
    with pytest.raises(ValueError, match='username or password') as caught:
        await _request(options)
    assert 's3cret' not in str(caught.value)
