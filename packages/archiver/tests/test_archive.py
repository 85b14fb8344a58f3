"""Archive and unarchive in place: the plain rows of the result table."""

import typing

from imbi_plugin_testing.standin import Fault

if typing.TYPE_CHECKING:
    from conftest import World

REPO = '/repos/acme/billing-api'


async def test_archive_is_one_get_and_one_patch(world: World) -> None:
    result = await world.archive()

    assert result.status == 'ok', result.message
    assert result.message == (
        'Archived acme/billing-api: it is now read-only.'
    )
    assert result.artifacts == {
        'repository': 'acme/billing-api',
        'html_url': f'{world.url}/acme/billing-api',
        'archived': 'true',
    }
    assert world.calls() == [f'GET {REPO}', f'PATCH {REPO}']
    assert world.fake.requests[1].body == b'{"archived":true}'
    assert world.repo.archived


async def test_request_headers(world: World) -> None:
    await world.archive()

    headers = world.fake.requests[0].headers
    assert headers['accept'] == 'application/vnd.github+json'
    assert headers['x-github-api-version'] == '2022-11-28'
    assert headers['authorization'] == f'Bearer {world.token}'
    assert all(world.token not in r.url_text for r in world.fake.requests)


async def test_already_archived_sends_no_write(world: World) -> None:
    world.repo.archived = True

    result = await world.archive()

    assert result.status == 'ok'
    assert result.message == (
        'GitHub repository acme/billing-api is already archived; '
        'nothing to do.'
    )
    assert result.artifacts['archived'] == 'true'
    assert world.calls() == [f'GET {REPO}']


async def test_rerunning_archive_is_safe(world: World) -> None:
    first = await world.archive()
    second = await world.archive()

    assert (first.status, second.status) == ('ok', 'ok')
    assert 'already archived' in (second.message or '')
    assert len(world.fake.requests_to(REPO, 'PATCH')) == 1


async def test_unarchive(world: World) -> None:
    world.repo.archived = True

    result = await world.unarchive()

    assert result.status == 'ok', result.message
    assert result.message == (
        'Unarchived acme/billing-api: it accepts changes again.'
    )
    assert result.artifacts['archived'] == 'false'
    assert world.calls() == [f'GET {REPO}', f'PATCH {REPO}']
    assert world.fake.requests[1].body == b'{"archived":false}'
    assert not world.repo.archived


async def test_unarchive_of_an_active_repository(world: World) -> None:
    result = await world.unarchive()

    assert result.status == 'ok'
    assert result.message == (
        'GitHub repository acme/billing-api is already active (not '
        'archived); nothing to do.'
    )
    assert world.calls() == [f'GET {REPO}']


async def test_patch_answer_is_checked(world: World) -> None:
    """GitHub answering 200 without archiving is not reported as done."""
    body = {
        'id': world.repo.id,
        'name': 'billing-api',
        'owner': {'login': 'acme'},
        'html_url': f'{world.url}/acme/billing-api',
        'archived': False,
    }
    world.fake.inject(Fault(path=REPO, method='PATCH', status=200, body=body))

    result = await world.archive()

    assert result.status == 'failed'
    assert 'still reports archived=false' in (result.message or '')
    assert 'Done: nothing' in (result.message or '')
    assert result.artifacts['archived'] == 'false'


async def test_archived_meanwhile_counts_as_archived(world: World) -> None:
    """Someone archived it between our GET and PATCH: GitHub says 403."""
    world.fake.inject(
        Fault(
            path=REPO,
            method='PATCH',
            status=403,
            body={'message': 'Repository was archived so is read-only.'},
        )
    )

    result = await world.archive()

    assert result.status == 'ok'
    assert 'already archived' in (result.message or '')


async def test_github_enterprise_server_shape(world: World) -> None:
    result = await world.archive(options={'api_url': world.url + '/api/v3'})

    assert result.status == 'ok', result.message
    assert world.calls() == [f'GET /api/v3{REPO}', f'PATCH /api/v3{REPO}']


async def test_missing_repository_is_skipped(world: World) -> None:
    result = await world.archive(world.link('acme/gone'))

    assert result.status == 'skipped'
    assert result.message is not None
    assert result.message.startswith(
        'GitHub repository acme/gone was not found: it was deleted, or the '
        'token cannot see it'
    )
    assert world.calls() == ['GET /repos/acme/gone']


async def test_invisible_repository_is_skipped(world: World) -> None:
    carol = world.new_token('carol')
    world.fake.add_user('carol')

    result = await world.unarchive(credentials={'token': carol})

    assert result.status == 'skipped'
    assert 'Nothing to unarchive' in (result.message or '')
