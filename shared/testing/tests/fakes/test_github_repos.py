"""The GitHub stand-in's repository routes: archive, permissions,
read-only archives, renames, transfers and redirects."""

import asyncio
import collections.abc
import typing

import httpx
import pytest
from imbi_plugin_testing.fakes.github import GitHubFake, Repository
from imbi_plugin_testing.fakes.github.repos import (
    ADMIN_REQUIRED,
    NOT_INTEGRATION_ACCESSIBLE,
    READ_ONLY,
    Transfer,
    move_repository,
    settings,
    settle,
)

BASE = 'http://github.test'


class World(typing.NamedTuple):
    fake: GitHubFake
    repo: Repository
    admin: str
    http: httpx.AsyncClient


@pytest.fixture
async def world() -> collections.abc.AsyncIterator[World]:
    fake = GitHubFake()
    fake.add_user('alice', orgs=['acme', 'acme-archive'])
    fake.add_user('bob', orgs=['acme'])
    fake.add_user('zed', orgs=['elsewhere'])
    admin = fake.issue_token('alice', ['repo']).value
    repo = fake.add_repository(
        'acme', 'api', collaborators={'alice': 'admin', 'bob': 'write'}
    )
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url=BASE
    ) as http:
        yield World(fake, repo, admin, http)


def _auth(token: str) -> dict[str, str]:
    return {'authorization': f'Bearer {token}'}


async def _call(
    world: World,
    method: str,
    path: str,
    body: typing.Any = None,
    token: str | None = None,
) -> httpx.Response:
    return await world.http.request(
        method, path, json=body, headers=_auth(token or world.admin)
    )


async def test_get_and_visibility(world: World) -> None:
    ok = await _call(world, 'GET', '/repos/ACME/API')
    zed = world.fake.issue_token('zed', ['repo']).value
    hidden = await _call(world, 'GET', '/repos/acme/api', token=zed)
    by_id = await _call(world, 'GET', f'/api/v3/repositories/{world.repo.id}')
    unknown = await _call(world, 'GET', '/repositories/1')
    anonymous = await world.http.get('/repos/acme/api')

    assert ok.status_code == 200
    assert ok.json()['full_name'] == 'acme/api'
    assert ok.json()['archived'] is False
    assert 'x-ratelimit-remaining' in ok.headers
    assert hidden.status_code == 404
    assert hidden.json()['message'] == 'Not Found'
    assert by_id.json()['id'] == world.repo.id
    assert unknown.status_code == 404
    assert anonymous.status_code == 401


async def test_archive_and_unarchive(world: World) -> None:
    archived = await _call(
        world, 'PATCH', '/repos/acme/api', {'archived': True}
    )
    rename = await _call(world, 'PATCH', '/repos/acme/api', {'name': 'x'})
    again = await _call(world, 'PATCH', '/repos/acme/api', {'archived': True})
    empty = await _call(world, 'PATCH', '/repos/acme/api', {})
    active = await _call(
        world, 'PATCH', '/repos/acme/api', {'archived': False}
    )

    assert archived.status_code == 200
    assert archived.json()['archived'] is True
    assert (rename.status_code, rename.json()['message']) == (403, READ_ONLY)
    assert (again.status_code, again.json()['message']) == (403, READ_ONLY)
    assert empty.status_code == 200
    assert active.json()['archived'] is False
    assert world.repo.full_name == 'acme/api'


@pytest.mark.parametrize(
    ('login', 'scopes', 'fields', 'status', 'message'),
    [
        ('bob', ['repo'], {}, 403, ADMIN_REQUIRED),
        ('alice', ['read:org'], {}, 404, 'Not Found'),
        (
            'alice',
            [],
            {'prefix': 'github_pat_', 'permissions': {'contents': 'write'}},
            403,
            NOT_INTEGRATION_ACCESSIBLE,
        ),
        (
            'alice',
            [],
            {'kind': 'installation'},
            403,
            NOT_INTEGRATION_ACCESSIBLE,
        ),
        (
            'bob',
            [],
            {'kind': 'app', 'permissions': {'administration': 'write'}},
            403,
            ADMIN_REQUIRED,
        ),
    ],
)
async def test_archive_needs_admin(
    world: World,
    login: str,
    scopes: list[str],
    fields: dict[str, typing.Any],
    status: int,
    message: str,
) -> None:
    token = world.fake.issue_token(login, scopes, **fields).value

    answer = await _call(
        world, 'PATCH', '/repos/acme/api', {'archived': True}, token
    )

    assert (answer.status_code, answer.json()['message']) == (status, message)
    assert answer.json()['documentation_url'].startswith('https://docs.')
    assert not world.repo.archived


async def test_public_repo_scope_suffices_for_public(world: World) -> None:
    world.repo.private = False
    token = world.fake.issue_token('alice', ['public_repo']).value

    answer = await _call(
        world, 'PATCH', '/repos/acme/api', {'archived': True}, token
    )

    assert answer.status_code == 200


@pytest.mark.parametrize(
    ('content', 'status'),
    [
        (b'{"archived": ', 400),
        (b'[1]', 400),
        (b'{"archived": "yes"}', 422),
        (b'{"name": ""}', 422),
    ],
)
async def test_patch_validation(
    world: World, content: bytes, status: int
) -> None:
    answer = await world.http.patch(
        '/repos/acme/api', content=content, headers=_auth(world.admin)
    )

    assert answer.status_code == status


async def test_rename_redirects(world: World) -> None:
    world.fake.add_repository('acme', 'taken', collaborators={})
    clash = await _call(world, 'PATCH', '/repos/acme/api', {'name': 'taken'})
    renamed = await _call(world, 'PATCH', '/repos/acme/api', {'name': 'svc'})
    get = await _call(world, 'GET', '/api/v3/repos/acme/api')
    patch = await _call(world, 'PATCH', '/repos/acme/api', {'archived': True})
    post = await _call(
        world, 'POST', '/repos/acme/api/transfer', {'new_owner': 'x'}
    )

    assert clash.status_code == 422
    assert clash.json()['errors'][0]['message'] == (
        'name already exists on this account'
    )
    assert renamed.json()['full_name'] == 'acme/svc'
    assert get.status_code == 301
    assert get.headers['location'] == (
        f'{BASE}/api/v3/repositories/{world.repo.id}'
    )
    assert get.json()['message'] == 'Moved Permanently'
    assert patch.status_code == 307
    assert patch.json()['url'] == f'{BASE}/repositories/{world.repo.id}'
    assert post.status_code == 307
    assert post.headers['location'] == (
        f'{BASE}/repositories/{world.repo.id}/transfer'
    )
    assert not world.repo.archived


async def test_transfer_completes_after_the_delay(world: World) -> None:
    settings(world.fake).transfer_delay = 0.2

    accepted = await _call(
        world,
        'POST',
        f'/repositories/{world.repo.id}/transfer',
        {'new_owner': 'acme-archive'},
    )
    before = await _call(world, 'GET', '/repos/acme-archive/api')
    again = await _call(
        world, 'POST', '/repos/acme/api/transfer', {'new_owner': 'acme'}
    )
    await asyncio.sleep(0.25)
    after = await _call(world, 'GET', '/repos/acme-archive/api')
    old = await _call(world, 'GET', '/repos/acme/api')

    assert accepted.status_code == 202
    assert accepted.json()['owner']['login'] == 'acme'
    assert before.status_code == 404
    assert again.status_code == 422
    assert after.status_code == 200
    assert after.json()['full_name'] == 'acme-archive/api'
    assert old.status_code == 301


async def test_transfer_of_an_archived_repository(world: World) -> None:
    world.repo.archived = True

    answer = await _call(
        world,
        'POST',
        '/repos/acme/api/transfer',
        {'new_owner': 'acme-archive', 'new_name': 'old-api'},
    )

    assert answer.status_code == 202
    assert world.repo.full_name == 'acme-archive/old-api'
    assert world.repo.archived


@pytest.mark.parametrize(
    ('body', 'status', 'detail'),
    [
        ({}, 422, 'missing_field'),
        ({'new_owner': 'acme', 'new_name': 3}, 422, 'invalid'),
        ({'new_owner': 'nobody-at-all'}, 422, 'invalid'),
        ({'new_owner': 'elsewhere'}, 403, None),
        ({'new_owner': 'acme-archive', 'new_name': 'taken'}, 422, 'custom'),
    ],
)
async def test_transfer_refusals(
    world: World,
    body: dict[str, typing.Any],
    status: int,
    detail: str | None,
) -> None:
    world.fake.add_repository('acme-archive', 'taken')

    answer = await _call(world, 'POST', '/repos/acme/api/transfer', body)

    assert answer.status_code == status
    if detail is not None:
        assert answer.json()['errors'][0]['code'] == detail
    assert world.repo.full_name == 'acme/api'


async def test_transfer_needs_admin(world: World) -> None:
    bob = world.fake.issue_token('bob', ['repo']).value

    answer = await _call(
        world, 'POST', '/repos/acme/api/transfer', {'new_owner': 'acme'}, bob
    )
    bad_json = await world.http.post(
        '/repos/acme/api/transfer', content=b'{', headers=_auth(world.admin)
    )
    missing = await _call(
        world, 'POST', '/repos/acme/gone/transfer', {'new_owner': 'acme'}
    )
    anonymous = await world.http.post('/repos/acme/api/transfer')

    assert (answer.status_code, answer.json()['message']) == (
        403,
        ADMIN_REQUIRED,
    )
    assert bad_json.status_code == 400
    assert missing.status_code == 404
    assert anonymous.status_code == 401


def test_settle_skips_a_deleted_repository(world: World) -> None:
    state = settings(world.fake)
    state.transfer_delay = 0.0
    move_repository(world.fake, world.repo, owner='acme-archive')
    state.pending[world.repo.id + 1] = Transfer('x', 'y', due=0.0)

    settle(world.fake)

    assert state.pending == {}
    assert world.fake.redirects == {'acme/api': world.repo.id}
