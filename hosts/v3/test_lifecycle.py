"""archiver through imbi-api 2.41's own lifecycle dispatch.

The archive routes first rewrite the Project node, which the stand-in
does not hold: the test awaits the host's ``dispatch_lifecycle`` as
those routes do; ``POST …/lifecycle/sync`` (``updated``) is a route.
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
        imbi.integrate(
            'archiver',
            options={'api_url': url},
            credentials={'token': token},
            capabilities={'lifecycle': {}},
        )
        yield imbi, repo


def _dispatch(imbi: Imbi, event: str) -> list[typing.Any]:
    from imbi.api.plugins.lifecycle_dispatch import dispatch_lifecycle

    auth = imbi.run(imbi.current_user)
    return typing.cast(
        list[typing.Any],
        imbi.run(
            dispatch_lifecycle, imbi.graph, 'p-billing', 'aweber', event, auth
        ),
    )


def test_archived_then_created(archiver: tuple[Imbi, typing.Any]) -> None:
    imbi, repo = archiver
    (archived,) = _dispatch(imbi, 'archived')
    assert (archived.plugin_slug, archived.status) == ('archiver', 'ok')
    assert repo.archived is True
    (created,) = _dispatch(imbi, 'created')
    assert created.status == 'skipped', created
    (unarchived,) = _dispatch(imbi, 'unarchived')
    assert unarchived.status == 'ok', unarchived.message
    assert repo.archived is False
    synced = imbi.client.post(imbi.url('/lifecycle/sync'))
    assert synced.status_code == 200, synced.text
    assert synced.json()['skipped'] == 1


def test_a_refused_token_is_a_failed_result(
    archiver: tuple[Imbi, typing.Any],
) -> None:
    imbi, repo = archiver
    patched = imbi.client.put(
        '/api/organizations/aweber/integrations/archiver-main/credentials',
        json={'credentials': {'token': 'ghp_not-a-known-token-0000000000000'}},
    )
    assert patched.status_code == 200, patched.text
    (result,) = _dispatch(imbi, 'archived')
    assert result.status == 'failed'
    assert repo.archived is False
