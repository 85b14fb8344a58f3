"""The plugin through the Host model against a real OpenBao server."""

import asyncio
import pathlib
import re
import typing

import pytest
from imbi_plugin_testing import Host, HostResponse
from imbi_plugin_vault._host import (
    PluginAuthenticationFailed,
    PluginUnavailableError,
)

from .conftest import Bao

FOLDER = 'aweber/billing-api'
README = pathlib.Path(__file__).resolve().parents[2] / 'README.md'


async def _every_method(host: Host) -> list[HostResponse]:
    return [
        await host.list_keys(),
        await host.get_values(),
        await host.get_values(['k']),
        await host.set_value('k', 'v', 'string'),
        await host.delete_key('k'),
    ]


def _keys(response: HostResponse) -> list[str]:
    assert response.ok, response.body
    return [item['key'] for item in response.body]


@pytest.mark.parametrize('version', [1, 2])
async def test_round_trip_as_bao_kv_get_shows_it(
    bao: Bao, version: int
) -> None:
    mount = bao.mount(version)
    host = bao.host(mount_path=mount)
    assert (await host.set_value('LOG_LEVEL', 'debug', 'string')).ok
    assert (await host.set_value('db/password', 's3cr3t', 'secret')).ok
    shown = bao.kv_get(mount, f'{FOLDER}/LOG_LEVEL')
    assert shown is not None
    if version == 2:
        assert shown['data']['data'] == {'value': 'debug'}
        custom = shown['data']['metadata']['custom_metadata']
        assert custom == {'imbi_data_type': 'string'}
    else:
        assert shown['data'] == {
            'value': 'debug',
            'imbi_data_type': 'string',
        }
    listed = await host.list_keys()
    assert [(k['key'], k['secret']) for k in listed.body] == [
        ('LOG_LEVEL', False),
        ('db/password', True),
    ]
    values = await host.get_values()
    assert {v['key']: v['value'] for v in values.body} == {
        'LOG_LEVEL': 'debug',
        'db/password': 's3cr3t',
    }
    assert (await host.delete_key('db/password')).status == 204
    deleted = bao.kv_get(mount, f'{FOLDER}/db/password')
    if version == 2:  # soft: the version stays, marked deleted
        assert deleted is not None
        assert deleted['data']['data'] is None
        assert deleted['data']['metadata']['deletion_time']
    else:
        assert deleted is None
    assert _keys(await host.list_keys()) == ['LOG_LEVEL']
    assert (await host.delete_key('db/password')).status == 204


async def test_soft_delete_undelete_and_destroy(bao: Bao) -> None:
    mount = bao.mount(2)
    host = bao.host(mount_path=mount)
    await host.set_value('k', 'one', 'string')
    await host.set_value('k', 'two', 'string')
    assert (await host.delete_key('k')).status == 204
    assert _keys(await host.get_values()) == []
    bao.cli('kv', 'undelete', f'-mount={mount}', '-versions=2', f'{FOLDER}/k')
    values = await host.get_values(['k'])
    assert [v['value'] for v in values.body] == ['two']
    # A write after a soft delete names the deleted version (CAS).
    await host.delete_key('k')
    assert (await host.set_value('k', 'three', 'string')).ok
    assert [v['value'] for v in (await host.get_values()).body] == ['three']
    destroy = bao.host(mount_path=mount, delete_mode='destroy')
    assert (await destroy.delete_key('k')).status == 204
    gone = bao.cli(
        'kv', 'metadata', 'get', f'-mount={mount}', f'{FOLDER}/k', check=False
    )
    assert gone.returncode != 0


def _readme_policies() -> list[str]:
    return re.findall(r'```hcl\n(.*?)```', README.read_text(), re.DOTALL)


@pytest.mark.parametrize('version', [1, 2])
async def test_the_readme_policy_verbatim_is_enough(
    bao: Bao, version: int
) -> None:
    v2, v1 = _readme_policies()
    if version == 1 and bao.api('GET', 'sys/mounts/kv').status != 200:
        bao.cli('secrets', 'enable', '-path=kv', '-version=1', 'kv')
    token = bao.token(v1 if version == 1 else v2)
    project = bao.unique('project-')
    for mode in ('soft', 'destroy'):
        host = bao.host(
            token,
            mount_path='kv' if version == 1 else 'secret',
            path_template=f'${{org_slug}}/{project}',
            delete_mode=mode,
        )
        assert (await host.set_value('a/b', 'v', 'string')).ok
        assert (await host.set_value('a/b', 'w', 'secret')).ok
        assert (await host.set_value('a/b', 'x', 'string')).ok
        for response in await _every_method(host):
            assert response.ok, response.body


async def test_read_only_and_list_only_tokens_write_nothing(
    bao: Bao,
) -> None:
    mount = bao.mount(2)
    host = bao.host(mount_path=mount)
    await host.set_value('k', 'old', 'secret')
    read_only = bao.token(
        f'path "{mount}/data/*" {{ capabilities = ["read"] }}\n'
        f'path "{mount}/metadata/*" {{ capabilities = ["read", "list"] }}\n'
    )
    list_only = bao.token(
        f'path "{mount}/metadata/*" {{ capabilities = ["list"] }}\n'
    )
    reader = bao.host(read_only, mount_path=mount)
    assert [v['value'] for v in (await reader.get_values()).body] == ['old']
    for token in (read_only, list_only):
        limited = bao.host(token, mount_path=mount)
        for response in (
            await limited.set_value('k', 'new', 'string'),
            await limited.set_value('other', 'new', 'string'),
            await limited.delete_key('k'),
        ):
            assert isinstance(response.error, PluginAuthenticationFailed), (
                response.body
            )
            assert 'permission denied' in str(response.error)
    shown = bao.kv_get(mount, f'{FOLDER}/k')
    assert shown is not None
    assert shown['data']['data'] == {'value': 'old'}
    assert shown['data']['metadata']['version'] == 1
    assert bao.kv_get(mount, f'{FOLDER}/other') is None
    listed = bao.host(list_only, mount_path=mount)
    assert isinstance(
        (await listed.get_values(['k'])).error, PluginAuthenticationFailed
    )


async def test_data_writes_without_metadata_writes_change_nothing(
    bao: Bao,
) -> None:
    mount = bao.mount(2)
    await bao.host(mount_path=mount).set_value('k', 'old', 'secret')
    token = bao.token(
        f'path "{mount}/data/*" {{ capabilities = '
        '["read", "create", "update"] }\n'
        f'path "{mount}/metadata/*" {{ capabilities = ["read", "list"] }}\n'
    )
    response = await bao.host(token, mount_path=mount).set_value(
        'k', 'now-a-string', 'string'
    )
    assert isinstance(response.error, PluginAuthenticationFailed)
    shown = bao.kv_get(mount, f'{FOLDER}/k')
    assert shown is not None
    assert shown['data']['data'] == {'value': 'old'}


async def test_wrong_and_expired_tokens(
    bao: Bao, secret_scan: typing.Any
) -> None:
    mount = bao.mount(2)
    expiring = bao.token(ttl='2s')
    secret_scan.add(expiring)
    assert (await bao.host(expiring, mount_path=mount).list_keys()).ok
    await asyncio.sleep(2.5)
    for token in (expiring, 's.not-a-token-of-this-server'):
        secret_scan.add(token)
        for response in await _every_method(bao.host(token, mount_path=mount)):
            assert isinstance(response.error, PluginAuthenticationFailed)
            assert 'permission denied' in str(response.error)


async def test_namespaces_existing_nested_and_missing(bao: Bao) -> None:
    team = bao.unique('team-')
    bao.cli('namespace', 'create', team)
    bao.cli('namespace', 'create', 'sub', namespace=team)
    nested = f'{team}/sub'
    for namespace in (team, nested):
        mount = bao.mount(2, namespace=namespace)
        host = bao.host(mount_path=mount, namespace=namespace)
        assert (await host.set_value('k', namespace, 'string')).ok
        values = await host.get_values()
        assert [v['value'] for v in values.body] == [namespace]
        # Not in the root namespace: the mount does not exist there.
        root = await bao.host(mount_path=mount).list_keys()
        assert isinstance(root.error, (ValueError, PluginAuthenticationFailed))
    # The nested mount named from the parent namespace, as Vault routes
    # it: the mount lookup answers its path from the root.
    parent = bao.host(mount_path=f'sub/{mount}', namespace=team)
    values = await parent.get_values()
    assert values.ok, values.error
    assert [v['value'] for v in values.body] == [nested]
    missing = bao.host(mount_path='secret', namespace=f'{team}/nowhere')
    for response in await _every_method(missing):
        assert isinstance(response.error, ValueError)
        assert f"namespace '{team}/nowhere' does not exist" in str(
            response.error
        )


async def test_a_namespace_scoped_token(bao: Bao) -> None:
    team = bao.unique('scoped-')
    bao.cli('namespace', 'create', team)
    mount = bao.mount(2, namespace=team)
    token = bao.token(
        f'path "{mount}/*" {{ capabilities = '
        '["read", "list", "create", "update", "delete"] }\n',
        namespace=team,
    )
    inside = bao.host(token, mount_path=mount, namespace=team)
    assert (await inside.set_value('k', 'v', 'string')).ok
    assert _keys(await inside.list_keys()) == ['k']
    outside = await bao.host(token, mount_path='secret').list_keys()
    assert isinstance(outside.error, PluginAuthenticationFailed)


@pytest.mark.parametrize('actual', [1, 2])
async def test_a_mount_of_the_other_version_writes_nothing(
    bao: Bao, actual: int
) -> None:
    mount = bao.mount(actual)
    await bao.host(mount_path=mount).set_value('k', 'v', 'secret')
    before = bao.cli('kv', 'list', '-format=json', f'-mount={mount}', FOLDER)
    wrong = bao.host(mount_path=mount, kv_version=str(3 - actual))
    for response in await _every_method(wrong):
        assert isinstance(response.error, ValueError), response.body
        assert f'is KV version {actual}' in str(response.error)
    after = bao.cli('kv', 'list', '-format=json', f'-mount={mount}', FOLDER)
    assert after.stdout == before.stdout
    right = bao.host(mount_path=mount, kv_version=str(actual))
    assert _keys(await right.list_keys()) == ['k']


async def test_a_legacy_generic_mount_is_kv_version_1(bao: Bao) -> None:
    # A mount enabled as 'generic' keeps that type and no options.
    mount = bao.unique('generic-')
    bao.cli('secrets', 'enable', f'-path={mount}', 'generic')
    host = bao.host(mount_path=mount)
    assert (await host.set_value('k', 'v', 'string')).ok
    shown = bao.cli('kv', 'get', '-field=value', f'{mount}/{FOLDER}/k')
    assert shown.stdout.strip() == 'v'
    wrong = await bao.host(mount_path=mount, kv_version='2').list_keys()
    assert isinstance(wrong.error, ValueError)
    assert 'is KV version 1' in str(wrong.error)


async def test_a_url_with_a_path_is_not_an_empty_vault(bao: Bao) -> None:
    host = bao.host(url=f'{bao.url}/vault', mount_path='secret')
    for response in (await host.list_keys(), await host.get_values()):
        assert isinstance(response.error, PluginUnavailableError)
        assert "'url'" in str(response.error)


@pytest.mark.parametrize('writers', [2, 5, 10])
async def test_check_and_set_races(bao: Bao, writers: int) -> None:
    mount = bao.mount(2)
    host = bao.host(mount_path=mount)
    await host.set_value('k', 'start', 'string')
    responses = await asyncio.gather(
        *[
            bao.host(mount_path=mount).set_value('k', f'w{n}', 'string')
            for n in range(writers)
        ]
    )
    won = [r for r in responses if r.ok]
    for response in responses:
        if not response.ok:
            assert isinstance(response.error, PluginUnavailableError)
            assert 'changed while Imbi was writing' in str(response.error)
    assert won
    shown = bao.kv_get(mount, f'{FOLDER}/k')
    assert shown is not None
    # Every successful write is one version; no write was lost unseen.
    assert shown['data']['metadata']['version'] == 1 + len(won)
    assert shown['data']['data']['value'] in {f'w{n}' for n in range(writers)}


async def test_odd_and_long_keys(bao: Bao) -> None:
    mount = bao.mount(2)
    host = bao.host(mount_path=mount)
    odd = [
        'with space',
        'per%cent',
        'question?mark',
        'hash#tag',
        'plus+sign',
        'ünïcødé/键',
        'a/b/c/d/e',
        'x' * 512,
    ]
    for key in odd:
        assert (await host.set_value(key, key[:20], 'string')).ok, key
    assert _keys(await host.list_keys()) == sorted(odd)
    values = await host.get_values(odd)
    assert {v['key']: v['value'] for v in values.body} == {
        key: key[:20] for key in odd
    }
    shown = bao.kv_get(mount, f'{FOLDER}/question?mark')
    assert shown is not None
    assert shown['data']['data'] == {'value': 'question?mark'}


async def test_250_keys(bao: Bao) -> None:
    mount = bao.mount(2)
    for index in range(250):
        answer = bao.api(
            'POST',
            f'{mount}/data/{FOLDER}/k{index:03d}',
            {'data': {'value': str(index)}},
        )
        assert answer.status == 200
    host = bao.host(mount_path=mount, timeout_seconds=20)
    listed = await host.list_keys()
    assert len(_keys(listed)) == 250
    values = await host.get_values()
    assert len(values.body) == 250
    assert {v['value'] for v in values.body} == {str(i) for i in range(250)}


async def test_large_values(bao: Bao) -> None:
    mount = bao.mount(2)
    host = bao.host(mount_path=mount, timeout_seconds=20)
    big = 'x' * (4 * 1024 * 1024)
    assert (await host.set_value('big', big, 'secret')).ok
    values = await host.get_values(['big'])
    assert values.body[0]['value'] == big
    too_big = 'y' * (33 * 1024 * 1024)
    response = await host.set_value('big', too_big, 'secret')
    assert isinstance(response.error, ValueError)
    assert 'request body too large' in str(response.error)
    assert (await host.get_values(['big'])).body[0]['value'] == big


async def test_the_64_key_custom_metadata_cap(bao: Bao) -> None:
    mount = bao.mount(2)
    path = f'{FOLDER}/k'
    bao.api('POST', f'{mount}/data/{path}', {'data': {'value': 'old'}})
    full = {f'team{i}': 'x' for i in range(64)}
    answer = bao.api(
        'POST', f'{mount}/metadata/{path}', {'custom_metadata': full}
    )
    assert answer.status == 204
    host = bao.host(mount_path=mount)
    for data_type in ('string', 'secret'):
        response = await host.set_value('k', 'new', data_type)
        assert isinstance(response.error, ValueError), response.body
        assert 'at most 64 keys' in str(response.error)
    shown = bao.kv_get(mount, path)
    assert shown is not None
    assert shown['data']['data'] == {'value': 'old'}
