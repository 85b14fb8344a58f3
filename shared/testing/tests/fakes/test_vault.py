"""The Vault KV stand-in: API shapes, versions, ACLs, errors, hvac."""

import collections.abc
import typing

import httpx
import hvac
import hvac.exceptions
import pytest
from imbi_plugin_testing.fakes.vault import VaultFake, rfc3339

ROOT = 'hvs.root-token-for-fake-tests'


@pytest.fixture
def fake() -> VaultFake:
    fake = VaultFake(ROOT)
    fake.mount('secret', 2)
    fake.mount('kv', 1)
    return fake


@pytest.fixture
async def http(
    fake: VaultFake,
) -> collections.abc.AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=fake.transport(),
        base_url='http://vault.test/v1',
        headers={'X-Vault-Token': ROOT},
    ) as client:
        yield client


def _errors(response: httpx.Response) -> list[str]:
    body: dict[str, list[str]] = response.json()
    return body['errors']


async def test_rfc3339_nanoseconds() -> None:
    assert rfc3339(1_521_685_446_945_319_214) == (
        '2018-03-22T02:24:06.945319214Z'
    )


async def test_envelope_and_kv2_round_trip(http: httpx.AsyncClient) -> None:
    written = await http.post(
        '/secret/data/app/db', json={'data': {'value': 'x'}}
    )
    assert written.status_code == 200
    body = written.json()
    assert set(body) == {
        'request_id',
        'lease_id',
        'renewable',
        'lease_duration',
        'data',
        'wrap_info',
        'warnings',
        'auth',
    }
    assert body['data']['version'] == 1
    assert body['data']['deletion_time'] == ''
    assert body['data']['destroyed'] is False
    assert body['data']['created_time'].endswith('Z')
    read = await http.get('/secret/data/app/db')
    assert read.headers['content-type'] == 'application/json'
    assert read.json()['data']['data'] == {'value': 'x'}
    assert read.json()['data']['metadata']['version'] == 1


async def test_kv2_versions_and_history(
    fake: VaultFake, http: httpx.AsyncClient
) -> None:
    for value in ('a', 'b', 'c'):
        await http.post('/secret/data/k', json={'data': {'value': value}})
    old = await http.get('/secret/data/k', params={'version': '1'})
    assert old.json()['data']['data'] == {'value': 'a'}
    latest = await http.get('/secret/data/k', params={'version': '0'})
    assert latest.json()['data']['data'] == {'value': 'c'}
    missing = await http.get('/secret/data/k', params={'version': '9'})
    assert missing.status_code == 404
    assert _errors(missing) == []
    bad = await http.get('/secret/data/k', params={'version': 'x'})
    assert bad.status_code == 400
    meta = (await http.get('/secret/metadata/k')).json()['data']
    assert meta['current_version'] == 3
    # OpenBao reports 0 until max_versions prunes a version.
    assert meta['oldest_version'] == 0
    assert sorted(meta['versions']) == ['1', '2', '3']
    assert meta['updated_time'] == meta['versions']['3']['created_time']
    assert meta['created_time'] == meta['versions']['1']['created_time']


async def test_max_versions_prunes_the_oldest(http: httpx.AsyncClient) -> None:
    await http.post('/secret/metadata/k', json={'max_versions': 2})
    for value in ('a', 'b', 'c'):
        await http.post('/secret/data/k', json={'data': {'value': value}})
    meta = (await http.get('/secret/metadata/k')).json()['data']
    assert sorted(meta['versions']) == ['2', '3']
    assert meta['oldest_version'] == 2


async def test_mount_config(fake: VaultFake, http: httpx.AsyncClient) -> None:
    assert (
        await http.post(
            '/secret/config', json={'cas_required': True, 'max_versions': 5}
        )
    ).status_code == 204
    config = (await http.get('/secret/config')).json()['data']
    assert config == {
        'max_versions': 5,
        'cas_required': True,
        'delete_version_after': '0s',
    }
    required = await http.post('/secret/data/k', json={'data': {'a': 'b'}})
    assert required.status_code == 400
    assert _errors(required) == [
        'check-and-set parameter required for this call'
    ]
    assert (await http.delete('/secret/config')).status_code == 405


async def test_check_and_set(http: httpx.AsyncClient) -> None:
    first = await http.post(
        '/secret/data/k', json={'options': {'cas': 0}, 'data': {'v': '1'}}
    )
    assert first.status_code == 200
    again = await http.post(
        '/secret/data/k', json={'options': {'cas': 0}, 'data': {'v': '2'}}
    )
    assert again.status_code == 400
    assert _errors(again) == [
        'check-and-set parameter did not match the current version'
    ]
    second = await http.post(
        '/secret/data/k', json={'options': {'cas': 1}, 'data': {'v': '2'}}
    )
    assert second.json()['data']['version'] == 2
    wrong_type = await http.post(
        '/secret/data/k', json={'options': {'cas': '2'}, 'data': {'v': '3'}}
    )
    assert wrong_type.status_code == 400


async def test_per_key_cas_required(http: httpx.AsyncClient) -> None:
    await http.post('/secret/metadata/k', json={'cas_required': True})
    refused = await http.post('/secret/data/k', json={'data': {'v': '1'}})
    assert refused.status_code == 400
    accepted = await http.post(
        '/secret/data/k', json={'options': {'cas': 0}, 'data': {'v': '1'}}
    )
    assert accepted.status_code == 200


async def test_soft_delete_undelete_destroy(http: httpx.AsyncClient) -> None:
    await http.post('/secret/data/k', json={'data': {'v': '1'}})
    await http.post('/secret/data/k', json={'data': {'v': '2'}})
    assert (await http.delete('/secret/data/k')).status_code == 204
    deleted = await http.get('/secret/data/k')
    assert deleted.status_code == 404
    meta = deleted.json()['data']['metadata']
    assert meta['deletion_time']
    assert meta['version'] == 2
    assert deleted.json()['data']['data'] is None
    # Deleting again keeps the first deletion time.
    await http.delete('/secret/data/k')
    assert (await http.get('/secret/data/k')).json()['data']['metadata'][
        'deletion_time'
    ] == meta['deletion_time']
    undeleted = await http.post('/secret/undelete/k', json={'versions': [2]})
    assert undeleted.status_code == 204
    assert (await http.get('/secret/data/k')).json()['data']['data'] == {
        'v': '2'
    }
    await http.post('/secret/destroy/k', json={'versions': [2, 7]})
    destroyed = await http.get('/secret/data/k')
    assert destroyed.status_code == 404
    assert destroyed.json()['data']['metadata']['destroyed'] is True
    # A destroyed version cannot be undeleted.
    await http.post('/secret/undelete/k', json={'versions': [2]})
    assert (await http.get('/secret/data/k')).status_code == 404
    await http.post('/secret/delete/k', json={'versions': [1]})
    assert (
        await http.get('/secret/data/k', params={'version': 1})
    ).status_code == 404
    no_versions = await http.post('/secret/delete/k', json={})
    assert no_versions.status_code == 400
    absent = await http.post('/secret/delete/none', json={'versions': [1]})
    assert absent.status_code == 204
    assert (await http.get('/secret/delete/k')).status_code == 405


async def test_delete_metadata_removes_everything(
    http: httpx.AsyncClient,
) -> None:
    await http.post('/secret/data/k', json={'data': {'v': '1'}})
    assert (await http.delete('/secret/metadata/k')).status_code == 204
    assert (await http.get('/secret/metadata/k')).status_code == 404
    assert (await http.delete('/secret/metadata/k')).status_code == 204
    assert (await http.delete('/secret/data/never')).status_code == 204


async def test_custom_metadata(http: httpx.AsyncClient) -> None:
    await http.post('/secret/data/k', json={'data': {'v': '1'}})
    await http.post(
        '/secret/metadata/k',
        json={'custom_metadata': {'a': '1'}, 'delete_version_after': '1h'},
    )
    meta = (await http.get('/secret/metadata/k')).json()['data']
    assert meta['custom_metadata'] == {'a': '1'}
    assert meta['delete_version_after'] == '1h'
    # A metadata write replaces custom_metadata and keeps what it omits.
    await http.post('/secret/metadata/k', json={'custom_metadata': {'b': '2'}})
    meta = (await http.get('/secret/metadata/k')).json()['data']
    assert meta['custom_metadata'] == {'b': '2'}
    assert meta['delete_version_after'] == '1h'
    read = await http.get('/secret/data/k')
    assert read.json()['data']['metadata']['custom_metadata'] == {'b': '2'}
    # OpenBao keeps values as strings and at most 64 keys.
    await http.post('/secret/metadata/k', json={'custom_metadata': {'n': 1}})
    meta = (await http.get('/secret/metadata/k')).json()['data']
    assert meta['custom_metadata'] == {'n': '1'}
    assert meta['current_metadata_version'] == 3
    many = {f'k{i}': 'v' for i in range(65)}
    bad = await http.post('/secret/metadata/k', json={'custom_metadata': many})
    assert bad.status_code == 400
    assert 'at most 64 keys, provided 65' in _errors(bad)[0]


@pytest.mark.parametrize('verb', ['LIST', 'GET'])
async def test_listing(http: httpx.AsyncClient, verb: str) -> None:
    for path in ('app/a', 'app/b/c', 'app/b/d', 'other'):
        await http.post(f'/secret/data/{path}', json={'data': {'v': '1'}})
        await http.post(f'/kv/{path}', json={'v': '1'})
    params = {'list': 'true'} if verb == 'GET' else {}
    for prefix in ('/secret/metadata', '/kv'):
        listed = await http.request(verb, f'{prefix}/app', params=params)
        assert listed.json()['data']['keys'] == ['a', 'b/']
        root = await http.request(verb, f'{prefix}/', params=params)
        assert root.json()['data']['keys'] == ['app/', 'other']
        empty = await http.request(verb, f'{prefix}/nothing', params=params)
        assert empty.status_code == 404
        assert _errors(empty) == []
    assert (await http.request('LIST', '/secret/data/app')).status_code == 405


async def test_kv1(http: httpx.AsyncClient) -> None:
    assert (await http.post('/kv/a/b', json={'x': 'y'})).status_code == 204
    assert (await http.put('/kv/a/b', json={'x': 'z'})).status_code == 204
    read = await http.get('/kv/a/b')
    assert read.json()['data'] == {'x': 'z'}
    assert read.json()['lease_duration'] == 2764800
    empty = await http.post('/kv/a/c', json={})
    assert _errors(empty) == ['missing data fields']
    no_body = await http.post('/kv/a/c')
    assert _errors(no_body) == ['missing data fields']
    garbage = await http.post('/kv/a/c', content=b'{nope')
    assert garbage.status_code == 400
    not_object = await http.post('/kv/a/c', content=b'[1]')
    assert not_object.status_code == 400
    assert (await http.delete('/kv/a/b')).status_code == 204
    assert (await http.get('/kv/a/b')).status_code == 404
    assert (await http.get('/kv')).status_code == 405


async def test_kv2_bad_writes(http: httpx.AsyncClient) -> None:
    no_data = await http.post('/secret/data/k', json={'options': {}})
    assert _errors(no_data) == ['no data provided']
    assert (await http.get('/secret/data/k')).status_code == 404
    # A KV v1 path on a KV v2 mount: 404, no errors, a warning.
    nowhere = await http.get('/secret/elsewhere/k')
    assert nowhere.status_code == 404
    assert nowhere.json()['data'] is None
    assert 'errors' not in nowhere.json()
    assert 'versioned K/V' in nowhere.json()['warnings'][0]


async def test_errors(fake: VaultFake, http: httpx.AsyncClient) -> None:
    no_mount = await http.get('/nomount/x')
    assert no_mount.status_code == 404
    assert _errors(no_mount) == [
        'no handler for route "nomount/x". route entry not found.'
    ]
    bad_token = await http.get('/kv/x', headers={'X-Vault-Token': 'nope'})
    assert bad_token.status_code == 403
    assert _errors(bad_token) == ['permission denied']
    fake.sealed = True
    sealed = await http.get('/kv/x')
    assert sealed.status_code == 503
    assert _errors(sealed) == ['Vault is sealed']


async def test_acl(fake: VaultFake, http: httpx.AsyncClient) -> None:
    fake.add_token(
        'limited',
        {
            'kv/+/app/*': ['read', 'list'],
            'kv/team/app/private': ['deny'],
            'kv/team/app/new*': ['create'],
            'kv/team/app/existing': ['update'],
        },
    )
    fake.put('kv', 'team/app/x', {'v': '1'})
    fake.put('kv', 'team/app/private', {'v': '1'})
    fake.put('kv', 'team/app/existing', {'v': '1'})
    limited = {'X-Vault-Token': 'limited'}

    async def status(method: str, path: str, **kwargs: typing.Any) -> int:
        response = await http.request(method, path, headers=limited, **kwargs)
        return response.status_code

    assert await status('GET', '/kv/team/app/x') == 200
    assert await status('GET', '/kv/other/app/x') == 404
    assert await status('GET', '/kv/team/other/x') == 403
    assert await status('GET', '/kv/team/app/private') == 403
    # LIST checks the folder path with a trailing slash: app/* covers it.
    assert await status('LIST', '/kv/team/app') == 200
    assert await status('DELETE', '/kv/team/app/x') == 403
    # create for a new entry, update for an existing one
    assert await status('POST', '/kv/team/app/new-key', json={'v': '1'}) == 204
    assert await status('POST', '/kv/team/app/new-key', json={'v': '2'}) == 403
    assert (
        await status('POST', '/kv/team/app/existing', json={'v': '2'}) == 204
    )
    with pytest.raises(ValueError, match='unknown capabilities'):
        fake.add_token('t', {'kv/*': ['sudo']})


async def test_namespaces(fake: VaultFake, http: httpx.AsyncClient) -> None:
    fake.mount('kv', 1, namespace='/team-a/')
    fake.put('kv', 'x', {'v': 'team'}, namespace='team-a')
    fake.put('kv', 'x', {'v': 'root'})
    fake.add_token('scoped', namespace='team-a')
    team = await http.get('/kv/x', headers={'X-Vault-Namespace': 'team-a/'})
    assert team.json()['data'] == {'v': 'team'}
    assert (await http.get('/kv/x')).json()['data'] == {'v': 'root'}
    child = await http.get(
        '/kv/x',
        headers={'X-Vault-Namespace': 'team-a/sub', 'X-Vault-Token': 'scoped'},
    )
    assert child.status_code == 404  # no mount there
    outside = await http.get('/kv/x', headers={'X-Vault-Token': 'scoped'})
    assert outside.status_code == 403
    assert fake.secret('kv', 'x', namespace='team-a') == {'v': 'team'}


def test_state_helpers(fake: VaultFake) -> None:
    with pytest.raises(ValueError, match='1 or 2'):
        fake.mount('bad', 3)
    fake.put('secret', 'k', {'v': '1'}, custom_metadata={'a': 'b'})
    assert fake.secret('secret', 'k') == {'v': '1'}
    assert fake.entry('secret', 'k').custom_metadata == {'a': 'b'}
    fake.soft_delete('secret', 'k')
    assert fake.secret('secret', 'k') is None
    fake.put('secret', 'k', {'v': '2'})
    fake.destroy('secret', 'k')
    assert fake.secret('secret', 'k') is None
    assert fake.entry('secret', 'k').versions[2].data is None
    assert fake.secret('secret', 'never') is None
    assert fake.secret('kv', 'never') is None
    assert VaultFake().root_token.startswith('hvs.')


def test_hvac_unchanged_over_a_socket(fake: VaultFake) -> None:
    """hvac's own KV v1/v2 methods, with the LIST verb and without."""
    with fake.serve() as url:
        for strict in (False, True):
            client = hvac.Client(url=url, token=ROOT, strict_http=strict)
            kv2 = client.secrets.kv.v2
            kv2.create_or_update_secret(f'h/{strict}', {'value': 'x'}, cas=0)
            assert kv2.read_secret_version(
                f'h/{strict}', raise_on_deleted_version=True
            )['data']['data'] == {'value': 'x'}
            kv2.update_metadata(f'h/{strict}', custom_metadata={'t': 's'})
            meta = kv2.read_secret_metadata(f'h/{strict}')['data']
            assert meta['custom_metadata'] == {'t': 's'}
            assert f'{strict}' in kv2.list_secrets('h')['data']['keys']
            kv2.delete_latest_version_of_secret(f'h/{strict}')
            with pytest.raises(hvac.exceptions.InvalidPath):
                kv2.read_secret_version(
                    f'h/{strict}', raise_on_deleted_version=True
                )
            deleted = kv2.read_secret_version(
                f'h/{strict}', raise_on_deleted_version=False
            )
            assert deleted['data']['metadata']['deletion_time']
            kv2.delete_metadata_and_all_versions(f'h/{strict}')
            kv1 = client.secrets.kv.v1
            kv1.create_or_update_secret('h/one', {'v': '1'}, mount_point='kv')
            assert kv1.read_secret('h/one', mount_point='kv')['data'] == {
                'v': '1'
            }
            assert kv1.list_secrets('h', mount_point='kv')['data']['keys'] == [
                'one'
            ]
            kv1.delete_secret('h/one', mount_point='kv')
            with pytest.raises(hvac.exceptions.Forbidden):
                hvac.Client(url=url, token='bad').secrets.kv.v1.read_secret(
                    'h/one', mount_point='kv'
                )
            with pytest.raises(hvac.exceptions.InvalidRequest):
                kv2.create_or_update_secret('h/cas', {'v': '1'}, cas=3)
    assert {r.method for r in fake.requests} >= {'LIST', 'GET'}


# -- as a real OpenBao 2.7 server answers (vault-server's differential) --


async def test_unknown_namespace(
    fake: VaultFake, http: httpx.AsyncClient
) -> None:
    missing = await http.get(
        '/secret/data/k', headers={'X-Vault-Namespace': 'team/x'}
    )
    assert missing.status_code == 404
    assert _errors(missing) == ['namespace not found']
    fake.mount('kv-team', 2, namespace='team/x')
    assert 'team' in fake.namespaces
    found = await http.get(
        '/kv-team/data/k', headers={'X-Vault-Namespace': 'team/x'}
    )
    assert found.status_code == 404
    assert _errors(found) == []


async def test_mount_lookup(fake: VaultFake, http: httpx.AsyncClient) -> None:
    found = await http.get('/sys/internal/ui/mounts/secret/a/b')
    data = found.json()['data']
    assert (data['type'], data['path'], data['options']) == (
        'kv',
        'secret/',
        {'version': '2'},
    )
    nowhere = await http.get('/sys/internal/ui/mounts/nosuch/x')
    assert nowhere.status_code == 403
    assert '"nosuch/"' in _errors(nowhere)[0]
    fake.add_token('limited', {'kv/a/*': ['read']})
    limited = {'X-Vault-Token': 'limited'}
    ok = await http.get('/sys/internal/ui/mounts/kv', headers=limited)
    assert ok.json()['data']['options'] == {'version': '1'}
    refused = await http.get('/sys/internal/ui/mounts/secret', headers=limited)
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ('rule', 'allowed'),
    [
        ('+/data/a/*', True),  # a segment wildcard at the mount
        ('secr*', True),  # a glob that reaches past the mount
        ('*', True),
        ('secret/', True),
        ('secret/data/a/k', True),
        ('secret', True),  # the mount's own path
        ('+', True),
        ('secretive/*', False),
        ('kv/*', False),
    ],
)
async def test_mount_lookup_with_any_rule_reaching_the_mount(
    fake: VaultFake, http: httpx.AsyncClient, rule: str, allowed: bool
) -> None:
    # As OpenBao 2.7 (and Vault's hasMountAccess): any capability on
    # some path under the mount, however the rule is written.
    fake.add_token('ruled', {rule: ['read']})
    found = await http.get(
        '/sys/internal/ui/mounts/secret', headers={'X-Vault-Token': 'ruled'}
    )
    assert found.status_code == (200 if allowed else 403)


async def test_policy_checked_before_routing(
    fake: VaultFake, http: httpx.AsyncClient
) -> None:
    fake.add_token('limited', {'secret/data/a/*': ['read']})
    limited = {'X-Vault-Token': 'limited'}
    denied = await http.get('/nosuch/x', headers=limited)
    assert denied.status_code == 403
    assert _errors(denied) == ['1 error occurred:\n\t* permission denied\n\n']
    fake.add_token('wide', {'*': ['read']})
    routed = await http.get('/nosuch/x', headers={'X-Vault-Token': 'wide'})
    assert routed.status_code == 404
    versioned = await http.get('/secret/a/k', headers=limited)
    assert versioned.status_code == 403


async def test_body_over_32_mib(http: httpx.AsyncClient) -> None:
    big = b'{"data":{"value":"' + b'x' * (32 * 1024 * 1024) + b'"}}'
    answer = await http.post('/secret/data/big', content=big)
    assert answer.status_code == 413
    assert _errors(answer) == ['http: request body too large']


@pytest.mark.parametrize('headers', [False, True])
async def test_rate_limit_quota(
    fake: VaultFake, http: httpx.AsyncClient, headers: bool
) -> None:
    fake.quota(1, headers=headers)
    # Five requests cannot all fall in different seconds.
    answers = [await http.get('/secret/data/k') for _ in range(5)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited
    assert 'rate limit quota exceeded' in _errors(limited[0])[0]
    if headers:
        assert limited[0].headers['retry-after'] == '0'
        assert limited[0].headers['x-ratelimit-limit'] == '1'
    else:
        assert 'retry-after' not in limited[0].headers
