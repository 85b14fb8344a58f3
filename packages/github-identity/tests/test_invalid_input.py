"""Invalid input and missing credentials: an error and no request."""

import typing

import pytest
from github_identity_helpers import REDIRECT_URI, GitHub
from imbi_plugin_github_identity._host import PluginCredentialsMissing
from imbi_plugin_testing import make_context
from imbi_plugin_testing.generation import handler_under_test

HANDLER = handler_under_test('imbi_plugin_github_identity')


def _call(
    github: GitHub, creds: dict[str, str] | None = None, **options: str
) -> tuple[typing.Any, typing.Any, dict[str, str]]:
    ctx = make_context(
        'identity', options={'github_url': github.url, **options}
    )
    app = github.oauth_app
    return (
        HANDLER(),
        ctx,
        creds
        if creds is not None
        else {'client_id': app.client_id, 'client_secret': app.client_secret},
    )


@pytest.mark.parametrize(
    ('code', 'redirect_uri', 'verifier'),
    [
        ('', REDIRECT_URI, None),
        ('   ', REDIRECT_URI, None),
        ('abc', '/relative/callback', None),
        ('abc', 'ftp://imbi.example.com/callback', None),
        ('abc', 'https://', None),
        # urlsplit() drops CR/LF and keeps quotes, backticks and braces:
        # none of them is an absolute URL (RFC 3986).
        ('abc', REDIRECT_URI + '\r\nSet-Cookie: session=x', None),
        ('abc', 'https://imbi.example.com/`id`/"{{7*7}}"', None),
        ('abc', 'https://imbi.example.com:99999/callback', None),
        ('abc', REDIRECT_URI, 'too-short'),
        ('abc', REDIRECT_URI, 'x' * 129),
        ('abc', REDIRECT_URI, 'has spaces ' * 5),
    ],
)
async def test_exchange_code_input(
    github: GitHub, code: str, redirect_uri: str, verifier: str | None
) -> None:
    plugin, ctx, creds = _call(github)
    with pytest.raises(ValueError, match=r'code|redirect_uri|code_verifier'):
        await plugin.exchange_code(ctx, creds, code, redirect_uri, verifier)
    assert github.fake.requests == []


@pytest.mark.parametrize('token', ['', '  '])
async def test_refresh_and_revoke_input(github: GitHub, token: str) -> None:
    plugin, ctx, creds = _call(github)
    with pytest.raises(ValueError, match='refresh token is empty'):
        await plugin.refresh(ctx, creds, token)
    with pytest.raises(ValueError, match='token to revoke is empty'):
        await plugin.revoke(ctx, creds, token)
    assert github.fake.requests == []


@pytest.mark.parametrize(
    ('option', 'value'),
    [
        ('github_url', 'github.example.com'),
        ('api_url', 'ftp://github.example.com/api/v3'),
        ('use_pkce', 'maybe'),
        ('timeout_seconds', 'soon'),
    ],
)
async def test_bad_options(github: GitHub, option: str, value: str) -> None:
    plugin, ctx, creds = _call(github, None, **{option: value})
    with pytest.raises(ValueError, match=option):
        await plugin.exchange_code(ctx, creds, 'abc', REDIRECT_URI, None)
    with pytest.raises(ValueError, match=option):
        await plugin.authorization_request(ctx, creds, REDIRECT_URI, None)
    assert github.fake.requests == []


@pytest.mark.parametrize(
    'creds',
    [
        {},
        {'client_id': 'Ov23liX'},
        {'client_id': 'Ov23liX', 'client_secret': ''},
        {'client_id': ' ', 'client_secret': 'secret-value'},
    ],
)
async def test_every_method_needs_both_credentials(
    github: GitHub, creds: dict[str, str]
) -> None:
    plugin, ctx, _ = _call(github)
    with pytest.raises(PluginCredentialsMissing):
        await plugin.exchange_code(ctx, creds, 'abc', REDIRECT_URI, None)
    with pytest.raises(PluginCredentialsMissing):
        await plugin.refresh(ctx, creds, 'ghr_x')
    with pytest.raises(PluginCredentialsMissing):
        await plugin.revoke(ctx, creds, 'gho_x')
    assert github.fake.requests == []


async def test_an_out_of_range_port_is_a_bad_option(github: GitHub) -> None:
    """Once an httpx/anyio ExceptionGroup escaped for this github_url."""
    plugin, ctx, creds = _call(github, github_url='http://127.0.0.1:99999')
    with pytest.raises(ValueError, match='github_url'):
        await plugin.refresh(ctx, creds, 'ghr_' + 'x' * 40)
    assert github.fake.requests == []


async def test_a_header_shaped_redirect_uri_through_the_host(
    github: GitHub,
) -> None:
    host = github.host()
    code, state = await github.authorize(host)
    response = await host.exchange_code(
        code, REDIRECT_URI + '\r\nSet-Cookie: session=x', state
    )
    assert isinstance(response.error, ValueError)
    assert 'redirect_uri' in response.detail
    assert github.fake.requests_to('/login/oauth/access_token') == []


async def test_missing_client_id_through_the_host(github: GitHub) -> None:
    host = github.host()
    host.credentials = {'client_secret': github.oauth_app.client_secret}
    response = await host.authorization_request(REDIRECT_URI)
    assert response.status == 503
    assert 'client_id' in response.detail
    revoked = await host.revoke('gho_' + 'x' * 36)
    assert revoked.status == 503
    assert github.fake.requests == []
