"""Options that do not fit the server: errors, never an empty answer.

Each case was first seen against a real OpenBao 2.7 server; the stand-in
answers as that server does (see the ``vault-server`` session).
"""

import logging

import pytest
from imbi_plugin_testing import Fault, Host, HostResponse
from imbi_plugin_vault._host import (
    PluginAuthenticationFailed,
    PluginUnavailableError,
)

from .conftest import FOLDER, KV_PATHS, Vault


async def _every_method(host: Host) -> list[HostResponse]:
    return [
        await host.list_keys(),
        await host.get_values(),
        await host.get_values(['k']),
        await host.set_value('k', 'v', 'string'),
        await host.delete_key('k'),
    ]


def _writes(vault: Vault) -> list[str]:
    return [
        r.path
        for r in vault.fake.requests
        if r.method in ('POST', 'PUT', 'DELETE')
    ]


async def test_a_missing_namespace_is_a_value_error_naming_it(
    vault: Vault,
) -> None:
    vault.put_imbi('k', 'v', 'string')
    host = vault.host(namespace='team-z/nested')
    for response in await _every_method(host):
        assert isinstance(response.error, ValueError), response
        assert "namespace 'team-z/nested'" in str(response.error)
        assert 'does not exist' in str(response.error)
    assert _writes(vault) == []
    assert vault.stored('k') is not None


async def test_a_mount_of_the_other_kv_version_names_the_real_one(
    vault: Vault,
) -> None:
    configured = 3 - vault.kv_version
    vault.put_imbi('k', 'v', 'secret')
    host = vault.host(kv_version=str(configured))
    for response in await _every_method(host):
        assert isinstance(response.error, ValueError), response
        text = str(response.error)
        assert f'KV version {vault.kv_version}' in text
        assert 'kv_version' in text
    assert _writes(vault) == []
    assert sorted(vault.fake.mounts['', vault.mount].names()) == [
        f'{FOLDER}/k'
    ]


async def test_without_kv_version_the_mount_decides(vault: Vault) -> None:
    host = vault.host(kv_version='')
    assert (await host.set_value('k', 'v', 'string')).ok
    listed = await host.list_keys()
    assert [k['key'] for k in listed.body] == ['k']
    assert vault.stored('k') is not None


async def test_a_token_that_cannot_look_up_the_mount_uses_kv_version(
    vault: Vault,
) -> None:
    # No rule under the mount: the lookup is refused (403), the option
    # decides, and the KV request itself is refused as before.
    token = 'hvs.token-with-no-rules-here'
    vault.fake.add_token(token, {'elsewhere/*': ['read']})
    response = await vault.host(token=token).list_keys()
    assert isinstance(response.error, PluginAuthenticationFailed)
    lookups = vault.fake.requests_to(r'/sys/internal/ui/mounts/')
    assert len(lookups) == 1


async def test_a_v1_path_answer_on_a_v2_mount_is_not_an_empty_folder(
    vault2: Vault,
) -> None:
    # The lookup is not available (a proxy in front allows only KV
    # paths): the warning of the KV v2 engine still tells.
    vault2.fake.inject(
        Fault(path='/sys/internal/ui/mounts/', status=403, times=None)
    )
    vault2.put_imbi('k', 'v', 'secret')
    response = await vault2.host(kv_version='1').list_keys()
    assert isinstance(response.error, ValueError)
    assert 'KV version 2' in str(response.error)


async def test_a_path_inside_a_mount_is_not_a_mount(vault2: Vault) -> None:
    response = await vault2.host(mount_path='secret/aweber').list_keys()
    assert isinstance(response.error, ValueError)
    assert "'secret/aweber'" in str(response.error)
    assert "mount 'secret'" in str(response.error)


async def test_a_mount_of_a_child_namespace_is_its_own(vault2: Vault) -> None:
    # namespace 'team' with mount_path 'sub/secret': Vault routes the
    # KV paths into namespace team/sub and the lookup names the mount
    # from the root (OpenBao 2.7 and Vault alike).
    # (The stand-in routes namespaces by header only: the mount stands
    # in namespace team under its KV path; the lookup answers as Vault.)
    vault2.fake.mount('sub/secret', 2, namespace='team')
    vault2.fake.inject(
        Fault(
            path='/sys/internal/ui/mounts/',
            times=None,
            status=200,
            body={
                'data': {
                    'type': 'kv',
                    'path': 'team/sub/secret/',
                    'options': {'version': '2'},
                }
            },
        )
    )
    host = vault2.host(namespace='team', mount_path='sub/secret')
    assert (await host.set_value('k', 'v', 'string')).ok
    response = await host.list_keys()
    assert [k['key'] for k in response.body] == ['k'], response.error


async def test_a_mount_of_another_engine_is_not_kv(vault2: Vault) -> None:
    vault2.fake.inject(
        Fault(
            path='/sys/internal/ui/mounts/',
            status=200,
            body={'data': {'type': 'pki', 'path': 'secret/', 'options': None}},
        )
    )
    response = await vault2.host().list_keys()
    assert isinstance(response.error, ValueError)
    assert "'pki' secrets engine, not KV" in str(response.error)


@pytest.mark.parametrize(
    'body',
    ['<html><body>Not Found</body></html>', {'message': 'no route'}, ''],
    ids=['html', 'other-json', 'empty'],
)
@pytest.mark.parametrize(
    'path', [None, KV_PATHS], ids=['every-path', 'kv-paths-only']
)
async def test_a_404_that_is_not_vaults_is_an_error(
    vault: Vault, body: object, path: str | None
) -> None:
    # A mistyped url or a load balancer (every path, or only the KV
    # paths once the mount lookup got through): not an empty
    # configuration.
    vault.fake.inject(Fault(path=path, status=404, body=body, times=None))  # type: ignore[arg-type]
    host = vault.host()
    for response in [await host.list_keys(), await host.get_values(['k'])]:
        assert isinstance(response.error, PluginUnavailableError), response
        assert 'not a Vault answer' in str(response.error)
        assert "'url'" in str(response.error)


async def test_a_url_with_a_path_vault_does_not_serve_is_an_error(
    vault: Vault,
) -> None:
    # OpenBao answers {"errors": []} to any unknown path, the mount
    # lookup's included: a url with a path must not read as empty.
    vault.fake.inject(
        Fault(path='/sys/', status=404, body={'errors': []}, times=None)
    )
    response = await vault.host().list_keys()
    assert isinstance(response.error, PluginUnavailableError)
    assert 'mount lookup' in str(response.error)
    assert "'url'" in str(response.error)


@pytest.mark.parametrize('header', ['0', 'nan', '-3'])
async def test_retry_after_zero_is_the_plugins_own_back_off(
    vault: Vault, caplog: pytest.LogCaptureFixture, header: str
) -> None:
    # OpenBao's rate limit quotas send Retry-After: 0 (1 s intervals);
    # a value that is no wait at all (NaN, negative) is no better.
    vault.put_imbi('k', 'v', 'string')
    vault.fake.inject(
        Fault(
            path=r'/k$',
            status=429,
            body={'errors': ['rate limit quota exceeded']},
            headers={'Retry-After': header},
            times=2,
        )
    )
    with caplog.at_level(logging.DEBUG, 'imbi_plugin_vault'):
        response = await vault.host().get_values(['k'])
    assert response.ok, response.error
    waits = [
        float(r.getMessage().rsplit(' ', 2)[-2])
        for r in caplog.records
        if 'retrying in' in r.getMessage()
    ]
    assert len(waits) == 2
    assert all(wait >= 0.25 for wait in waits)


@pytest.mark.parametrize(
    ('status', 'reason'),
    [
        (413, 'http: request body too large'),
        (400, 'custom_metadata validation failed: payload must contain'),
        (400, 'check-and-set parameter required for this call'),
        (405, 'unsupported operation'),
    ],
)
async def test_a_permanent_refusal_is_a_value_error_with_vaults_reason(
    vault: Vault, status: int, reason: str
) -> None:
    vault.fake.inject(
        Fault(
            method='POST',
            status=status,
            body={'errors': [f'1 error occurred:\n\t* {reason}\n\n']},
        )
    )
    response = await vault.host().set_value('k', 'v', 'string')
    assert isinstance(response.error, ValueError), response.error
    assert str(response.error).endswith(f': {reason}')
    assert 'refused' in str(response.error)


async def test_a_denied_metadata_write_leaves_the_value_as_it_was(
    vault2: Vault,
) -> None:
    # Data writes allowed, metadata writes not: a new string value must
    # not be written under a key still typed secret.
    token = 'hvs.data-but-not-metadata'
    vault2.fake.add_token(
        token,
        {
            'secret/data/*': ['read', 'create', 'update'],
            'secret/metadata/*': ['read', 'list'],
        },
    )
    vault2.put_imbi('k', 'old-secret', 'secret')
    response = await vault2.host(token=token).set_value(
        'k', 'now-a-string', 'string'
    )
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert vault2.stored('k') == {'value': 'old-secret'}


async def test_without_kv_version_a_refused_lookup_is_never_a_guess(
    vault: Vault,
) -> None:
    # A proxy in front of Vault that blocks sys/ paths: guessing KV v2
    # on a KV v1 mount would store data/... and metadata/... secrets.
    vault.fake.inject(
        Fault(path='/sys/internal/ui/mounts/', status=403, times=None)
    )
    host = vault.host(kv_version='')
    for response in await _every_method(host):
        assert isinstance(response.error, PluginAuthenticationFailed)
        text = str(response.error)
        assert f'mount {vault.mount!r}' in text
        assert "'kv_version'" in text
    assert _writes(vault) == []
    assert vault.fake.requests_to(KV_PATHS) == []


async def test_a_lookup_answer_without_path_is_accepted(
    vault2: Vault,
) -> None:
    # Older Vaults leave 'path' out; the vault CLI accepts that too.
    vault2.fake.inject(
        Fault(
            path='/sys/internal/ui/mounts/',
            times=None,
            status=200,
            body={'data': {'type': 'kv', 'options': {'version': '2'}}},
        )
    )
    vault2.put_imbi('k', 'v', 'string')
    response = await vault2.host(kv_version='').get_values(['k'])
    assert response.ok, response
    assert [item['value'] for item in response.body] == ['v']
