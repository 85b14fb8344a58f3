"""The fault matrix: every upstream failure maps to the policy's error."""

import datetime
import time
import typing

import pytest
from imbi_plugin_loki import _host, client
from imbi_plugin_loki._host import (
    PluginAuthenticationFailed,
    PluginCredentialsMissing,
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_testing import Fault
from imbi_plugin_testing.generation import V3

if typing.TYPE_CHECKING:
    from conftest import Loki

#: What a 429 is after the retries: v3 hosts have PluginRateLimited.
RATE_LIMITED = _host.optional('PluginRateLimited') or PluginUnavailableError
PASSWORD = 'glc_eyJvIjoiMTIzIiwibiI6InN0YWNr-secret'
TOKEN = 'loki-bearer-0f9e8d7c6b5a4'
SECOND = 1_000_000_000


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, '_backoff', lambda attempt: 0.01)


async def _search(loki: Loki, **options: typing.Any) -> typing.Any:
    return await loki.host(**options).search(loki.query())


@pytest.mark.parametrize('method', ['search', 'histogram', 'schema'])
@pytest.mark.parametrize(
    ('fault', 'error', 'text', 'requests'),
    [
        (
            dict(status=400, body='parse error at line 1, col 3: boom'),
            ValueError,
            'Loki rejected the query: parse error at line 1, col 3: boom',
            1,
        ),
        (
            dict(status=403, body='access denied'),
            PluginAuthenticationFailed,
            'Loki refused the credentials (HTTP 403: access denied)',
            1,
        ),
        (
            dict(status=401, body='invalid token'),
            PluginAuthenticationFailed,
            'HTTP 401: invalid token',
            1,
        ),
        (
            dict(status=401, body='no org id'),
            ValueError,
            'set the plugin option `tenant`',
            1,
        ),
        (
            dict(status=429, body='too many outstanding requests', times=3),
            RATE_LIMITED,
            'rate limiting requests (HTTP 429: too many outstanding',
            3,
        ),
        (
            dict(status=429, headers={'Retry-After': '30'}, times=3),
            RATE_LIMITED,
            'retry in 30s',
            1,
        ),
        (
            dict(status=500, body='internal', times=3),
            PluginUnavailableError,
            'Loki is unavailable (HTTP 500: internal)',
            3,
        ),
        (
            dict(status=502, times=3),
            PluginUnavailableError,
            'HTTP 502',
            3,
        ),
        (
            dict(status=503, body='unavailable', times=3),
            PluginUnavailableError,
            'HTTP 503',
            3,
        ),
        (
            dict(status=504, body='timeout'),
            PluginTimeoutError,
            'Loki timed out (HTTP 504: timeout)',
            1,
        ),
        (
            dict(status=499, body='client closed'),
            PluginUnavailableError,
            'HTTP 499',
            1,
        ),
        (
            dict(status=404, body='404 page not found'),
            PluginUnavailableError,
            'HTTP 404: 404 page not found',
            1,
        ),
        (
            dict(malformed=True),
            PluginUnavailableError,
            'not a success JSON document',
            1,
        ),
        (
            dict(status=200, body={'status': 'error', 'error': 'x'}),
            PluginUnavailableError,
            'not a success JSON document',
            1,
        ),
        (
            dict(drop=True, times=3),
            PluginUnavailableError,
            'cannot reach Loki',
            3,
        ),
    ],
)
async def test_fault_matrix(
    loki: Loki,
    method: str,
    fault: dict[str, typing.Any],
    error: type[Exception],
    text: str,
    requests: int,
) -> None:
    loki.fake.inject(Fault(**fault))
    host = loki.host()
    if method == 'search':
        response = await host.search(loki.query())
    elif method == 'histogram':
        response = await host.histogram(loki.query(), bucket_count=5)
    else:
        response = await host.schema()
    assert response.status == 500
    assert isinstance(response.error, error), response.error
    assert text in str(response.error)
    assert len(loki.fake.requests) == requests


@pytest.mark.parametrize('status', [429, 500, 502, 503])
async def test_transient_failures_are_retried(loki: Loki, status: int) -> None:
    loki.push([(loki.now_ns - SECOND, 'line')])
    loki.fake.inject(Fault(status=status, times=2))
    response = await _search(loki)
    assert response.status == 200, response.body
    assert [e.message for e in response.result.entries] == ['line']
    assert len(loki.fake.requests) == 3


async def test_retry_after_within_the_budget_is_honoured(loki: Loki) -> None:
    loki.fake.inject(Fault(status=429, headers={'Retry-After': '1'}))
    started = time.monotonic()
    response = await _search(loki)
    assert response.status == 200, response.body
    assert time.monotonic() - started >= 1.0
    assert len(loki.fake.requests) == 2


async def test_retry_after_as_a_date(loki: Loki) -> None:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    date = when.strftime('%a, %d %b %Y %H:%M:%S GMT')
    loki.fake.inject(Fault(status=429, headers={'Retry-After': date}))
    response = await _search(loki)
    assert isinstance(response.error, RATE_LIMITED)
    assert 'retry in 3' in str(response.error)
    assert len(loki.fake.requests) == 1


@pytest.mark.parametrize(
    ('headers', 'pause'),
    [
        ({'Retry-After': '30'}, 30.0),
        ({}, client.RATE_LIMIT_PAUSE_SECONDS),
    ],
)
async def test_rate_limited_says_when_to_retry(
    loki: Loki, headers: dict[str, str], pause: float
) -> None:
    """v3 hosts back off until ``retry_at``; v1 hosts have no such
    error, so the same refusal is PluginUnavailableError there."""
    loki.fake.inject(Fault(status=429, headers=headers, times=3))
    before = time.time()
    response = await _search(loki, timeout_seconds=1)
    error = response.error
    limited = _host.optional('PluginRateLimited')
    if limited is None:
        assert type(error) is PluginUnavailableError
        return
    assert isinstance(error, limited)
    assert before + pause <= error.retry_at <= time.time() + pause
    assert 'rate limiting requests (HTTP 429' in str(error)


async def test_unreadable_retry_after_falls_back_to_backoff(
    loki: Loki,
) -> None:
    loki.fake.inject(Fault(status=429, headers={'Retry-After': 'soon'}))
    response = await _search(loki)
    assert response.status == 200, response.body


async def test_stalled_upstream_times_out_within_budget(loki: Loki) -> None:
    loki.fake.inject(Fault(stall=True))
    started = time.monotonic()
    response = await _search(loki, timeout_seconds=1)
    assert isinstance(response.error, PluginTimeoutError)
    assert time.monotonic() - started < 2.0


async def test_latency_inside_the_budget_is_fine(loki: Loki) -> None:
    loki.fake.inject(Fault(latency=0.2))
    response = await _search(loki)
    assert response.status == 200, response.body


async def test_unreachable_loki_is_unavailable(loki: Loki) -> None:
    response = await _search(loki, url='http://127.0.0.1:9')
    assert isinstance(response.error, PluginUnavailableError)
    assert 'cannot reach Loki' in str(response.error)


@pytest.mark.parametrize(
    ('method', 'body'),
    [
        ('search', {'status': 'success', 'data': {'resultType': 'matrix'}}),
        (
            'search',
            {
                'status': 'success',
                'data': {'resultType': 'streams', 'result': [{'stream': 1}]},
            },
        ),
        (
            'search',
            {
                'status': 'success',
                'data': {
                    'resultType': 'streams',
                    'result': [{'stream': {}, 'values': [['x', 'line']]}],
                },
            },
        ),
        (
            'histogram',
            {
                'status': 'success',
                'data': {
                    'resultType': 'matrix',
                    'result': [{'metric': {}, 'values': 'oops'}],
                },
            },
        ),
        ('schema', {'status': 'success', 'data': {'names': []}}),
    ],
)
async def test_unexpected_shapes_are_unavailable(
    loki: Loki, method: str, body: dict[str, typing.Any]
) -> None:
    loki.fake.inject(Fault(status=200, body=body))
    host = loki.host()
    if method == 'search':
        response = await host.search(loki.query())
    elif method == 'histogram':
        response = await host.histogram(loki.query(), bucket_count=5)
    else:
        response = await host.schema()
    assert isinstance(response.error, PluginUnavailableError)
    assert 'unexpected' in str(response.error)


async def test_unexpected_sample_shape_is_unavailable(loki: Loki) -> None:
    loki.fake.inject(
        Fault(
            path='query_range',
            status=200,
            body={
                'status': 'success',
                'data': {'resultType': 'streams', 'result': [{}]},
            },
        )
    )
    response = await loki.host(line_format='json').schema()
    assert isinstance(response.error, PluginUnavailableError)


async def test_real_loki_400_carries_its_text(loki: Loki) -> None:
    query = loki.query(
        start=loki.now - datetime.timedelta(days=40), end=loki.now
    )
    response = await loki.host().search(query)
    assert isinstance(response.error, ValueError)
    assert 'the query time range exceeds the limit' in str(response.error)


async def test_missing_tenant_is_explained(loki: Loki) -> None:
    response = await _search(loki, tenant=None)
    assert isinstance(response.error, ValueError)
    assert 'set the plugin option `tenant`' in str(response.error)


async def test_loki_without_auth_needs_no_tenant(loki: Loki) -> None:
    loki.fake.auth_enabled = False
    loki.fake.push({'service_name': 'billing-api'}, [(loki.now_ns - 1, 'x')])
    response = await _search(loki, tenant=None)
    assert [e.message for e in response.result.entries] == ['x']


async def test_basic_auth_as_grafana_cloud(loki: Loki) -> None:
    loki.fake.users = {'918273': PASSWORD}
    loki.push([(loki.now_ns - SECOND, 'cloud line')], tenant='918273')
    creds = {'username': '918273', 'password': PASSWORD}
    response = await loki.host(credentials=creds, tenant=None).search(
        loki.query()
    )
    assert response.status == 200, response.body
    assert [e.message for e in response.result.entries] == ['cloud line']
    bad = {'username': '918273', 'password': PASSWORD + 'x'}
    response = await loki.host(credentials=bad, tenant=None).search(
        loki.query()
    )
    assert isinstance(response.error, PluginAuthenticationFailed)


async def test_bearer_token(loki: Loki) -> None:
    loki.fake.tokens = {TOKEN}
    response = await loki.host(credentials={'token': TOKEN}).search(
        loki.query()
    )
    assert response.status == 200, response.body
    request = loki.fake.requests[-1]
    assert request.headers['authorization'] == f'Bearer {TOKEN}'
    response = await loki.host(credentials={'token': 'wrong-token'}).search(
        loki.query()
    )
    assert isinstance(response.error, PluginAuthenticationFailed)
    for recorded in loki.fake.requests:
        assert TOKEN not in recorded.url_text
        assert PASSWORD not in recorded.url_text


@pytest.mark.parametrize(
    ('credentials', 'error', 'text'),
    [
        ({'username': 'u1'}, PluginCredentialsMissing, 'password'),
        ({'username': 'u1', 'password': ''}, PluginCredentialsMissing, 'pass'),
        ({'password': PASSWORD}, PluginCredentialsMissing, 'username'),
        (
            {'username': 'u1', 'password': PASSWORD, 'token': TOKEN},
            ValueError,
            'not both',
        ),
        (
            {'auth_mode': 'basic'},
            PluginCredentialsMissing,
            "'username' and 'password' are missing: auth_mode is basic",
        ),
        (
            {'auth_mode': 'basic', 'token': TOKEN},
            PluginCredentialsMissing,
            'auth_mode is basic',
        ),
        (
            {'auth_mode': 'bearer'},
            PluginCredentialsMissing,
            "'token' is missing: auth_mode is bearer",
        ),
        (
            {'auth_mode': 'none', 'token': TOKEN},
            ValueError,
            'auth_mode is none but credentials are stored',
        ),
        (
            {'auth_mode': PASSWORD},
            ValueError,
            "'auth_mode' must be one of none, basic, bearer",
        ),
    ],
)
async def test_incomplete_credentials_make_no_request(
    loki: Loki,
    credentials: dict[str, str],
    error: type[Exception],
    text: str,
) -> None:
    response = await loki.host(credentials=credentials).search(loki.query())
    assert isinstance(response.error, error)
    assert text in str(response.error)
    assert PASSWORD not in str(response.error)
    assert loki.fake.requests == []
    if error is PluginCredentialsMissing:
        assert response.status == 503


async def test_credentials_never_leave_the_authorization_header(
    loki: Loki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level('DEBUG')
    loki.fake.users = {'918273': PASSWORD}
    loki.fake.inject(Fault(status=500, times=1))
    loki.fake.inject(Fault(path='labels', status=401, body='bad token'))
    creds = {'username': '918273', 'password': PASSWORD}
    host = loki.host(credentials=creds, tenant=None, line_format='json')
    responses = [
        await host.search(loki.query(filters=['message:regex:(?=x)'])),
        await host.search(loki.query()),
        await host.histogram(loki.query(), bucket_count=3),
        await host.schema(),
    ]
    assert [r.status for r in responses] == [500, 200, 200, 500]
    texts = [caplog.text] + [
        f'{r.error!s} {r.error!r}' for r in responses if r.error
    ]
    texts += [r.url_text for r in loki.fake.requests]
    assert all(PASSWORD not in text for text in texts)
    assert all(
        r.headers['authorization'].startswith('Basic ')
        for r in loki.fake.requests
    )
    assert len(loki.fake.requests) == 4


@pytest.mark.parametrize(
    ('credentials', 'header'),
    [
        ({'auth_mode': 'none'}, None),
        ({'auth_mode': ' None '}, None),
        # A v3 host stores no blank value: that blob is empty (503).
        *([] if V3 else [({'auth_mode': ''}, None)]),
        ({'auth_mode': 'bearer', 'token': TOKEN}, f'Bearer {TOKEN}'),
        (
            {'auth_mode': 'BASIC', 'username': 'u', 'password': 'p'},
            'Basic dTpw',
        ),
    ],
)
async def test_auth_mode_matching_the_credentials(
    loki: Loki, credentials: dict[str, str], header: str | None
) -> None:
    """v3 Integrations of an open Loki store only auth_mode (v3 hosts
    refuse an empty credential blob); it is checked, never sent."""
    loki.fake.auth_enabled = False
    loki.push([(loki.now_ns - SECOND, 'open')])
    response = await loki.host(credentials=credentials).search(loki.query())
    assert response.status == 200, response.body
    assert [e.message for e in response.result.entries] == ['open']
    (request,) = loki.fake.requests
    assert request.headers.get('authorization') == header
