"""Demo: a project's GitHub repository follows the project's archive state.

Serves the GitHub stand-in and dispatches lifecycle events the way the
host does: archive in place (one read, one write), the same event again
(no write), unarchive, a renamed repository (redirect followed, new name
reported), archive into an archive organization (a 202 transfer that
completes after a delay, then the archive) and back on unarchive, a
token without admin rights (failed, naming the permission) and a project
without a linked repository (skipped).
"""

import typing

from imbi_plugin_testing.fakes.github import GitHubFake
from imbi_plugin_testing.fakes.github.repos import move_repository, settings
from imbi_plugin_testing.host import Host
from imbi_plugin_testing.scenarios import Steps

LINK = 'github-repository'


async def run(steps: Steps) -> None:
    from imbi_plugin_testing.generation import plugin_under_test

    ArchiverPlugin = plugin_under_test('imbi_plugin_archiver')

    fake = GitHubFake()
    fake.add_user('alice', orgs=['acme', 'acme-archive'])
    fake.add_user('bob', orgs=['acme'])
    admin = fake.issue_token('alice', ['repo']).value
    writer = fake.issue_token('bob', ['repo']).value
    collaborators = {'alice': 'admin', 'bob': 'write'}
    repo = fake.add_repository(
        'acme', 'billing-api', collaborators=dict(collaborators)
    )
    renamed = fake.add_repository(
        'acme', 'ledger', collaborators=dict(collaborators)
    )
    settings(fake).transfer_delay = 0.3

    with fake.serve() as url:

        def host(token: str = admin, **options: typing.Any) -> Host:
            return Host(
                ArchiverPlugin,
                plugin_options={'api_url': url, **options},
                credentials={'token': token},
            )

        links = {LINK: f'{url}/acme/billing-api'}

        async with steps.step('archive in place: one GET, one PATCH'):
            result = await host().lifecycle('archived', project_links=links)
            steps.check(result.status == 'ok', result.message)
            steps.check(repo.archived, 'the repository is not archived')
            steps.check(
                [r.method for r in fake.requests] == ['GET', 'PATCH'],
                f'unexpected requests: {fake.requests}',
            )

        async with steps.step('archive again: already archived, no write'):
            sent = len(fake.requests)
            result = await host().lifecycle('archived', project_links=links)
            steps.check(
                result.status == 'ok'
                and 'already archived' in (result.message or ''),
                result.message,
            )
            steps.check(len(fake.requests) == sent + 1, 'a write was sent')

        async with steps.step('unarchive'):
            result = await host().lifecycle('unarchived', project_links=links)
            steps.check(result.status == 'ok', result.message)
            steps.check(not repo.archived, 'the repository is archived')

        async with steps.step('renamed repository: redirect followed'):
            move_repository(fake, renamed, name='general-ledger')
            result = await host().lifecycle(
                'archived', project_links={LINK: f'{url}/acme/ledger'}
            )
            steps.check(
                result.status == 'ok'
                and result.artifacts.get('repository')
                == 'acme/general-ledger',
                f'{result.status}: {result.message}',
            )

        async with steps.step('archive into acme-archive: move, then archive'):
            result = await host(archive_owner='acme-archive').lifecycle(
                'archived', project_links=links
            )
            steps.check(result.status == 'ok', result.message)
            steps.check(
                repo.full_name == 'acme-archive/billing-api' and repo.archived,
                f'repository is {repo.full_name}, archived={repo.archived}',
            )

        async with steps.step('unarchive: found, unarchived, moved back'):
            result = await host(archive_owner='acme-archive').lifecycle(
                'unarchived', project_links=links
            )
            steps.check(result.status == 'ok', result.message)
            steps.check(
                repo.full_name == 'acme/billing-api' and not repo.archived,
                f'repository is {repo.full_name}, archived={repo.archived}',
            )

        async with steps.step('no admin rights: failed, naming the right'):
            result = await host(writer).lifecycle(
                'archived', project_links=links
            )
            steps.check(
                result.status == 'failed'
                and 'Administration: write' in (result.message or ''),
                f'{result.status}: {result.message}',
            )

        async with steps.step('no repository linked: skipped'):
            sent = len(fake.requests)
            result = await host().lifecycle('archived', project_links={})
            steps.check(result.status == 'skipped', result.message)
            steps.check(len(fake.requests) == sent, 'a request was sent')
