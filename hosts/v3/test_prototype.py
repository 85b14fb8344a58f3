"""The fixtures proven with a small v3 plugin (hosts/v3/v3_prototype.py)
through imbi-api 2.41's own routes."""

import typing

Imbi = typing.Any


def _checks_environments() -> bool:
    """Whether the host refuses an environment the organization lacks
    (422): 2.41 does; 2.31 hands any name to the plugin."""
    from imbi.api.endpoints import _helpers

    return hasattr(_helpers, 'require_org_environments')


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


def _integrate(imbi: Imbi, **credentials: str) -> None:
    imbi.integrate(
        'prototype',
        options={'url': 'https://proto.example.com'},
        credentials=credentials,
        capabilities={
            'configuration': {'path': 'integration'},
            'logs': {},
            'lifecycle': {},
        },
    )


def test_options_on_three_tiers(imbi: Imbi) -> None:
    """Integration capability options < project type edge < project edge;
    the Integration's own options apart, never merged in."""
    _integrate(imbi, auth_mode='anonymous')
    imbi.bind(
        'prototype-main',
        'configuration',
        project_type_options={'path': 'type', 'depth': 2},
        options={'path': 'project'},
    )
    assert imbi.get('/configuration/').status_code == 200
    from v3_prototype import CALLS

    _, ctx, _ = CALLS[-1]
    assert ctx.capability_options == {'path': 'project', 'depth': 2}
    assert ctx.assignment_options == ctx.capability_options
    assert ctx.integration_options == {'url': 'https://proto.example.com'}
    assert ctx.project_type_slugs == ['api']
    assert (ctx.org_slug, ctx.project_slug, ctx.team_slug) == (
        'aweber',
        'billing-api',
        'payments',
    )


def test_the_enable_step_gates_every_capability(imbi: Imbi) -> None:
    imbi.integrate(
        'prototype',
        credentials={'auth_mode': 'anonymous'},
        capabilities={'configuration': {}},
        enable=False,
    )
    refused = imbi.get('/configuration/')
    assert refused.status_code == 404, refused.text
    imbi.enable('prototype')
    assert imbi.get('/configuration/').status_code == 200
    imbi.enable('prototype', False)
    assert imbi.get('/configuration/').status_code == 404


def test_no_credentials_is_503_a_non_secret_field_is_enough(
    imbi: Imbi,
) -> None:
    """The default-all rule binds it with no USES edge at all."""
    _integrate(imbi)
    for path in ('/configuration/', '/logs/schema'):
        refused = imbi.get(path)
        assert refused.status_code == 503, refused.text
    credentials = imbi.client.put(
        '/api/organizations/aweber/integrations/prototype-main/credentials',
        json={'credentials': {'auth_mode': 'anonymous'}},
    )
    assert credentials.status_code == 200, credentials.text
    for path in ('/configuration/', '/logs/schema'):
        answered = imbi.get(path)
        assert answered.status_code == 200, answered.text
    from v3_prototype import CALLS

    assert CALLS[-1][2] == {'auth_mode': 'anonymous'}


def test_prefix_and_an_unknown_environment(imbi: Imbi) -> None:
    _integrate(imbi, auth_mode='anonymous')
    prefix = imbi.get('/configuration/prefix')
    assert prefix.status_code == 200, prefix.text
    assert prefix.json() == {'prefix': 'aweber/billing-api/${environment}'}
    named = imbi.get('/configuration/prefix', environment='staging')
    assert named.json() == {'prefix': 'aweber/billing-api/staging'}
    unknown = imbi.get('/configuration/', environment='moon')
    assert unknown.status_code == (422 if _checks_environments() else 200)


def test_logs(imbi: Imbi) -> None:
    _integrate(imbi, auth_mode='anonymous')
    one = imbi.get('/logs/', environment='production')
    assert one.status_code == 200, one.text
    assert [e['message'] for e in one.json()['entries']] == [
        'hello from production'
    ]
    both = imbi.client.get(
        imbi.url('/logs/'),
        params=[('environment', 'production'), ('environment', 'staging')],
    )
    assert both.status_code == 200, both.text
    assert sorted(e['message'] for e in both.json()['entries']) == [
        'hello from production',
        'hello from staging',
    ]
    histogram = imbi.get('/logs/histogram', environment='staging')
    assert histogram.status_code == 200, histogram.text
    assert [b['count'] for b in histogram.json()] == [2]
    unknown = imbi.get('/logs/', environment='moon')
    assert unknown.status_code == (422 if _checks_environments() else 200)


def test_logs_errors(imbi: Imbi) -> None:
    """A cursor the plugin calls expired: 409 with the host's body; a
    failing environment among several: a warning, the rest answered."""
    _integrate(imbi, auth_mode='anonymous')
    expired = imbi.get('/logs/', environment='staging', cursor='expired')
    assert expired.status_code == 409, expired.text
    assert expired.json()['detail']['error'] == 'cursor_expired'
    from v3_prototype import FAILING

    FAILING.add('staging')
    try:
        both = imbi.client.get(
            imbi.url('/logs/'),
            params=[('environment', 'production'), ('environment', 'staging')],
        )
    finally:
        FAILING.clear()
    assert both.status_code == 200, both.text
    assert [e['message'] for e in both.json()['entries']] == [
        'hello from production'
    ]
    (warning,) = both.json()['warnings']
    assert "'staging'" in warning
    assert 'staging is down' in warning


def test_lifecycle(imbi: Imbi) -> None:
    _integrate(imbi, auth_mode='anonymous')
    imbi.graph.links = {'github-repository': 'https://example.com/a/b'}
    from imbi.api.plugins.lifecycle_dispatch import dispatch_lifecycle

    auth = imbi.run(imbi.current_user)
    (archived,) = imbi.run(
        dispatch_lifecycle, imbi.graph, 'p-billing', 'aweber', 'archived', auth
    )
    assert (archived.plugin_slug, archived.status) == ('prototype', 'ok')
    from v3_prototype import CALLS

    method, ctx, _ = CALLS[-1]
    assert method == 'on_project_archived'
    assert ctx.project_links == {
        'github-repository': 'https://example.com/a/b'
    }
    assert ctx.project_name == 'Billing API'
    (created,) = imbi.run(
        dispatch_lifecycle, imbi.graph, 'p-billing', 'aweber', 'created', auth
    )
    assert created.status == 'skipped', created
    synced = imbi.client.post(imbi.url('/lifecycle/sync'))
    assert synced.status_code == 200, synced.text
    assert synced.json()['skipped'] == 1


def test_deployment_reads(imbi: Imbi, secret_scan: typing.Any) -> None:
    secret_scan.add(TOKEN)
    imbi.integrate(
        'prototype',
        credentials={'token': TOKEN},
        capabilities={'deployment': {}},
    )
    refs = imbi.get('/deployments/refs')
    assert refs.status_code == 200, refs.text
    assert [r['name'] for r in refs.json()] == ['main']
    commits = imbi.get('/deployments/refs/feature/x/commits')
    assert commits.status_code == 200, commits.text
    assert [c['message'] for c in commits.json()] == ['feature/x']
    from v3_prototype import CALLS

    assert CALLS[-1][2] == {'token': TOKEN}


def test_identity_start_and_callback(imbi: Imbi) -> None:
    import urllib.parse

    integration = imbi.integrate(
        'prototype',
        credentials={'auth_mode': 'anonymous'},
        capabilities={'identity': {}},
    )
    iid = integration['id']
    started = imbi.client.post(f'/api/me/identities/{iid}/start', json={})
    assert started.status_code == 200, started.text
    url = urllib.parse.urlsplit(started.json()['authorization_url'])
    query = urllib.parse.parse_qs(url.query)
    assert query['redirect_uri'] == [
        f'https://imbi.example.com/api/me/identities/{iid}/callback'
    ]
    state = started.json()['state']
    callback = imbi.client.get(
        f'/api/me/identities/{iid}/callback',
        params={'code': 'c0de', 'state': state},
        follow_redirects=False,
    )
    assert callback.status_code == 302, callback.text
    from v3_prototype import CODES

    assert CODES[-1] == ('c0de', 'v' * 43)
    (connection,) = imbi.graph.connections
    assert connection['integration_id'] == iid
    assert connection['subject'] == '42'
    again = imbi.client.get(
        f'/api/me/identities/{iid}/callback',
        params={'code': 'c0de', 'state': state},
        follow_redirects=False,
    )
    assert again.status_code == 400, again.text


def test_deploy_and_run_status(imbi: Imbi, secret_scan: typing.Any) -> None:
    secret_scan.add(TOKEN)
    imbi.integrate(
        'prototype',
        credentials={'token': TOKEN},
        capabilities={'deployment': {}},
    )
    imbi.bind(
        'prototype-main',
        'deployment',
        env_payloads={'staging': {'workflow': 'deploy.yml', 'replicas': 2}},
    )
    from v3_prototype import CALLS, DISPATCHED, SHA

    deployed = imbi.client.post(
        imbi.url('/deployments'),
        json={
            'action': 'deploy',
            'environment': 'staging',
            'committish': SHA,
        },
    )
    assert deployed.status_code == 202, deployed.text
    assert DISPATCHED[-1] == (SHA, {'workflow': 'deploy.yml', 'replicas': '2'})
    _, ctx, _ = CALLS[-1]
    assert ctx.environment == 'staging'
    assert ctx.environment_config == {'workflow': 'deploy.yml', 'replicas': 2}
    run_id = deployed.json()['run']['run_id']
    status = imbi.get(f'/deployments/runs/{run_id}', environment='staging')
    assert status.status_code == 200, status.text
    assert status.json()['status'] == 'success'
    dispatched = len(DISPATCHED)
    unknown = imbi.client.post(
        imbi.url('/deployments'),
        json={'action': 'deploy', 'environment': 'moon', 'committish': SHA},
    )
    assert unknown.status_code == 404, unknown.text
    assert len(DISPATCHED) == dispatched, 'dispatched to an unknown env'
