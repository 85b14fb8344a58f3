"""archiver through imbi-api's own lifecycle dispatch.

The project routes that dispatch (archive / unarchive) first rewrite the
Project node, which needs much more of the graph than the stand-in
holds: the test calls the host's ``dispatch_lifecycle`` itself, as
those routes do once the change is committed.
"""

import collections.abc
import typing

import pytest
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.github import GitHubFake

Imbi = typing.Any


@pytest.fixture
def archiver(
    imbi: Imbi, secret_scan: SecretScan
) -> collections.abc.Iterator[tuple[Imbi, typing.Any]]:
    fake = GitHubFake()
    fake.add_user('alice', orgs=['acme'])
    token = fake.issue_token('alice', ['repo']).value
    secret_scan.add(token)
    repo = fake.add_repository(
        'acme', 'billing-api', collaborators={'alice': 'admin'}
    )
    with fake.serve() as url:
        imbi.graph.links = {'github-repository': f'{url}/acme/billing-api'}
        imbi.graph.assign(
            'plugin-archiver',
            'archiver',
            'lifecycle',
            credentials={'token': token},
            plugin_options={'api_url': url},
        )
        yield imbi, repo


def _dispatch(imbi: Imbi, event: str) -> list[typing.Any]:
    from imbi_api.plugins.lifecycle_dispatch import dispatch_lifecycle

    auth = imbi.run(imbi.current_user)
    return typing.cast(
        list[typing.Any],
        imbi.run(
            dispatch_lifecycle,
            imbi.graph,
            'p-billing',
            'aweber',
            event,
            auth,
        ),
    )


def test_archive_and_unarchive(archiver: tuple[Imbi, typing.Any]) -> None:
    imbi, repo = archiver
    (archived,) = _dispatch(imbi, 'archived')
    assert (archived.plugin_slug, archived.status) == ('archiver', 'ok')
    assert repo.archived is True
    (unarchived,) = _dispatch(imbi, 'unarchived')
    assert unarchived.status == 'ok', unarchived.message
    assert repo.archived is False


def test_a_refused_token_is_a_failed_result(
    archiver: tuple[Imbi, typing.Any],
) -> None:
    imbi, repo = archiver
    imbi.graph.store_credentials(
        'plugin-archiver', {'token': 'ghp_not-a-known-token-000000000000000'}
    )
    (result,) = _dispatch(imbi, 'archived')
    assert result.status == 'failed'
    assert repo.archived is False
