"""Renamed and transferred repositories: followed, reported, healed."""

import typing

from imbi_plugin_archiver._host import PluginContext
from imbi_plugin_testing.fakes.github.repos import move_repository
from imbi_plugin_testing.standin import Fault

if typing.TYPE_CHECKING:
    from conftest import Healing, World


async def test_renamed_repository_is_followed_and_reported(
    world: World,
) -> None:
    move_repository(world.fake, world.repo, name='billing-service')

    result = await world.archive()

    assert result.status == 'ok', result.message
    assert result.artifacts['repository'] == 'acme/billing-service'
    assert result.artifacts['html_url'] == f'{world.url}/acme/billing-service'
    assert result.message is not None
    assert 'GitHub redirected acme/billing-api to acme/billing-service' in (
        result.message
    )
    new_url = f'{world.url}/acme/billing-service'
    if 'link_writeback' not in PluginContext.model_fields:
        assert f"Update the project link 'github-repository' to {new_url}" in (
            result.message
        )
    assert world.calls() == [
        'GET /repos/acme/billing-api',
        f'GET /repositories/{world.repo.id}',
        'PATCH /repos/acme/billing-service',
    ]
    assert world.repo.archived


async def test_rename_heals_the_link_where_the_host_can(
    world: World, healing: Healing
) -> None:
    move_repository(world.fake, world.repo, owner='acme', name='billing')
    host = world.host()
    ctx = healing(host, world.link())

    result = await host.lifecycle('archived', ctx=ctx)

    assert result.status == 'ok', result.message
    assert result.message == (
        'Archived acme/billing: it is now read-only. GitHub redirected '
        'acme/billing-api to acme/billing: it was renamed or moved. The '
        f'project link is being updated to {world.url}/acme/billing.'
    )
    writeback = ctx.link_writeback  # type: ignore[attr-defined]
    assert writeback.link_key == 'github-repository'
    assert writeback.new_url == f'{world.url}/acme/billing'
    assert writeback.old_owner_repo == 'acme/billing-api'
    assert writeback.new_owner_repo == 'acme/billing'


async def test_unchanged_name_leaves_the_link_alone(
    world: World, healing: Healing
) -> None:
    host = world.host()
    ctx = healing(host, world.link())

    result = await host.lifecycle('archived', ctx=ctx)

    assert result.status == 'ok'
    assert ctx.link_writeback is None  # type: ignore[attr-defined]


async def test_rename_found_through_the_option(world: World) -> None:
    move_repository(world.fake, world.repo, name='billing')

    result = await world.archive(
        {}, options={'repository': 'acme/billing-api'}
    )

    assert result.status == 'ok'
    assert "Update the 'repository' option to acme/billing." in (
        result.message or ''
    )


async def test_write_redirected_with_307_is_repeated(world: World) -> None:
    """Renamed between our read and write: GitHub answers 307."""
    location = f'{world.url}/repositories/{world.repo.id}'
    world.fake.inject(
        Fault(
            path='/repos/acme/billing-api$',
            method='PATCH',
            status=307,
            headers={'location': location},
            body={'message': 'Temporary Redirect', 'url': location},
        )
    )

    result = await world.archive()

    assert result.status == 'ok', result.message
    assert world.calls()[-1] == f'PATCH /repositories/{world.repo.id}'
    assert world.fake.requests[-1].body == b'{"archived":true}'
    assert world.repo.archived


async def test_redirect_to_another_host_is_not_followed(
    world: World,
) -> None:
    world.fake.inject(
        Fault(
            path='/repos/acme/billing-api$',
            status=301,
            headers={'location': 'https://evil.example.com/repositories/1'},
        )
    )

    result = await world.archive()

    assert result.status == 'failed'
    assert result.message is not None
    assert result.message.startswith('PluginUnavailableError: ')
    assert 'to another host (https://evil.example.com)' in result.message


async def test_redirect_loop_ends(world: World) -> None:
    world.fake.inject(
        Fault(
            path='/repos/acme/billing-api$',
            status=302,
            times=None,
            headers={'location': '/repos/acme/billing-api'},
        )
    )

    result = await world.archive()

    assert result.status == 'failed'
    assert 'more than 5 times' in (result.message or '')
    assert len(world.fake.requests) == 6
