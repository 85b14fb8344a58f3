"""The whole web flow through the Host, github.com and GHES shapes."""

import datetime
import urllib.parse

import httpx
import pytest
from github_identity_helpers import REDIRECT_URI, GitHub
from imbi_plugin_testing.fakes.github import oauth as fake_oauth
from imbi_plugin_testing.secrets import unscanned


@pytest.mark.parametrize('ghes', [False, True])
async def test_oauth_app_sign_in(github: GitHub, ghes: bool) -> None:
    host = github.host(ghes=ghes)
    response = await github.sign_in(host, scopes=['read:user', 'user:email'])
    assert response.status == 302, response.body
    profile, creds = response.result
    user = github.fake.users['octocat']
    assert profile.subject == str(user.id)
    assert profile.email == 'octocat@example.com'
    assert profile.email_verified is True
    assert profile.name == 'The Octocat'
    assert profile.avatar_url
    assert profile.raw_claims == {
        'login': 'octocat',
        'id': user.id,
        'html_url': f'{github.url}/octocat',
        'node_id': user.node_id,
    }
    # read:user and user:email do not let an OAuth token read /user/orgs.
    assert profile.groups == []
    assert creds.token_type == 'Bearer'
    assert creds.access_token.startswith('gho_')
    assert creds.scopes == ['read:user', 'user:email']
    assert creds.expires_at is None
    assert creds.refresh_token is None
    prefix = '/api/v3' if ghes else ''
    assert github.fake.requests_to(f'^{prefix}/user$', 'GET')
    assert not github.fake.requests_to('/user/orgs')


async def test_default_scopes_come_from_the_manifest(github: GitHub) -> None:
    host = github.host()
    started = await host.authorization_request(REDIRECT_URI)
    query = dict(
        urllib.parse.parse_qsl(
            urllib.parse.urlsplit(started.body['authorization_url']).query
        )
    )
    assert query['scope'] == 'read:user user:email'


async def test_organizations_fill_groups_with_read_org(
    github: GitHub,
) -> None:
    host = github.host()
    response = await github.sign_in(
        host, scopes=['read:user', 'user:email', 'read:org']
    )
    profile, _ = response.result
    assert profile.groups == ['aweber', 'imbi']


async def test_organizations_follow_pagination(github: GitHub) -> None:
    github.fake.users['octocat'].orgs = [f'org-{n:03d}' for n in range(130)]
    response = await github.sign_in(github.host(), scopes=['read:org'])
    profile, _ = response.result
    assert len(profile.groups) == 130
    assert len(github.fake.requests_to('/user/orgs')) == 2


async def test_organizations_can_be_turned_off(github: GitHub) -> None:
    host = github.host(include_organizations='false')
    response = await github.sign_in(host, scopes=['read:org', 'user:email'])
    profile, _ = response.result
    assert profile.groups == []
    assert not github.fake.requests_to('/user/orgs')


async def test_without_email_scope_the_public_email_is_unverified(
    github: GitHub,
) -> None:
    response = await github.sign_in(github.host(), scopes=['read:user'])
    profile, _ = response.result
    assert profile.email == 'octocat@public.example'
    assert profile.email_verified is False
    assert not github.fake.requests_to('/user/emails')


async def test_public_email_is_verified_when_github_says_so(
    github: GitHub,
) -> None:
    user = github.fake.users['octocat']
    user.emails[0]['verified'] = False
    user.emails[0]['primary'] = False
    response = await github.sign_in(github.host(), scopes=['user:email'])
    profile, _ = response.result
    assert profile.email == 'octocat@public.example'
    assert profile.email_verified is True


async def test_no_email_at_all(github: GitHub) -> None:
    user = github.fake.users['octocat']
    user.email = None
    user.emails = []
    response = await github.sign_in(github.host(), scopes=['user:email'])
    profile, _ = response.result
    assert profile.email is None
    assert profile.email_verified is False


async def test_github_app_sign_in_on_ghes(
    github: GitHub, tokens: object
) -> None:
    host = github.host(github.github_app, ghes=True)
    before = datetime.datetime.now(datetime.UTC)
    response = await github.sign_in(host)
    assert response.status == 302, response.body
    profile, creds = response.result
    assert profile.email == 'octocat@example.com'
    assert profile.email_verified is True
    # A GitHub App token has no scopes; its orgs are where it is installed.
    assert profile.groups == ['aweber', 'imbi']
    assert creds.scopes == []
    assert creds.access_token.startswith('ghu_')
    assert creds.refresh_token is not None
    assert creds.refresh_token.startswith('ghr_')
    assert creds.expires_at is not None
    eight_hours = datetime.timedelta(seconds=28800)
    assert before + eight_hours <= creds.expires_at
    assert creds.expires_at <= before + eight_hours + datetime.timedelta(
        seconds=60
    )
    refresh_expiry = datetime.datetime.fromisoformat(
        creds.extra['refresh_token_expires_at']
    )
    assert refresh_expiry - creds.expires_at > datetime.timedelta(days=180)
    assert github.fake.requests_to('^/api/v3/user/emails$')


async def test_github_app_without_email_permission(github: GitHub) -> None:
    github.github_app.permissions = {}
    host = github.host(github.github_app)
    response = await github.sign_in(host)
    profile, _ = response.result
    # /user/emails answered 403: the public address, unverified.
    assert github.fake.requests_to('/user/emails')
    assert profile.email == 'octocat@public.example'
    assert profile.email_verified is False


@pytest.mark.parametrize('use_pkce', ['true', 'false'])
async def test_pkce_on_and_off(github: GitHub, use_pkce: str) -> None:
    host = github.host(use_pkce=use_pkce)
    started = await host.authorization_request(REDIRECT_URI)
    query = dict(
        urllib.parse.parse_qsl(
            urllib.parse.urlsplit(started.body['authorization_url']).query
        )
    )
    if use_pkce == 'true':
        verifier = started.result.code_verifier
        assert 43 <= len(verifier) <= 128
        assert query['code_challenge'] == fake_oauth.s256(verifier)
        assert query['code_challenge_method'] == 'S256'
    else:
        assert started.result.code_verifier is None
        assert 'code_challenge' not in query
    callback = fake_oauth.approve(
        github.fake, started.body['authorization_url'], 'octocat'
    )
    back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    github.scan.add(back['code'])
    # The host's own state came back, and with it the stored verifier.
    assert back['state'] == started.body['state']
    response = await host.exchange_code(
        back['code'], REDIRECT_URI, back['state']
    )
    assert response.status == 302, response.body
    exchange = github.fake.requests_to('/login/oauth/access_token')[-1]
    sent = dict(urllib.parse.parse_qsl(exchange.body.decode()))
    assert ('code_verifier' in sent) is (use_pkce == 'true')


async def test_browser_consent_over_http(github: GitHub) -> None:
    """The authorize page and its consent form, as a browser uses them."""
    host = github.host(ghes=True)
    started = await host.authorization_request(REDIRECT_URI)
    url = started.body['authorization_url']
    # The browser is meant to see the code its redirect carries.
    with unscanned():
        async with httpx.AsyncClient() as browser:
            page = await browser.get(url)
            assert page.status_code == 200
            assert 'form' in page.text
            params = dict(
                urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)
            )
            consent = await browser.post(
                f'{github.url}/login/oauth/authorize',
                data={**params, 'login': 'octocat', 'authorize': '1'},
            )
    assert consent.status_code == 302
    back = dict(
        urllib.parse.parse_qsl(
            urllib.parse.urlsplit(consent.headers['location']).query
        )
    )
    github.scan.add(back['code'])
    response = await host.exchange_code(
        back['code'], REDIRECT_URI, back['state']
    )
    assert response.status == 302
    assert response.result[0].subject == str(github.fake.users['octocat'].id)


async def test_host_rejects_a_foreign_state(github: GitHub) -> None:
    host = github.host()
    code, _ = await github.authorize(host)
    response = await host.exchange_code(code, REDIRECT_URI, 'forged.state')
    assert response.status == 400
    assert not github.fake.requests_to('/login/oauth/access_token')


async def test_each_call_gets_a_fresh_instance(github: GitHub) -> None:
    host = github.host()
    await github.sign_in(host)
    assert len(host.instances) == 2
    assert all(vars(instance) == {} for instance in host.instances)
