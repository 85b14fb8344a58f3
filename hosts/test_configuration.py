"""vault through imbi-api's own configuration routes."""

import collections.abc
import json
import typing

import pytest
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.vault import VaultFake

Imbi = typing.Any
SECRET_VALUE = 'postgres://billing:s3cr3t-host-check@db/billing'


@pytest.fixture
def vault(
    imbi: Imbi, secret_scan: SecretScan
) -> collections.abc.Iterator[tuple[Imbi, VaultFake]]:
    fake = VaultFake()
    fake.mount('secret', 2)
    secret_scan.add(fake.root_token)
    with fake.serve() as url:
        # Three tiers: the host merges plugin < project type < project.
        imbi.graph.assign(
            'plugin-vault',
            'vault',
            'configuration',
            credentials={'token': fake.root_token},
            plugin_options={'url': url, 'mount_path': 'nope'},
            type_options={'mount_path': 'secret', 'kv_version': '1'},
            project_options={'kv_version': '2', 'timeout_seconds': 5},
        )
        yield imbi, fake


def _put(imbi: Imbi, key: str, value: str, **extra: typing.Any) -> typing.Any:
    return imbi.client.put(
        imbi.url(f'/configuration/{key}'),
        json={'value': value, 'data_type': 'string', **extra},
    )


def test_configuration_round_trip(
    vault: tuple[Imbi, VaultFake], secret_scan: SecretScan
) -> None:
    imbi, fake = vault
    base = imbi.url('')
    created = _put(imbi, 'db/url', SECRET_VALUE, secret=True)
    assert created.status_code == 200, created.text
    assert created.json()['key'] == 'db/url'
    assert fake.secret('secret', 'aweber/billing-api/db/url')
    assert _put(imbi, 'feature', 'on').status_code == 200

    listed = imbi.client.get(f'{base}/configuration/')
    assert listed.status_code == 200, listed.text
    assert sorted(k['key'] for k in listed.json()) == ['db/url', 'feature']
    requests = len(fake.requests)
    cached = imbi.client.get(f'{base}/configuration/')
    assert cached.json() == listed.json()
    assert len(fake.requests) == requests, 'not served from Valkey'

    every = imbi.client.post(f'{base}/configuration/values:fetch', json={})
    assert every.status_code == 200, every.text
    values = {v['key']: v['value'] for v in every.json()}
    assert values == {'db/url': SECRET_VALUE, 'feature': 'on'}
    subset = imbi.client.post(
        f'{base}/configuration/values:fetch', json={'keys': ['feature']}
    )
    assert [v['key'] for v in subset.json()] == ['feature']

    deleted = imbi.client.delete(f'{base}/configuration/feature')
    assert deleted.status_code == 204, deleted.text
    after = imbi.client.get(f'{base}/configuration/')
    assert [k['key'] for k in after.json()] == ['db/url']
    assert len(fake.requests) > requests, 'the cache was not cleared'

    actions = [
        json.loads(row['description'])['action'] for row in imbi.audit.rows
    ]
    assert actions == ['set_value', 'set_value', 'delete_key']
    # Audit rows record the change, never the value.
    assert SECRET_VALUE not in json.dumps(imbi.audit.rows, default=str)


def test_reading_values_needs_read_secrets(
    vault: tuple[Imbi, VaultFake],
) -> None:
    imbi, _ = vault
    imbi.permissions.discard('project:configuration:read_secrets')
    response = imbi.client.post(
        imbi.url('/configuration/values:fetch'), json={}
    )
    assert response.status_code == 403


def test_no_environment_with_an_environment_folder(
    vault: tuple[Imbi, VaultFake],
) -> None:
    imbi, fake = vault
    imbi.graph.assignments[-1].options['path_template'] = (
        '${org_slug}/${environment}'
    )
    before = len(fake.requests)
    response = imbi.client.get(imbi.url('/configuration/'))
    assert response.status_code == 500
    assert response.text == 'Internal Server Error'
    assert len(fake.requests) == before
    named = imbi.client.get(
        imbi.url('/configuration/'), params={'environment': 'staging'}
    )
    assert named.status_code == 200, named.text
