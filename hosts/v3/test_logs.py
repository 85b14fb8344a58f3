"""loki and cloudwatch through imbi-api 2.41's own logs routes."""

import collections.abc
import time
import typing

import pytest
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.cloudwatch import CloudWatchFake
from imbi_plugin_testing.fakes.loki import LokiFake

Imbi = typing.Any
SECOND = 1_000_000_000
USER = '918273645501732'
PASSWORD = 'glc_host-v3-check-5f1e9a7c2b'
TEMPLATE = '{service_name="${project_slug}", env="${environment}"}'


def _loki(anonymous: bool) -> LokiFake:
    """Behind a basic-auth gateway (Grafana Cloud: the user is the
    tenant), or ``anonymous``: an open single-tenant Loki."""
    fake = LokiFake(auth_enabled=not anonymous)
    if not anonymous:
        fake.users = {USER: PASSWORD}
    now = time.time_ns()
    for offset, env in enumerate(('production', 'staging')):
        fake.push(
            {'service_name': 'billing-api', 'env': env},
            [
                (now - (2 * i + offset + 1) * SECOND, f'{env} line {i}')
                for i in range(5)
            ],
            tenant='fake' if anonymous else USER,
        )
    return fake


@pytest.fixture
def with_loki(
    imbi: Imbi, secret_scan: SecretScan
) -> collections.abc.Iterator[Imbi]:
    secret_scan.add(PASSWORD)
    with _loki(anonymous=False).serve() as url:
        imbi.integrate(
            'loki',
            options={'url': url, 'timeout_seconds': 5},
            credentials={'username': USER, 'password': PASSWORD},
            capabilities={'logs': {'selector_template': '{nope="x"}'}},
        )
        imbi.bind('loki-main', 'logs', options={'selector_template': TEMPLATE})
        yield imbi


def _messages(response: typing.Any) -> list[str]:
    return [e['message'] for e in response.json()['entries']]


def test_search_paging_and_environments(with_loki: Imbi) -> None:
    first = with_loki.get('/logs/', environment='production', limit=3)
    assert first.status_code == 200, first.text
    assert _messages(first) == [f'production line {i}' for i in range(3)]
    second = with_loki.get(
        '/logs/',
        environment='production',
        limit=3,
        cursor=first.json()['next_cursor'],
    )
    assert second.status_code == 200, second.text
    assert _messages(second) == ['production line 3', 'production line 4']
    both = with_loki.get('/logs/', environment=['production', 'staging'])
    assert both.status_code == 200, both.text
    assert len(both.json()['entries']) == 10
    assert both.json()['warnings'] == []


def test_a_required_credential_left_out_is_served(
    imbi: Imbi, secret_scan: SecretScan
) -> None:
    """auth_mode is required, yet the host saves an Integration without
    it and serves it: the create route and the logs routes check no
    required credential (imbi-ui's form does), so one saved before
    auth_mode was required keeps working, its mode inferred."""
    from imbi.common.plugins.registry import get_plugin

    fields = {f.name: f for f in get_plugin('loki').manifest.credentials}
    assert fields['auth_mode'].required
    secret_scan.add(PASSWORD)
    with _loki(anonymous=False).serve() as url:
        created = imbi.integrate(
            'loki',
            options={'url': url},
            credentials={'username': USER, 'password': PASSWORD},
            capabilities={'logs': {'selector_template': TEMPLATE}},
        )
        assert created['credential_fields'] == ['password', 'username']
        response = imbi.get('/logs/', environment='staging', limit=1)
        assert response.status_code == 200, response.text
        assert _messages(response) == ['staging line 0']


def test_histogram_and_schema(with_loki: Imbi) -> None:
    histogram = with_loki.get('/logs/histogram', environment='staging')
    assert histogram.status_code == 200, histogram.text
    assert sum(b['count'] for b in histogram.json()) == 5
    schema = with_loki.get('/logs/schema')
    assert schema.status_code == 200, schema.text


def test_anonymous_loki_is_not_refused(imbi: Imbi) -> None:
    """No username or password: the non-secret auth_mode credential keeps
    the Integration's blob from being empty, which 2.41 answers 503."""
    from imbi.common.plugins.registry import get_plugin

    fields = {f.name: f for f in get_plugin('loki').manifest.credentials}
    assert fields['auth_mode'].secret is False
    assert fields['auth_mode'].required
    with _loki(anonymous=True).serve() as url:
        imbi.integrate(
            'loki',
            options={'url': url},
            credentials={'auth_mode': 'none'},
            capabilities={'logs': {'selector_template': TEMPLATE}},
        )
        response = imbi.get('/logs/', environment='staging', limit=2)
        assert response.status_code == 200, response.text
        assert _messages(response) == ['staging line 0', 'staging line 1']
        # Without it the blob is empty, and the host refuses.
        emptied = imbi.client.put(
            '/api/organizations/aweber/integrations/loki-main/credentials',
            json={'credentials': {'auth_mode': None}},
        )
        assert emptied.json() == {'credential_fields': []}
        refused = imbi.get('/logs/', environment='staging', limit=2)
        assert refused.status_code == 503, refused.text


@pytest.fixture
def with_cloudwatch(
    imbi: Imbi, secret_scan: SecretScan
) -> collections.abc.Iterator[tuple[Imbi, CloudWatchFake]]:
    fake = CloudWatchFake()
    fake.polls_scheduled = 0
    fake.polls_running = 0
    now_ms = int(time.time() * 1000)
    for env in ('production', 'staging'):
        group = f'/aweber/{env}/billing-api'
        fake.add_group(group)
        for i in range(3):
            fake.put(group, 'web-1', now_ms - 1000 * (i + 1), f'{env} {i}')
    key = fake.add_key()
    secret_scan.add(key.secret_access_key)
    with fake.serve() as url:
        imbi.integrate(
            'cloudwatch',
            options={'region': 'us-east-1', 'endpoint_url': url},
            credentials={
                'access_key_id': key.access_key_id,
                'secret_access_key': key.secret_access_key,
            },
            capabilities={
                'logs': {
                    'log_group_template': '/${org_slug}/${environment}'
                    '/${project_slug}'
                }
            },
        )
        yield imbi, fake


def test_cloudwatch_search(
    with_cloudwatch: tuple[Imbi, CloudWatchFake],
) -> None:
    imbi, _ = with_cloudwatch
    response = imbi.get(
        '/logs/', environment='production', filter='message:contains:prod'
    )
    assert response.status_code == 200, response.text
    assert _messages(response) == [f'production {i}' for i in range(3)]
    both = imbi.get('/logs/', environment=['production', 'staging'])
    assert both.status_code == 200, both.text
    assert len(both.json()['entries']) == 6


def test_cloudwatch_ambient_credentials_are_not_refused(
    imbi: Imbi, secret_scan: SecretScan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """auth_mode ambient, no keys stored: the host's own AWS identity
    (here its environment) signs the calls, and the blob holding only
    auth_mode is not the 503 of an empty one."""
    fake = CloudWatchFake()
    fake.polls_scheduled = 0
    fake.polls_running = 0
    fake.add_group('/aweber/staging/billing-api')
    fake.put(
        '/aweber/staging/billing-api',
        'web-1',
        int(time.time() * 1000) - 1000,
        'staging ambient',
    )
    key = fake.add_key()
    secret_scan.add(key.secret_access_key)
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', key.access_key_id)
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', key.secret_access_key)
    monkeypatch.delenv('AWS_SESSION_TOKEN', raising=False)
    monkeypatch.delenv('AWS_PROFILE', raising=False)
    with fake.serve() as url:
        imbi.integrate(
            'cloudwatch',
            options={'region': 'us-east-1', 'endpoint_url': url},
            credentials={'auth_mode': 'ambient'},
            capabilities={
                'logs': {
                    'log_group_template': '/${org_slug}/${environment}'
                    '/${project_slug}'
                }
            },
        )
        response = imbi.get('/logs/', environment='staging')
        assert response.status_code == 200, response.text
        assert _messages(response) == ['staging ambient']
