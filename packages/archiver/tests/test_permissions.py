"""Credentials, 401 and the permission refusals."""

import typing

import pytest
from imbi_plugin_archiver._host import PluginCredentialsMissing
from imbi_plugin_testing.context import make_context
from imbi_plugin_testing.generation import V3, handler_under_test

if typing.TYPE_CHECKING:
    from conftest import World


async def test_user_without_admin_rights(world: World) -> None:
    bob = world.new_token('bob')

    result = await world.archive(credentials={'token': bob})

    assert result.status == 'failed'
    assert result.message is not None
    assert "the token's user is not an admin of acme/billing-api" in (
        result.message
    )
    assert 'Must have admin rights to Repository.' in result.message
    assert 'classic token with the `repo` scope' in result.message
    assert '"Administration: write"' in result.message
    assert not world.repo.archived


async def test_fine_grained_token_without_administration(
    world: World,
) -> None:
    token = world.new_token(
        prefix='github_pat_', scopes=[], permissions={'contents': 'write'}
    )

    result = await world.archive(credentials={'token': token})

    assert result.status == 'failed'
    assert result.message is not None
    assert 'lacks the "Administration: write" repository permission' in (
        result.message
    )
    assert 'Resource not accessible by integration' in result.message


async def test_app_token_with_administration_write(world: World) -> None:
    token = world.new_token(
        prefix='ghu_',
        scopes=[],
        kind='app',
        permissions={'administration': 'write'},
    )

    result = await world.archive(credentials={'token': token})

    assert result.status == 'ok', result.message


async def test_classic_token_without_repo_scope(world: World) -> None:
    world.repo.private = False
    token = world.new_token(scopes=['read:org'])

    result = await world.archive(credentials={'token': token})

    assert result.status == 'failed'
    assert result.message is not None
    assert 'answered 404 to the change' in result.message
    assert 'needs the `repo` scope' in result.message


async def test_other_refusal_names_the_permission(world: World) -> None:
    world.fake.inject(
        path='/repos/acme/billing-api$',
        method='PATCH',
        status=422,
        body={'message': 'Validation Failed', 'errors': [{'code': 'x'}]},
    )

    result = await world.archive()

    assert result.status == 'failed'
    assert 'GitHub: 422 Validation Failed: x' in (result.message or '')


@pytest.mark.parametrize(
    ('status', 'said', 'explained'),
    [
        (403, 'Must have admin rights to Repository.', 'is not an admin'),
        (
            403,
            'Resource protected by organization SAML enforcement. You must '
            'grant your Personal Access token access to this organization.',
            'need admin rights',
        ),
        (451, 'Repository access blocked', 'need admin rights'),
    ],
)
@pytest.mark.parametrize('event', ['archived', 'unarchived'])
async def test_refused_read_is_a_failed_result(
    world: World, status: int, said: str, explained: str, event: str
) -> None:
    """Regression: a refusal of the first GET escaped as GitHubRefused."""
    world.fake.inject(
        path='/repos/acme/billing-api$',
        method='GET',
        status=status,
        body={'message': said, 'documentation_url': 'https://docs.github.com'},
    )

    result = await world.host().lifecycle(
        typing.cast(typing.Any, event), project_links=world.link()
    )

    verb = event.removesuffix('d')
    assert result.status == 'failed'
    assert result.message is not None
    assert result.message.startswith(
        f'GitHub refused to show acme/billing-api, so nothing was {verb}d: '
    )
    assert f'GitHub: {status} {said}' in result.message
    assert explained in result.message
    assert world.calls() == ['GET /repos/acme/billing-api']


async def test_bad_token_raises_authentication_failed(world: World) -> None:
    result = await world.archive(credentials={'token': 'ghp_' + 'x' * 36})

    assert result.status == 'failed'
    assert result.message == (
        'PluginAuthenticationFailed: GitHub rejected the token (401 Bad '
        'credentials): it is invalid, expired or revoked'
    )


async def test_bound_identity_is_refreshed_after_401(world: World) -> None:
    stale = world.fake.issue_token('alice', ['repo'], revoked=True).value
    fresh = world.new_token()
    world.scan.add(stale)

    host = world.host(identity_token=stale, refresh_identity=lambda: fresh)
    result = await host.lifecycle('archived', project_links=world.link())

    assert result.status == 'ok', result.message
    assert host.calls == ['on_project_archived', 'on_project_archived']


async def test_identity_access_token_wins_over_stored_token(
    world: World,
) -> None:
    bob = world.new_token('bob')

    result = await world.archive(
        credentials={'token': bob, 'access_token': world.token}
    )

    assert result.status == 'ok', result.message
    sent = world.fake.requests[0].headers['authorization']
    assert sent == f'Bearer {world.token}'


async def test_no_credentials_fails_without_a_request(world: World) -> None:
    result = await world.archive(credentials={})

    assert result.status == 'failed'
    if V3:
        # imbi-api 2.41 fails the hook on an empty blob before calling it.
        assert result.message == 'Integration has no credentials'
    else:
        assert (result.message or '').startswith('PluginCredentialsMissing: ')
    assert world.fake.requests == []


@pytest.mark.parametrize(
    'credentials', [{}, {'token': ''}, {'token': '  ', 'access_token': ''}]
)
async def test_plugin_raises_credentials_missing(
    world: World, credentials: dict[str, str]
) -> None:
    ctx = make_context(
        'lifecycle', options={'api_url': world.url}, project_links=world.link()
    )

    handler = handler_under_test('imbi_plugin_archiver')()

    with pytest.raises(PluginCredentialsMissing, match="'token'"):
        await handler.on_project_unarchived(ctx, credentials)
    assert world.fake.requests == []
