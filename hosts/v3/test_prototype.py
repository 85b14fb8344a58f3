"""The fixtures proven with a small v3 plugin (hosts/v3/v3_prototype.py)
through imbi-api 2.41's own routes."""

import typing

Imbi = typing.Any
TOKEN = 'proto-token-7f3a9c1e5b'


def test_loaded_and_seeded_disabled(imbi: Imbi) -> None:
    assert 'prototype' in imbi.load.loaded
    assert imbi.graph.registrations['prototype'] is False
    listed = imbi.client.get('/api/admin/plugins')
    assert listed.status_code == 200, listed.text
    found = {p['slug']: p['enabled'] for p in listed.json()}
    assert found['prototype'] is False


def test_configuration_round_trip(imbi: Imbi, secret_scan: typing.Any) -> None:
    secret_scan.add(TOKEN)
    imbi.integrate(
        'prototype',
        options={'url': 'https://proto.example.com'},
        credentials={'token': TOKEN, 'auth_mode': 'token'},
        capabilities={'configuration': {'path': 'from-integration'}},
    )
    imbi.bind(
        'prototype-main',
        'configuration',
        options={'path': 'from-project'},
    )
    put = imbi.client.put(
        imbi.url('/configuration/db/url'),
        json={'value': 'v1', 'data_type': 'string', 'secret': True},
    )
    assert put.status_code == 200, put.text
    listed = imbi.get('/configuration/')
    assert listed.status_code == 200, listed.text
    assert [k['key'] for k in listed.json()] == ['db/url']
    from v3_prototype import CALLS

    method, ctx, credentials = CALLS[-1]
    assert method == 'list_keys'
    assert credentials == {'token': TOKEN, 'auth_mode': 'token'}
    assert ctx.integration_options == {'url': 'https://proto.example.com'}
    assert ctx.capability_options == {'path': 'from-project'}
    assert imbi.opslog.actions() == ['set_value']
