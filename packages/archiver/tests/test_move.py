"""With ``archive_owner``: move and archive, unarchive and move back, and
every partial outcome."""

import time
import typing

from imbi_plugin_testing.fakes.github.repos import move_repository, settings
from imbi_plugin_testing.standin import Fault

if typing.TYPE_CHECKING:
    from conftest import Healing, World

ARCHIVE = {'archive_owner': 'acme-archive'}


async def test_archive_moves_then_archives(
    world: World, healing: Healing
) -> None:
    settings(world.fake).transfer_delay = 0.3
    host = world.host(ARCHIVE)
    ctx = healing(host, world.link())

    result = await host.lifecycle('archived', ctx=ctx)

    assert result.status == 'ok', result.message
    assert result.message == (
        'Moved acme/billing-api to acme-archive/billing-api; archived '
        'acme-archive/billing-api: it is now read-only. The project keeps '
        'naming acme/billing-api (GitHub redirects it), so unarchive can '
        'move it back.'
    )
    assert result.artifacts == {
        'repository': 'acme-archive/billing-api',
        'html_url': f'{world.url}/acme-archive/billing-api',
        'archived': 'true',
        'moved_to': 'acme-archive',
    }
    calls = world.calls()
    assert calls[:3] == [
        'GET /repos/acme/billing-api',
        'POST /repos/acme/billing-api/transfer',
        'GET /repos/acme-archive/billing-api',
    ]
    assert calls[-1] == 'PATCH /repos/acme-archive/billing-api'
    # The transfer took 0.3 s: the new home was polled until it answered.
    assert calls.count('GET /repos/acme-archive/billing-api') >= 2
    assert world.fake.requests[1].body == b'{"new_owner":"acme-archive"}'
    assert world.repo.full_name == 'acme-archive/billing-api'
    assert world.repo.archived
    # Our own move: the link keeps the original owner (issue 17, 5).
    assert ctx.link_writeback is None  # type: ignore[attr-defined]


async def test_unarchive_finds_it_and_moves_it_back(world: World) -> None:
    move_repository(world.fake, world.repo, owner='acme-archive')
    world.repo.archived = True

    result = await world.unarchive(options=ARCHIVE)

    assert result.status == 'ok', result.message
    assert result.message == (
        'Unarchived acme-archive/billing-api; moved '
        'acme-archive/billing-api to acme/billing-api: it accepts changes '
        'again.'
    )
    assert result.artifacts == {
        'repository': 'acme/billing-api',
        'html_url': f'{world.url}/acme/billing-api',
        'archived': 'false',
        'moved_to': 'acme',
    }
    assert world.calls() == [
        'GET /repos/acme/billing-api',
        f'GET /repositories/{world.repo.id}',
        'PATCH /repos/acme-archive/billing-api',
        'POST /repos/acme-archive/billing-api/transfer',
        'GET /repos/acme/billing-api',
    ]
    assert world.repo.full_name == 'acme/billing-api'
    assert not world.repo.archived


async def test_round_trip_and_reruns(world: World) -> None:
    settings(world.fake).transfer_delay = 0.1
    archived = [await world.archive(options=ARCHIVE) for _ in range(2)]
    unarchived = [await world.unarchive(options=ARCHIVE) for _ in range(2)]

    assert [r.status for r in archived + unarchived] == ['ok'] * 4
    assert 'already archived' in (archived[1].message or '')
    assert 'already active' in (unarchived[1].message or '')
    assert len(world.fake.requests_to('/transfer$')) == 2
    assert world.repo.full_name == 'acme/billing-api'
    assert not world.repo.archived


async def test_archive_finishes_an_earlier_move(world: World) -> None:
    move_repository(world.fake, world.repo, owner='acme-archive')

    result = await world.archive(options=ARCHIVE)

    assert result.status == 'ok', result.message
    assert 'moved_to' not in result.artifacts
    assert world.fake.requests_to('/transfer$') == []
    assert world.repo.archived


async def test_move_refused_archives_in_place(world: World) -> None:
    world.fake.add_user('zed', orgs=['vault-org'])

    result = await world.archive(options={'archive_owner': 'vault-org'})

    assert result.status == 'failed'
    assert result.message == (
        'Archive of acme/billing-api is incomplete. Done: archived '
        'acme/billing-api. Not done: move acme/billing-api to vault-org: '
        'GitHub: 403 You do not have permission to create repositories in '
        'vault-org.; moving needs admin rights on the repository (classic '
        'token: `repo` scope; fine-grained or App token: "Administration: '
        'write") and permission to create repositories in vault-org.'
    )
    assert result.artifacts['repository'] == 'acme/billing-api'
    assert result.artifacts['archived'] == 'true'
    assert world.repo.archived


async def test_name_taken_in_the_archive_organization(world: World) -> None:
    world.fake.add_repository(
        'acme-archive', 'billing-api', collaborators={'alice': 'admin'}
    )

    result = await world.archive(options=ARCHIVE)

    assert result.status == 'failed'
    assert (
        'GitHub: 422 Validation Failed: name already exists on this account'
    ) in (result.message or '')
    assert world.repo.full_name == 'acme/billing-api'
    assert world.repo.archived


async def test_moved_but_not_archived(world: World, healing: Healing) -> None:
    world.fake.inject(
        Fault(
            path='/repos/acme-archive/billing-api$',
            method='PATCH',
            status=403,
            body={'message': 'Must have admin rights to Repository.'},
        )
    )
    host = world.host(ARCHIVE)
    ctx = healing(host, world.link())

    result = await host.lifecycle('archived', ctx=ctx)

    assert result.status == 'failed'
    assert result.message is not None
    assert result.message.startswith(
        'Archive of acme/billing-api is incomplete. Done: moved '
        'acme/billing-api to acme-archive/billing-api. Not done: archive '
        "acme-archive/billing-api: the token's user is not an admin of "
        'acme-archive/billing-api'
    )
    assert result.artifacts['moved_to'] == 'acme-archive'
    assert result.artifacts['archived'] == 'false'
    assert ctx.link_writeback is None  # type: ignore[attr-defined]


async def test_unavailable_after_the_move(world: World) -> None:
    world.fake.inject(
        Fault(
            path='/repos/acme-archive/billing-api$',
            method='PATCH',
            status=500,
            times=None,
        )
    )

    result = await world.archive(options=ARCHIVE)

    assert result.status == 'failed'
    assert result.message is not None
    assert 'Done: moved acme/billing-api to acme-archive/billing-api.' in (
        result.message
    )
    assert (
        'Not done: archive acme-archive/billing-api: PluginUnavailableError: '
        'GitHub answered 500'
    ) in result.message


async def test_transfer_slower_than_the_budget(world: World) -> None:
    settings(world.fake).transfer_delay = 60

    started = time.monotonic()
    result = await world.archive(options={**ARCHIVE, 'timeout_seconds': 2})

    assert time.monotonic() - started < 2.2
    assert result.status == 'failed'
    assert result.message == (
        'Archive of acme/billing-api is incomplete. Done: asked GitHub to '
        'move acme/billing-api to acme-archive (accepted, still in '
        'progress). Not done: archive it: the move had not completed '
        'within the 2 s budget; rerun once it shows at '
        'acme-archive/billing-api (rerunning is safe).'
    )
    assert world.fake.requests_to('/repos/acme/billing-api$', 'PATCH') == []


async def test_transfer_unavailable_is_not_repeated(world: World) -> None:
    world.fake.inject(Fault(path='/transfer$', status=502, times=None))

    result = await world.archive(options=ARCHIVE)

    assert result.status == 'failed'
    assert (result.message or '').startswith(
        'PluginUnavailableError: GitHub answered 502'
    )
    assert len(world.fake.requests_to('/transfer$')) == 1


async def test_unarchive_when_the_link_names_the_archive(
    world: World,
) -> None:
    """A healed link: the original owner is unknown."""
    move_repository(world.fake, world.repo, owner='acme-archive')
    world.repo.archived = True

    result = await world.unarchive(
        world.link('acme-archive/billing-api'), options=ARCHIVE
    )

    assert result.status == 'failed'
    assert result.message is not None
    assert 'Done: unarchived acme-archive/billing-api.' in result.message
    assert 'its original owner is unknown' in result.message
    assert "set the 'repository' option to its original owner/name" in (
        result.message
    )
    assert not world.repo.archived
    assert world.repo.owner == 'acme-archive'


async def test_unarchive_back_home_through_the_option(world: World) -> None:
    move_repository(world.fake, world.repo, owner='acme-archive')

    result = await world.unarchive(
        world.link('acme-archive/billing-api'),
        options={**ARCHIVE, 'repository': 'acme/billing-api'},
    )

    assert result.status == 'ok', result.message
    assert world.repo.full_name == 'acme/billing-api'


async def test_unarchive_leaves_a_repository_moved_elsewhere(
    world: World,
) -> None:
    move_repository(world.fake, world.repo, owner='acme-platform')
    world.repo.archived = True

    result = await world.unarchive(options=ARCHIVE)

    assert result.status == 'ok', result.message
    assert world.fake.requests_to('/transfer$') == []
    assert world.repo.full_name == 'acme-platform/billing-api'


async def test_unarchive_refused_still_moves_back(world: World) -> None:
    move_repository(world.fake, world.repo, owner='acme-archive')
    world.repo.archived = True
    world.fake.inject(
        Fault(
            path='/repos/acme-archive/billing-api$',
            method='PATCH',
            status=403,
            body={'message': 'Resource not accessible by integration'},
        )
    )

    result = await world.unarchive(options=ARCHIVE)

    assert result.status == 'failed'
    assert result.message is not None
    assert 'Done: moved acme-archive/billing-api to acme/billing-api.' in (
        result.message
    )
    assert 'Not done: unarchive acme-archive/billing-api: the token lacks' in (
        result.message
    )
    assert world.repo.full_name == 'acme/billing-api'
    assert world.repo.archived


async def test_round_trip_on_a_host_that_writes_links_back(
    world: World, healing: Healing
) -> None:
    # Issue 17 (5): a 2.11 host rewrites the project link as the plugin
    # asks; the archive must not lose the original owner, or unarchive
    # can never move the repository back.
    host = world.host(ARCHIVE, project={'project_links': world.link()})
    archived = await host.lifecycle(
        'archived', ctx=healing(host, dict(host.project['project_links']))
    )
    assert archived.status == 'ok', archived.message
    assert world.repo.full_name == 'acme-archive/billing-api'
    assert host.project['project_links'] == world.link()
    assert 'GitHub redirects' in (archived.message or '')

    unarchived = await host.lifecycle(
        'unarchived', ctx=healing(host, dict(host.project['project_links']))
    )
    assert unarchived.status == 'ok', unarchived.message
    assert world.repo.full_name == 'acme/billing-api'
    assert not world.repo.archived
    assert host.project['project_links'] == world.link()


async def test_renamed_then_archived_links_the_name_before_the_move(
    world: World, healing: Healing
) -> None:
    move_repository(world.fake, world.repo, name='billing')
    host = world.host(ARCHIVE)
    ctx = healing(host, world.link())

    result = await host.lifecycle('archived', ctx=ctx)

    assert result.status == 'ok', result.message
    assert world.repo.full_name == 'acme-archive/billing'
    writeback = ctx.link_writeback  # type: ignore[attr-defined]
    assert writeback.new_owner_repo == 'acme/billing'
    assert 'keeps naming acme/billing ' in (result.message or '')


async def test_round_trip_where_github_refuses_archived_transfers(
    world: World,
) -> None:
    # Whether GitHub transfers an archived repository is not settled: the
    # archiver moves before archiving and unarchives before moving back.
    settings(world.fake).refuse_archived_transfer = True
    archived = await world.archive(options=ARCHIVE)
    unarchived = await world.unarchive(options=ARCHIVE)
    assert (archived.status, unarchived.status) == ('ok', 'ok')
    assert world.repo.full_name == 'acme/billing-api'
    assert not world.repo.archived


async def test_unarchive_refused_and_archived_transfer_refused(
    world: World,
) -> None:
    settings(world.fake).refuse_archived_transfer = True
    move_repository(world.fake, world.repo, owner='acme-archive')
    world.repo.archived = True
    world.fake.inject(
        Fault(
            path='/repos/acme-archive/billing-api$',
            method='PATCH',
            status=403,
            body={'message': 'Must have admin rights to Repository.'},
        )
    )
    result = await world.unarchive(options=ARCHIVE)
    assert result.status == 'failed'
    assert 'move acme-archive/billing-api back to acme' in (
        result.message or ''
    )
    assert 'archived so is read-only' in (result.message or '')
    assert world.repo.full_name == 'acme-archive/billing-api'


async def test_polls_for_the_name_githubs_transfer_answer_gives(
    world: World,
) -> None:
    # GitHub's 202 describes the repository of the move: its name is
    # where the repository will be, whatever the plugin looked it up as.
    answer = {
        'id': world.repo.id,
        'name': 'billing-api-2026',
        'full_name': 'acme/billing-api-2026',
        'owner': {'login': 'acme'},
        'html_url': 'https://github.com/acme/billing-api-2026',
        'archived': False,
    }
    world.fake.inject(
        Fault(path='/transfer$', method='POST', status=202, body=answer)
    )
    result = await world.archive(options={**ARCHIVE, 'timeout_seconds': 1})
    assert result.status == 'failed'
    assert 'rerun once it shows at acme-archive/billing-api-2026' in (
        result.message or ''
    )
    assert world.fake.requests_to('/repos/acme-archive/billing-api-2026$')
    assert not world.fake.requests_to('/repos/acme-archive/billing-api$')


async def test_a_transfer_answer_that_is_not_a_repository_is_not_githubs(
    world: World,
) -> None:
    # GitHub's 202 always describes the repository: anything else came
    # from something in front of GitHub, and nothing is polled for.
    world.fake.inject(
        Fault(path='/transfer$', method='POST', status=202, body=['odd'])
    )
    result = await world.archive(options={**ARCHIVE, 'timeout_seconds': 1})
    assert result.status == 'failed'
    assert 'not a JSON object' in (result.message or '')
    assert not world.fake.requests_to('/repos/acme-archive/')


async def test_rerun_after_a_slow_transfer_keeps_the_original_owner(
    world: World, healing: Healing
) -> None:
    # Review of issue 17: the first archive times out while GitHub still
    # moves the repository; the rerun finds it in the archive organization
    # through GitHub's redirect. Writing that address back would lose the
    # original owner, and unarchive could never move it home.
    settings(world.fake).transfer_delay = 60
    first = await world.archive(options={**ARCHIVE, 'timeout_seconds': 1})
    assert first.status == 'failed'
    move_repository(world.fake, world.repo, owner='acme-archive')
    host = world.host(ARCHIVE)
    ctx = healing(host, world.link())

    rerun = await host.lifecycle('archived', ctx=ctx)

    assert rerun.status == 'ok', rerun.message
    assert world.repo.archived
    assert ctx.link_writeback is None  # type: ignore[attr-defined]
    assert 'The project keeps naming acme/billing-api' in (rerun.message or '')
    assert 'Update the project link' not in (rerun.message or '')


async def test_unarchive_whose_move_back_fails_keeps_the_original_owner(
    world: World, healing: Healing
) -> None:
    move_repository(world.fake, world.repo, owner='acme-archive')
    world.repo.archived = True
    world.fake.inject(
        Fault(
            path='/transfer$',
            method='POST',
            status=403,
            body={'message': 'Must have admin rights to Repository.'},
        )
    )
    host = world.host(ARCHIVE)
    ctx = healing(host, world.link())

    result = await host.lifecycle('unarchived', ctx=ctx)

    assert result.status == 'failed'
    assert not world.repo.archived
    assert world.repo.full_name == 'acme-archive/billing-api'
    # A rerun must still know where home is.
    assert ctx.link_writeback is None  # type: ignore[attr-defined]
    assert 'Update the project link' not in (result.message or '')
