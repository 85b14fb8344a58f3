"""The fault matrix: what each upstream failure becomes."""

import socket
import threading
import time
import typing

import pytest
from imbi_plugin_cloudwatch import _host
from imbi_plugin_cloudwatch._host import (
    PluginAuthenticationFailed,
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_testing import Fault

Env = typing.Any
#: Throttling after the retries: v3 hosts have PluginRateLimited.
RATE_LIMITED = _host.optional('PluginRateLimited') or PluginUnavailableError
FILTER = ['message:contains:event']


@pytest.fixture
def events(cw: Env) -> Env:
    for index in range(3):
        cw.put(10 - index, f'event {index}')
    return cw


@pytest.mark.filter_log_events
@pytest.mark.parametrize(
    ('code', 'status'),
    [
        ('ThrottlingException', 400),
        ('ServiceUnavailableException', 500),
        ('InternalFailure', 500),
    ],
)
async def test_transient_errors_are_retried(
    events: Env, code: str, status: int
) -> None:
    events.fake.fail_next('FilterLogEvents', code, 'busy', status=status)
    response = await events.host().search(events.query(filters=FILTER))
    assert response.status == 200
    assert len(response.body['entries']) == 3
    assert events.fake.operations() == ['FilterLogEvents'] * 2


@pytest.mark.filter_log_events
@pytest.mark.parametrize(
    ('code', 'status'),
    [('ThrottlingException', 400), ('ServiceUnavailableException', 500)],
)
async def test_persistent_errors_are_unavailable(
    events: Env, code: str, status: int
) -> None:
    events.fake.fail_next(
        'FilterLogEvents', code, 'Rate exceeded', status=status, times=3
    )
    response = await events.host().search(events.query(filters=FILTER))
    assert response.status == 500
    expected = RATE_LIMITED if 'Throttling' in code else PluginUnavailableError
    assert isinstance(response.error, expected)
    assert code in response.detail
    assert 'retry' in response.detail
    assert events.fake.operations() == ['FilterLogEvents'] * 3


@pytest.mark.filter_log_events
@pytest.mark.parametrize(
    'fault',
    [
        Fault(status=502, body='Bad gateway'),
        Fault(drop=True),
    ],
    ids=['502', 'dropped'],
)
async def test_gateway_errors_and_drops(events: Env, fault: Fault) -> None:
    events.fake.inject(fault)
    response = await events.host().search(events.query(filters=FILTER))
    assert response.status == 200
    events.fake.inject(
        Fault(
            status=fault.status,
            body=fault.body,
            drop=fault.drop,
            times=3,
        )
    )
    failed = await events.host().search(events.query(filters=FILTER))
    assert isinstance(failed.error, PluginUnavailableError)


async def test_start_query_is_not_resent_after_a_drop(events: Env) -> None:
    events.fake.inject(Fault(drop=True))
    response = await events.host().search(events.query(levels=['error']))
    assert isinstance(response.error, PluginUnavailableError)
    assert events.fake.operations() == ['StartQuery']


async def test_malformed_body_is_unavailable(events: Env) -> None:
    events.fake.inject(Fault(malformed=True))
    response = await events.host().search(events.query(filters=FILTER))
    assert isinstance(response.error, PluginUnavailableError)
    events.fake.inject(Fault(malformed=True))
    schema = await events.host().schema()
    assert isinstance(schema.error, PluginUnavailableError)
    events.fake.inject(Fault(malformed=True))
    insights = await events.host().search(events.query(levels=['error']))
    assert isinstance(insights.error, PluginUnavailableError)


async def test_unexpected_query_status(events: Env) -> None:
    events.fake.fail_next('GetQueryResults', 'x', status=200)
    response = await events.host().search(events.query(levels=['error']))
    assert isinstance(response.error, PluginUnavailableError)


async def test_stalled_upstream_times_out_in_budget(events: Env) -> None:
    events.fake.inject(Fault(stall=True))
    response = await events.host(timeout_seconds=1).search(
        events.query(filters=FILTER)
    )
    assert isinstance(response.error, PluginTimeoutError)
    assert response.elapsed < 1.5


async def test_connection_refused(events: Env) -> None:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    host = events.host(endpoint_url=f'http://127.0.0.1:{port}')
    response = await host.search(events.query(filters=FILTER))
    assert isinstance(response.error, PluginUnavailableError)
    assert 'could not be reached' in response.detail


async def test_missing_log_group_names_it(events: Env) -> None:
    host = events.host(log_group_template='/${org_slug}/missing')
    for call in (
        host.search(events.query(filters=FILTER)),
        host.search(events.query(levels=['error'])),
    ):
        response = await call
        assert isinstance(response.error, ValueError)
        assert "log group '/aweber/missing' does not exist" in (
            response.detail
        )


@pytest.mark.filter_log_events
async def test_other_errors(events: Env) -> None:
    events.fake.fail_next(
        'FilterLogEvents', 'InvalidParameterException', 'bad prefix'
    )
    response = await events.host().search(events.query(filters=FILTER))
    assert isinstance(response.error, ValueError)
    assert 'bad prefix' in response.detail
    events.fake.fail_next('FilterLogEvents', 'WeirdException', 'odd')
    odd = await events.host().search(events.query(filters=FILTER))
    assert isinstance(odd.error, PluginUnavailableError)
    assert 'WeirdException' in odd.detail
    assert events.fake.operations() == ['FilterLogEvents'] * 2


async def test_wrong_secret(events: Env) -> None:
    credentials = events.credentials()
    credentials['secret_access_key'] = 'not-the-secret-at-all'
    response = await events.host(credentials).search(
        events.query(filters=FILTER)
    )
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'InvalidSignatureException' in response.detail
    assert 'signature we calculated' not in response.detail


async def test_unknown_key(events: Env) -> None:
    unknown = {
        'access_key_id': 'AKIAUNKNOWNUNKNOWN00',
        'secret_access_key': 'unknown-secret-value',
    }
    response = await events.host(unknown).search(events.query(filters=FILTER))
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'UnrecognizedClientException' in response.detail


async def test_expired_session_token(events: Env) -> None:
    expired = events.fake.add_key(
        access_key_id='ASIAEXPIREDEXPIRED01',
        session_token='expired-session-token-value',
        expires_at=1.0,
    )
    response = await events.host(events.credentials(expired)).search(
        events.query(filters=FILTER)
    )
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'ExpiredTokenException' in response.detail


@pytest.mark.filter_log_events
async def test_access_denied(events: Env) -> None:
    limited = events.fake.add_key(actions={'StartQuery', 'GetQueryResults'})
    host = events.host(events.credentials(limited))
    response = await host.search(events.query(filters=FILTER))
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'logs:FilterLogEvents' in response.detail
    insights = await host.search(events.query(levels=['error']))
    assert insights.status == 200


# -- statuses without an AWS error code (a proxy, a wrong endpoint_url) ---


@pytest.mark.filter_log_events
@pytest.mark.parametrize(
    ('status', 'body'),
    [(401, 'Unauthorized'), (403, {'message': 'Forbidden'})],
)
async def test_bare_auth_statuses_are_authentication_failures(
    events: Env, status: int, body: typing.Any
) -> None:
    events.fake.inject(Fault(status=status, body=body))
    response = await events.host().search(events.query(filters=FILTER))
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert f'HTTP {status} and no AWS error code' in response.detail
    assert events.fake.operations() == ['FilterLogEvents']


async def test_bare_404_points_at_endpoint_url(events: Env) -> None:
    events.fake.inject(Fault(status=404, body='<html>Not Found</html>'))
    response = await events.host().schema()
    assert isinstance(response.error, PluginUnavailableError)
    assert 'is endpoint_url a CloudWatch Logs endpoint' in (response.detail)


async def test_aws_not_found_is_the_log_group_whatever_the_status(
    events: Env,
) -> None:
    # botocore maps by __type: a ResourceNotFoundException is the log
    # group, whether AWS's 400 or a 404 on the way.
    events.fake.inject(
        Fault(
            status=404,
            body={
                '__type': 'ResourceNotFoundException',
                'message': 'The specified log group does not exist.',
            },
        )
    )
    response = await events.host().search(events.query(levels=['error']))
    assert isinstance(response.error, ValueError)
    assert 'check log_group_template' in response.detail


@pytest.mark.filter_log_events
async def test_429_is_retried_after_retry_after(events: Env) -> None:
    events.fake.inject(
        Fault(
            status=429, body='Too Many Requests', headers={'Retry-After': '1'}
        )
    )
    response = await events.host().search(events.query(filters=FILTER))
    assert response.status == 200
    assert len(response.body['entries']) == 3
    assert events.fake.operations() == ['FilterLogEvents'] * 2
    assert response.elapsed >= 1.0


async def test_429_past_the_budget_says_when_to_retry(events: Env) -> None:
    events.fake.inject(
        Fault(
            status=429,
            body={'__type': 'ThrottlingException', 'message': 'Rate exceeded'},
            headers={'Retry-After': '30'},
        )
    )
    before = time.time()
    response = await events.host().search(events.query(levels=['error']))
    assert isinstance(response.error, RATE_LIMITED)
    assert 'retry in 30 s' in response.detail
    retry_at = getattr(response.error, 'retry_at', None)  # v3 hosts only
    if RATE_LIMITED is not PluginUnavailableError:
        assert retry_at is not None
        assert before + 30 <= retry_at <= time.time() + 30
    assert events.fake.operations() == ['StartQuery']
    assert response.elapsed < 1.0


# -- StartQuery is not idempotent: each one starts a query on AWS ---------


@pytest.mark.parametrize(
    ('code', 'status'),
    [
        ('InternalFailure', 500),
        ('ServiceUnavailableException', 503),
        ('InternalServerError', 500),
    ],
)
async def test_start_query_is_not_resent_after_a_server_error(
    events: Env, code: str, status: int
) -> None:
    # The first StartQuery may already run on AWS: sending another would
    # leave it running, unseen and never stopped.
    events.fake.fail_next('StartQuery', code, 'try later', status=status)
    response = await events.host().search(events.query(levels=['error']))
    assert isinstance(response.error, PluginUnavailableError)
    assert code in response.detail
    assert events.fake.operations() == ['StartQuery']


async def test_start_query_is_resent_after_throttling(events: Env) -> None:
    events.fake.fail_next('StartQuery', 'ThrottlingException', 'Rate exceeded')
    response = await events.host().search(events.query(levels=['error']))
    assert response.status == 200, response.body
    assert events.fake.operations()[:2] == ['StartQuery', 'StartQuery']
    assert events.fake.operations().count('StartQuery') == 2


# -- socket timeouts end with the budget -----------------------------------


@pytest.mark.filter_log_events
async def test_stalled_threads_end_with_the_budget(events: Env) -> None:
    # AssumeRole takes 2 of the 3 s: the Logs client, built after it,
    # waits 1 s for a stalled answer, not a whole new 3 s budget.
    role = events.fake.add_role('imbi-logs', [events.key])
    events.fake.inject(
        Fault(latency=2.0, when=lambda r: b'Action=AssumeRole' in r.body)
    )
    events.fake.inject(
        Fault(stall=True, when=lambda r: 'x-amz-target' in r.headers)
    )
    before = set(threading.enumerate())
    response = await events.host(role_arn=role.arn, timeout_seconds=3).search(
        events.query(filters=FILTER)
    )
    assert isinstance(response.error, PluginTimeoutError)
    assert events.fake.operations() == ['AssumeRole', 'FilterLogEvents']
    workers = [
        t
        for t in set(threading.enumerate()) - before
        if t.name.startswith('imbi-cloudwatch')
    ]
    for thread in workers:
        thread.join(timeout=1.0)
    assert not [t for t in workers if t.is_alive()]
