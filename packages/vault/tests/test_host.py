"""The four operations end to end through the host model, KV v1 and v2."""

import datetime
import json
import logging

import pytest
from imbi_plugin_testing import Host, SecretScan

from .conftest import FOLDER, Vault


async def test_set_list_get_delete(vault: Vault, secret_value: str) -> None:
    host = vault.host()
    created = await host.set_value('database/password', secret_value, 'secret')
    assert created.status == 200, created.body
    assert created.body['key'] == 'database/password'
    assert created.body['secret'] is True
    plain = await host.set_value('LOG_LEVEL', 'debug', 'string')
    assert plain.body['secret'] is False

    listed = await host.list_keys()
    assert listed.status == 200
    assert [(k['key'], k['data_type'], k['secret']) for k in listed.body] == [
        ('LOG_LEVEL', 'string', False),
        ('database/password', 'secret', True),
    ]

    values = await host.get_values()
    assert {v['key']: v['value'] for v in values.body} == {
        'LOG_LEVEL': 'debug',
        'database/password': secret_value,
    }
    assert all(
        v['secret'] == (v['data_type'] == 'secret') for v in values.body
    )

    deleted = await host.delete_key('database/password')
    assert deleted.status == 204
    again = await host.list_keys()
    assert [k['key'] for k in again.body] == ['LOG_LEVEL']
    fetched = await host.get_values(['database/password', 'LOG_LEVEL'])
    assert [v['key'] for v in fetched.body] == ['LOG_LEVEL']


async def test_storage_layout(vault: Vault) -> None:
    await vault.host().set_value('feature/flag', 'on', 'string')
    if vault.kv_version == 2:
        assert vault.stored('feature/flag') == {'value': 'on'}
        entry = vault.fake.entry('secret', f'{FOLDER}/feature/flag')
        assert entry.custom_metadata == {'imbi_data_type': 'string'}
    else:
        assert vault.stored('feature/flag') == {
            'value': 'on',
            'imbi_data_type': 'string',
        }


async def test_update_changes_value_and_type(vault: Vault) -> None:
    host = vault.host()
    await host.set_value('API_URL', 'http://a', 'string')
    await host.set_value('API_URL', 'http://b', 'secret')
    values = await host.get_values(['API_URL'])
    assert values.body == [
        {
            'key': 'API_URL',
            'data_type': 'secret',
            'secret': True,
            'value': 'http://b',
            'last_modified': values.body[0]['last_modified'],
        }
    ]
    await host.set_value('API_URL', 'http://c', 'string')
    listed = await host.list_keys()
    assert listed.body[0]['data_type'] == 'string'


async def test_key_without_recorded_type_is_secret(vault: Vault) -> None:
    vault.put('untyped', {'value': 'x'})
    listed = await vault.host().list_keys()
    assert listed.body[0]['data_type'] == 'secret'
    assert listed.body[0]['secret'] is True


async def test_unknown_recorded_type_is_secret(vault: Vault) -> None:
    vault.put_imbi('odd', 'x', 'integer')
    values = await vault.host().get_values()
    assert values.body[0]['data_type'] == 'secret'


async def test_foreign_secret_is_shown_as_json(
    vault: Vault, secret_scan: SecretScan
) -> None:
    secret_scan.add('hunter22')
    vault.put('db', {'username': 'app', 'password': 'hunter22', 'port': 5432})
    host = vault.host()
    values = await host.get_values(['db'])
    assert values.body[0]['data_type'] == 'secret'
    assert values.body[0]['secret'] is True
    assert values.body[0]['value'] == json.dumps(
        {'password': 'hunter22', 'port': 5432, 'username': 'app'},
        separators=(',', ':'),
    )
    refused = await host.set_value('db', 'overwrite', 'secret')
    assert refused.status == 500
    assert isinstance(refused.error, ValueError)
    assert 'did not write' in str(refused.error)
    assert vault.stored('db') == {
        'username': 'app',
        'password': 'hunter22',
        'port': 5432,
    }


async def test_foreign_value_with_extra_field_is_not_overwritten(
    vault2: Vault,
) -> None:
    vault2.put('token', {'value': 'abc', 'ttl': '1h'})
    refused = await vault2.host().set_value('token', 'new', 'string')
    assert isinstance(refused.error, ValueError)
    assert vault2.stored('token') == {'value': 'abc', 'ttl': '1h'}


async def test_nested_folders_are_walked(vault: Vault) -> None:
    for key in ('a', 'b/c', 'b/d/e', 'b/d/f/g', 'z/y'):
        vault.put_imbi(key, key.upper(), 'string')
    # Outside the project folder: never listed.
    vault.fake.put(vault.mount, 'aweber/other-project/a', {'value': 'no'})
    host = vault.host(max_concurrency=2)
    listed = await host.list_keys()
    assert [k['key'] for k in listed.body] == [
        'a',
        'b/c',
        'b/d/e',
        'b/d/f/g',
        'z/y',
    ]
    values = await host.get_values()
    assert {v['key']: v['value'] for v in values.body} == {
        'a': 'A',
        'b/c': 'B/C',
        'b/d/e': 'B/D/E',
        'b/d/f/g': 'B/D/F/G',
        'z/y': 'Z/Y',
    }


async def test_key_and_folder_with_the_same_name(vault: Vault) -> None:
    vault.put_imbi('db', 'one', 'string')
    vault.put_imbi('db/host', 'two', 'string')
    listed = await vault.host().list_keys()
    assert [k['key'] for k in listed.body] == ['db', 'db/host']


async def test_absent_prefix_is_empty(vault: Vault) -> None:
    host = vault.host()
    assert (await host.list_keys()).body == []
    assert (await host.get_values()).body == []
    assert (await host.get_values(['missing'])).body == []


async def test_get_values_empty_list_makes_no_request(vault: Vault) -> None:
    response = await vault.host().get_values([])
    assert response.body == []
    assert vault.fake.requests == []


async def test_get_values_requested_duplicates_once(vault: Vault) -> None:
    vault.put_imbi('a', '1', 'string')
    response = await vault.host().get_values(['a', 'missing', 'a'])
    assert [v['key'] for v in response.body] == ['a']
    assert len(vault.fake.requests_to(r'/a$')) == 1


async def test_delete_is_idempotent(
    vault: Vault, caplog: pytest.LogCaptureFixture
) -> None:
    host = vault.host()
    with caplog.at_level(logging.DEBUG, logger='imbi_plugin_vault'):
        first = await host.delete_key('never/existed')
    assert first.status == 204
    assert first.error is None
    assert not [r for r in caplog.records if r.exc_info]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    await host.set_value('k', 'v', 'string')
    assert (await host.delete_key('k')).status == 204
    assert (await host.delete_key('k')).status == 204
    assert vault.stored('k') is None


async def test_special_characters_in_keys(vault: Vault) -> None:
    host = vault.host()
    key = 'dir with space/ü%?#&=+'
    await host.set_value(key, 'v', 'string')
    listed = await host.list_keys()
    assert [k['key'] for k in listed.body] == [key]
    values = await host.get_values([key])
    assert values.body[0]['value'] == 'v'


async def test_template_variables(vault: Vault) -> None:
    host = vault.host(path_template='teams/${team_slug}/${environment}')
    await host.set_value('k', 'v', 'string', environment='staging')
    assert vault.fake.secret(vault.mount, 'teams/payments/staging/k') == (
        {'value': 'v'}
        if vault.kv_version == 2
        else {'value': 'v', 'imbi_data_type': 'string'}
    )
    listed = await host.list_keys(environment='staging')
    assert [k['key'] for k in listed.body] == ['k']
    assert (await host.list_keys(environment='production')).body == []


async def test_options_as_the_host_may_pass_them(vault: Vault) -> None:
    host = vault.host(
        kv_version=vault.kv_version,
        max_concurrency='3',
        timeout_seconds='4',
        verify_tls='false',
        delete_mode='',
    )
    assert (await host.set_value('k', 'v', 'string')).status == 200


async def test_project_options_override_plugin_options(vault: Vault) -> None:
    host = Host(
        vault.host().plugin,
        plugin_options=vault.options(mount_path='nope'),
        project_options={'mount_path': vault.mount},
        credentials={'token': vault.token},
    )
    assert (await host.set_value('k', 'v', 'string')).status == 200


async def test_namespace_header(vault2: Vault) -> None:
    vault2.fake.mount('kv-team', 2, namespace='team-a')
    host = vault2.host(namespace='team-a/', mount_path='kv-team')
    assert (await host.set_value('k', 'v', 'string')).status == 200
    assert vault2.fake.secret('kv-team', f'{FOLDER}/k', namespace='team-a')
    assert {
        r.headers.get('x-vault-namespace') for r in vault2.fake.requests
    } == {'team-a'}
    root = vault2.host(mount_path='kv-team')
    missing = await root.list_keys()
    assert isinstance(missing.error, ValueError)


async def test_token_only_in_the_header(vault: Vault) -> None:
    await vault.host().set_value('k', 'v', 'string')
    await vault.host().list_keys()
    for request in vault.fake.requests:
        assert request.headers['x-vault-token'] == vault.token
        assert vault.token not in request.url_text


async def test_last_modified_is_aware_utc(vault2: Vault) -> None:
    host = vault2.host()
    before = datetime.datetime.now(datetime.UTC)
    created = await host.set_value('k', 'v', 'string')
    stamp = created.result.last_modified
    assert stamp.tzinfo is not None
    assert stamp.utcoffset() == datetime.timedelta(0)
    assert before - datetime.timedelta(seconds=1) <= stamp
    listed = await host.list_keys()
    entry = vault2.fake.entry('secret', f'{FOLDER}/k')
    assert listed.result[0].last_modified == datetime.datetime.fromisoformat(
        entry.updated_time
    )


async def test_kv1_has_no_timestamps(vault1: Vault) -> None:
    host = vault1.host()
    created = await host.set_value('k', 'v', 'string')
    assert created.result.last_modified is None
    assert (await host.list_keys()).result[0].last_modified is None


async def test_no_environment_with_an_environment_folder(
    vault: Vault,
) -> None:
    """The host passes ctx.environment None when the request names no
    environment: the folder cannot be chosen, and nothing is sent."""
    host = vault.host(path_template='teams/${team_slug}/${environment}')
    before = len(vault.fake.requests)
    for response in (
        await host.list_keys(),
        await host.get_values(['k']),
        await host.set_value('k', 'v', 'string'),
        await host.delete_key('k'),
    ):
        assert response.status == 500
        assert isinstance(response.error, ValueError)
        assert 'choose an environment' in str(response.error)
    assert len(vault.fake.requests) == before
