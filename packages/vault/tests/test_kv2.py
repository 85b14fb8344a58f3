"""KV v2 specifics: versions, deletes, check-and-set, metadata, listing."""

import json
import typing

import pytest
from imbi_plugin_testing import Fault
from imbi_plugin_vault import client
from imbi_plugin_vault._host import PluginUnavailableError

from .conftest import FOLDER, Vault

CAS_MISMATCH = {
    'errors': ['check-and-set parameter did not match the current version']
}


def _cas_sent(vault: Vault) -> list[int | None]:
    return [
        json.loads(r.body)['options'].get('cas')
        for r in vault.fake.requests_to(r'/secret/data/', 'POST')
    ]


async def test_soft_deleted_and_destroyed_keys_are_hidden(
    vault2: Vault,
) -> None:
    for key in ('live', 'deleted', 'destroyed', 'old-live-new-deleted'):
        vault2.put_imbi(key, key, 'string')
    vault2.put_imbi('old-live-new-deleted', 'newer', 'string')
    vault2.fake.soft_delete('secret', f'{FOLDER}/deleted')
    vault2.fake.destroy('secret', f'{FOLDER}/destroyed')
    vault2.fake.soft_delete('secret', f'{FOLDER}/old-live-new-deleted')
    host = vault2.host()
    assert [k['key'] for k in (await host.list_keys()).body] == ['live']
    assert [v['key'] for v in (await host.get_values()).body] == ['live']
    requested = await host.get_values(
        ['live', 'deleted', 'destroyed', 'old-live-new-deleted']
    )
    assert [v['key'] for v in requested.body] == ['live']


async def test_metadata_only_entry_is_not_listed(vault2: Vault) -> None:
    from hvac import Client

    hvac = Client(url=vault2.url, token=vault2.token)
    hvac.secrets.kv.v2.update_metadata(
        f'{FOLDER}/planned', custom_metadata={'owner': 'ops'}
    )
    host = vault2.host()
    assert (await host.list_keys()).body == []
    assert (await host.set_value('planned', 'v', 'string')).ok
    assert _cas_sent(vault2) == [0]
    entry = vault2.fake.entry('secret', f'{FOLDER}/planned')
    assert entry.custom_metadata == {
        'owner': 'ops',
        'imbi_data_type': 'string',
    }


async def test_list_reads_metadata_only(vault2: Vault) -> None:
    vault2.put_imbi('a', 'x', 'string')
    vault2.put_imbi('b/c', 'y', 'secret')
    listed = await vault2.host().list_keys()
    assert [(k['key'], k['data_type']) for k in listed.body] == [
        ('a', 'string'),
        ('b/c', 'secret'),
    ]
    assert vault2.fake.requests_to('/secret/data/') == []


async def test_listing_uses_get_with_list_true(vault: Vault) -> None:
    vault.put_imbi('a/b', 'x', 'string')
    await vault.host().list_keys()
    await vault.host().get_values()
    methods = {r.method for r in vault.fake.requests}
    assert 'LIST' not in methods
    listings = [r for r in vault.fake.requests if r.query == 'list=true']
    assert [r.method for r in listings] == ['GET'] * 4


async def test_soft_delete_is_recoverable(vault2: Vault) -> None:
    host = vault2.host()
    await host.set_value('k', 'v1', 'string')
    await host.set_value('k', 'v2', 'string')
    await host.delete_key('k')
    assert (await host.list_keys()).body == []
    entry = vault2.fake.entry('secret', f'{FOLDER}/k')
    assert entry.versions[1].data == {'value': 'v1'}
    assert entry.versions[2].deletion_time
    assert vault2.fake.requests_to(r'/secret/metadata/', 'DELETE') == []
    # An operator undeletes it with `vault kv undelete -versions=2`.
    entry.versions[2].deletion_time = ''
    values = await host.get_values()
    assert [v['value'] for v in values.body] == ['v2']


async def test_delete_mode_destroy_removes_every_version(
    vault2: Vault,
) -> None:
    host = vault2.host(delete_mode='destroy')
    await host.set_value('k', 'v1', 'string')
    await host.set_value('k', 'v2', 'string')
    assert (await host.delete_key('k')).status == 204
    with pytest.raises(KeyError):
        vault2.fake.entry('secret', f'{FOLDER}/k')
    assert (await host.delete_key('k')).status == 204


async def test_set_uses_check_and_set_with_the_version_read(
    vault2: Vault,
) -> None:
    host = vault2.host()
    await host.set_value('k', 'a', 'string')
    await host.set_value('k', 'b', 'string')
    vault2.fake.soft_delete('secret', f'{FOLDER}/k')
    await host.set_value('k', 'c', 'string')
    assert _cas_sent(vault2) == [0, 1, 2]
    assert vault2.stored('k') == {'value': 'c'}


async def test_cas_required_mount(vault2: Vault) -> None:
    vault2.fake.mount('strict', 2, cas_required=True)
    host = vault2.host(mount_path='strict')
    assert (await host.set_value('k', 'a', 'string')).ok
    assert (await host.set_value('k', 'b', 'secret')).ok
    values = await host.get_values()
    assert [(v['value'], v['data_type']) for v in values.body] == [
        ('b', 'secret')
    ]


async def test_cas_mismatch_is_retried_once(
    vault2: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone writes the key between Imbi's read and write."""
    vault2.put_imbi('k', 'theirs', 'string')
    real_read = client.VaultClient._read_v2
    raced: list[str] = []

    def racing_read(self: client.VaultClient, key: str) -> typing.Any:
        read = real_read(self, key)
        if not raced:
            raced.append(key)
            vault2.put('k', {'value': 'concurrent'})
        return read

    monkeypatch.setattr(client.VaultClient, '_read_v2', racing_read)
    response = await vault2.host().set_value('k', 'ours', 'string')
    assert response.ok
    assert _cas_sent(vault2) == [1, 2]
    assert vault2.stored('k') == {'value': 'ours'}


async def test_second_cas_mismatch_is_unavailable(vault2: Vault) -> None:
    vault2.fake.inject(
        Fault(
            path='/secret/data/',
            method='POST',
            status=400,
            body=CAS_MISMATCH,
            times=2,
        )
    )
    response = await vault2.host().set_value('k', 'v', 'string')
    assert isinstance(response.error, PluginUnavailableError)
    assert 'try again' in str(response.error)
    assert len(_cas_sent(vault2)) == 2
    assert vault2.stored('k') is None


async def test_custom_metadata_is_merged_and_settings_kept(
    vault2: Vault,
) -> None:
    vault2.put(
        'k', {'value': 'v'}, {'owner': 'payments', 'imbi_data_type': 'x'}
    )
    entry = vault2.fake.entry('secret', f'{FOLDER}/k')
    entry.max_versions = 3
    entry.cas_required = True
    entry.delete_version_after = '720h0m0s'
    assert (await vault2.host().set_value('k', 'w', 'secret')).ok
    assert entry.custom_metadata == {
        'owner': 'payments',
        'imbi_data_type': 'secret',
    }
    assert (entry.max_versions, entry.cas_required) == (3, True)
    assert entry.delete_version_after == '720h0m0s'


async def test_type_unchanged_writes_no_metadata(vault2: Vault) -> None:
    host = vault2.host()
    await host.set_value('k', 'a', 'string')
    before = len(vault2.fake.requests_to('/secret/metadata/', 'POST'))
    await host.set_value('k', 'b', 'string')
    after = len(vault2.fake.requests_to('/secret/metadata/', 'POST'))
    assert (before, after) == (1, 1)


@pytest.mark.parametrize(
    ('old', 'new', 'order'),
    [
        ('string', 'secret', ['metadata', 'data']),
        # The unchanged metadata write first: a token that may not write
        # metadata is refused before the value is written.
        ('secret', 'string', ['metadata', 'data', 'metadata']),
        # No version yet: no value the new type could expose.
        (None, 'string', ['metadata', 'data']),
        (None, 'secret', ['metadata', 'data']),
    ],
)
async def test_write_order_never_exposes_a_secret(
    vault2: Vault, old: str | None, new: str, order: list[str]
) -> None:
    if old is not None:
        vault2.put_imbi('k', 'old', old)
    await vault2.host().set_value('k', 'new', new)
    writes = [
        r.path.split('/')[3]
        for r in vault2.fake.requests
        if r.method == 'POST'
    ]
    assert writes == order


async def test_failed_type_write_leaves_no_secret_under_string(
    vault2: Vault,
) -> None:
    vault2.put_imbi('k', 'public', 'string')
    vault2.fake.inject(
        Fault(path='/secret/metadata/', method='POST', status=500)
    )
    response = await vault2.host().set_value('k', 'hidden', 'secret')
    assert isinstance(response.error, PluginUnavailableError)
    # The value was not written: the metadata write comes first.
    assert vault2.stored('k') == {'value': 'public'}


async def test_set_returns_vaults_timestamp(vault2: Vault) -> None:
    response = await vault2.host().set_value('k', 'v', 'string')
    entry = vault2.fake.entry('secret', f'{FOLDER}/k')
    assert response.result.last_modified.isoformat().startswith(
        entry.versions[1].created_time[:26]
    )
