"""vault through imbi-api 2.41's own configuration routes."""

import collections.abc
import typing

import pytest
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.vault import VaultFake

Imbi = typing.Any
SECRET_VALUE = 'postgres://billing:s3cr3t-host-v3-check@db/billing'


@pytest.fixture
def vault(
    imbi: Imbi, secret_scan: SecretScan
) -> collections.abc.Iterator[tuple[Imbi, VaultFake]]:
    fake = VaultFake()
    fake.mount('secret', 2)
    secret_scan.add(fake.root_token)
    with fake.serve() as url:
        # Connection settings on the Integration; the per-project path
        # template on three tiers (Integration < project type < project).
        imbi.integrate(
            'vault',
            options={
                'url': url,
                'mount_path': 'secret',
                'kv_version': '2',
                'timeout_seconds': 5,
            },
            credentials={'token': fake.root_token},
            capabilities={'configuration': {'path_template': 'nope'}},
        )
        imbi.bind(
            'vault-main',
            'configuration',
            project_type_options={'path_template': '${org_slug}/type'},
            options={'path_template': '${org_slug}/${project_slug}'},
        )
        yield imbi, fake


def _put(imbi: Imbi, key: str, value: str, **extra: typing.Any) -> typing.Any:
    return imbi.client.put(
        imbi.url(f'/configuration/{key}'),
        json={'value': value, 'data_type': 'string', **extra},
    )


def test_configuration_round_trip(vault: tuple[Imbi, VaultFake]) -> None:
    imbi, fake = vault
    created = _put(imbi, 'db/url', SECRET_VALUE, secret=True)
    assert created.status_code == 200, created.text
    assert created.json()['key'] == 'db/url'
    assert fake.secret('secret', 'aweber/billing-api/db/url')
    assert _put(imbi, 'feature', 'on').status_code == 200

    listed = imbi.get('/configuration/')
    assert listed.status_code == 200, listed.text
    assert sorted(k['key'] for k in listed.json()) == ['db/url', 'feature']
    requests = len(fake.requests)
    cached = imbi.get('/configuration/')
    assert cached.json() == listed.json()
    assert len(fake.requests) == requests, 'not served from Valkey'

    every = imbi.client.post(imbi.url('/configuration/values:fetch'), json={})
    assert every.status_code == 200, every.text
    values = {v['key']: v['value'] for v in every.json()}
    assert values == {'db/url': SECRET_VALUE, 'feature': 'on'}

    deleted = imbi.client.delete(imbi.url('/configuration/feature'))
    assert deleted.status_code == 204, deleted.text
    after = imbi.get('/configuration/')
    assert [k['key'] for k in after.json()] == ['db/url']
    assert len(fake.requests) > requests, 'the cache was not cleared'

    assert imbi.opslog.actions() == ['set_value', 'set_value', 'delete_key']
    assert SECRET_VALUE not in str(imbi.opslog.rows)


def test_prefix(vault: tuple[Imbi, VaultFake]) -> None:
    """describe_prefix with the project edge's template."""
    imbi, _ = vault
    response = imbi.get('/configuration/prefix')
    assert response.status_code == 200, response.text
    assert response.json() == {'prefix': 'secret/aweber/billing-api'}


def test_reading_values_needs_read_secrets(
    vault: tuple[Imbi, VaultFake],
) -> None:
    imbi, _ = vault
    imbi.permissions.discard('project:configuration:read_secrets')
    response = imbi.client.post(
        imbi.url('/configuration/values:fetch'), json={}
    )
    assert response.status_code == 403
