"""loki and cloudwatch through imbi-api's own logs routes."""

import collections.abc
import time
import typing

import pytest
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.cloudwatch import CloudWatchFake
from imbi_plugin_testing.fakes.loki import LokiFake
from imbi_plugin_testing.standin import Fault

Imbi = typing.Any
SECOND = 1_000_000_000
# Long enough not to turn up inside a nanosecond timestamp by chance
# (the scan registers it: it is a credential).
USER = '918273645501732'
PASSWORD = 'glc_host-check-5f1e9a7c2b'
TEMPLATE = '{service_name="${project_slug}", env="${environment}"}'


@pytest.fixture
def loki() -> collections.abc.Iterator[tuple[LokiFake, str]]:
    fake = LokiFake()
    fake.users = {USER: PASSWORD}
    now = time.time_ns()
    for offset, env in enumerate(('production', 'staging')):
        fake.push(
            {'service_name': 'billing-api', 'env': env},
            [
                (now - (2 * i + offset + 1) * SECOND, f'{env} line {i}')
                for i in range(5)
            ],
            tenant=USER,
        )
    with fake.serve() as url:
        yield fake, url


@pytest.fixture
def with_loki(
    imbi: Imbi, loki: tuple[LokiFake, str], secret_scan: SecretScan
) -> Imbi:
    """loki assigned on all three tiers: the host merges them."""
    secret_scan.add(PASSWORD)
    imbi.graph.assign(
        'plugin-loki',
        'loki',
        'logs',
        credentials={'username': USER, 'password': PASSWORD},
        plugin_options={'url': loki[1], 'timeout_seconds': 5},
        type_options={'selector_template': '{service_name="nope"}'},
        project_options={'selector_template': TEMPLATE},
    )
    return imbi


def _messages(response: typing.Any) -> list[str]:
    return [e['message'] for e in response.json()['entries']]


def test_search_one_environment(with_loki: Imbi) -> None:
    response = with_loki.get('/logs/', environment='production', limit=3)
    assert response.status_code == 200, response.text
    assert _messages(response) == [
        'production line 0',
        'production line 1',
        'production line 2',
    ]
    raws = [e['raw'] for e in response.json()['entries']]
    assert {r['environment'] for r in raws} == {'production'}
    assert response.json()['next_cursor']


def test_paging_without_explicit_times(with_loki: Imbi) -> None:
    """Each request gets a window recomputed by the host (failure 2)."""
    seen: list[str] = []
    cursor = None
    for _ in range(4):
        params = {'environment': 'production', 'limit': 2}
        if cursor:
            params['cursor'] = cursor
        page = with_loki.get('/logs/', **params)
        assert page.status_code == 200, page.text
        seen += _messages(page)
        cursor = page.json()['next_cursor']
        if cursor is None:
            break
    assert seen == [f'production line {i}' for i in range(5)]


def test_paging_with_explicit_times(with_loki: Imbi) -> None:
    end = time.time()
    window = {
        'start_time': time.strftime(
            '%Y-%m-%dT%H:%M:%S', time.gmtime(end - 600)
        ),
        'end_time': time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(end + 1)),
    }
    first = with_loki.get('/logs/', environment='staging', limit=3, **window)
    second = with_loki.get(
        '/logs/',
        environment='staging',
        limit=3,
        cursor=first.json()['next_cursor'],
        **window,
    )
    assert second.status_code == 200, second.text
    assert _messages(first) + _messages(second) == [
        f'staging line {i}' for i in range(5)
    ]


def test_search_without_an_environment(with_loki: Imbi) -> None:
    """ctx.environment is None: every environment (failure 3)."""
    response = with_loki.get('/logs/', limit=100)
    assert response.status_code == 200, response.text
    assert len(response.json()['entries']) == 10
    assert response.json()['warnings'] == []
    assert all(
        'environment' not in e['raw'] for e in response.json()['entries']
    )


def test_several_environments(with_loki: Imbi) -> None:
    response = with_loki.get(
        '/logs/', environment=['production', 'staging'], limit=4
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert _messages(response) == [
        'production line 0',
        'staging line 0',
        'production line 1',
        'staging line 1',
    ]
    assert body['next_cursor'] is None
    assert body['total'] is None


def test_a_failing_environment_is_a_warning(
    with_loki: Imbi, loki: tuple[LokiFake, str]
) -> None:
    loki[0].inject(Fault(path='query_range', status=403, body='denied'))
    response = with_loki.get(
        '/logs/', environment=['production', 'staging'], limit=10
    )
    assert response.status_code == 200, response.text
    (warning,) = response.json()['warnings']
    failed = warning.split("'")[1]
    assert warning.startswith(f"Search for environment '{failed}' failed: ")
    assert 'Loki refused the credentials' in warning
    envs = {e['raw']['environment'] for e in response.json()['entries']}
    assert envs == {'production', 'staging'} - {failed}


def test_histogram_one_and_several_environments(with_loki: Imbi) -> None:
    one = with_loki.get(
        '/logs/histogram', environment='production', bucket_count=5
    )
    assert one.status_code == 200, one.text
    assert sum(b['count'] for b in one.json()) == 5
    both = with_loki.get(
        '/logs/histogram',
        environment=['production', 'staging'],
        bucket_count=5,
    )
    assert both.status_code == 200, both.text
    assert sum(b['count'] for b in both.json()) == 10
    assert len(both.json()) == len(one.json())


def test_schema(with_loki: Imbi) -> None:
    response = with_loki.get('/logs/schema', environment='production')
    assert response.status_code == 200, response.text
    names = {field['name'] for field in response.json()}
    assert {'message', 'service_name', 'env'} <= names


def test_cursors_of_another_query_and_with_several_environments(
    with_loki: Imbi,
) -> None:
    first = with_loki.get('/logs/', environment='production', limit=2)
    cursor = first.json()['next_cursor']
    other = with_loki.get(
        '/logs/',
        environment='production',
        limit=2,
        level='warn',
        cursor=cursor,
    )
    assert other.status_code == 409
    assert other.json()['detail']['error'] == 'cursor_expired'
    assert other.json()['detail']['message']
    several = with_loki.get(
        '/logs/', environment=['production', 'staging'], cursor=cursor
    )
    assert several.status_code == 400


def test_an_unhandled_error_is_plain_text(with_loki: Imbi) -> None:
    response = with_loki.get(
        '/logs/', environment='production', filter='message:regex:(?=x)'
    )
    assert response.status_code == 500
    assert response.text == 'Internal Server Error'


# -- cloudwatch ------------------------------------------------------------


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
        imbi.graph.assign(
            'plugin-cloudwatch',
            'cloudwatch',
            'logs',
            credentials={
                'access_key_id': key.access_key_id,
                'secret_access_key': key.secret_access_key,
            },
            plugin_options={
                'region': 'us-east-1',
                'endpoint_url': url,
                'log_group_template': '/${org_slug}/${environment}'
                '/${project_slug}',
            },
        )
        yield imbi, fake


def test_cloudwatch_search_with_the_hosts_botocore(
    with_cloudwatch: tuple[Imbi, CloudWatchFake],
) -> None:
    """imbi-api 2.5.1's botocore predates startFromHead (failure 1)."""
    imbi, _ = with_cloudwatch
    response = imbi.get(
        '/logs/', environment='production', filter='message:contains:prod'
    )
    assert response.status_code == 200, response.text
    assert _messages(response) == [
        'production 0',
        'production 1',
        'production 2',
    ]
    both = imbi.get('/logs/', environment=['production', 'staging'])
    assert both.status_code == 200, both.text
    assert both.json()['warnings'] == []
    assert len(both.json()['entries']) == 6


def test_cloudwatch_pages_without_explicit_times(
    with_cloudwatch: tuple[Imbi, CloudWatchFake],
) -> None:
    imbi, _ = with_cloudwatch
    first = imbi.get('/logs/', environment='staging', limit=2)
    second = imbi.get(
        '/logs/',
        environment='staging',
        limit=2,
        cursor=first.json()['next_cursor'],
    )
    assert second.status_code == 200, second.text
    assert _messages(first) + _messages(second) == [
        'staging 0',
        'staging 1',
        'staging 2',
    ]


def test_cloudwatch_without_an_environment(
    with_cloudwatch: tuple[Imbi, CloudWatchFake],
) -> None:
    imbi, fake = with_cloudwatch
    response = imbi.get('/logs/')
    assert response.status_code == 500
    assert response.text == 'Internal Server Error'
    assert fake.operations() == []
