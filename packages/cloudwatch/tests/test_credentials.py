"""Credential rules, role assumption and the secrets they carry."""

import logging
import pathlib
import threading
import typing

import pytest
from imbi_plugin_cloudwatch._host import (
    PluginAuthenticationFailed,
    PluginCredentialsMissing,
)
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.generation import V3

Env = typing.Any
FILTER = ['message:contains:event']
#: No keys stored. v3 hosts refuse an Integration whose credentials are
#: empty (503, tested in test_v3_plugin), so there the operator states
#: the identity: keys (none stored) or ambient (the host's).
KEYS_ONLY: dict[str, str] = {'auth_mode': 'keys'} if V3 else {}
AMBIENT: dict[str, str] = {'auth_mode': 'ambient'} if V3 else {}


@pytest.mark.parametrize(
    ('credentials', 'missing'),
    [
        ({'access_key_id': 'AKIAONLYTHEKEYID0001'}, 'secret_access_key'),
        (
            {
                'access_key_id': 'AKIAONLYTHEKEYID0001',
                'secret_access_key': ' ',
            },
            'secret_access_key',
        ),
        ({'secret_access_key': 'only-the-secret-value'}, 'access_key_id'),
        ({'session_token': 'only-the-session-token'}, 'access_key_id'),
        *([] if V3 else [({}, 'use_host_credentials')]),
        ({'auth_mode': 'keys'}, "'access_key_id' and 'secret_access_key'"),
        # A v3 host stores no blank value: that blob is empty (503 by
        # the host, before the plugin).
        *([] if V3 else [({'auth_mode': ''}, 'use_host_credentials')]),
    ],
)
async def test_incomplete_credentials(
    cw: Env, credentials: dict[str, str], missing: str
) -> None:
    response = await cw.host(credentials).search(cw.query(filters=FILTER))
    assert response.status == 503
    assert isinstance(response.error, PluginCredentialsMissing)
    assert missing in response.detail
    assert cw.fake.requests == []


async def test_no_silent_fallback_to_the_host_identity(
    cw: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', cw.key.access_key_id)
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', cw.key.secret_access_key)
    response = await cw.host(KEYS_ONLY).search(cw.query(filters=FILTER))
    assert isinstance(response.error, PluginCredentialsMissing)
    assert cw.fake.requests == []


@pytest.mark.filter_log_events
async def test_host_credentials_when_allowed(
    cw: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    cw.put(3, 'event one')
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', cw.key.access_key_id)
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', cw.key.secret_access_key)
    host = cw.host(AMBIENT, use_host_credentials='true')
    response = await host.search(cw.query(filters=FILTER))
    assert response.status == 200
    assert len(response.body['entries']) == 1
    assert cw.fake.calls == [('FilterLogEvents', cw.key.access_key_id)]


@pytest.mark.filter_log_events
@pytest.mark.parametrize('mode', ['ambient', ' Ambient '])
async def test_auth_mode_ambient_uses_the_host_identity(
    cw: Env, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """A v3 Integration on the host's AWS identity stores only
    auth_mode (v3 hosts refuse an empty credential blob): it is as
    explicit a choice as use_host_credentials."""
    cw.put(3, 'event one')
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', cw.key.access_key_id)
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', cw.key.secret_access_key)
    response = await cw.host({'auth_mode': mode}).search(
        cw.query(filters=FILTER)
    )
    assert response.status == 200, response.body
    assert cw.fake.calls == [('FilterLogEvents', cw.key.access_key_id)]


@pytest.mark.filter_log_events
async def test_auth_mode_keys_with_keys(cw: Env) -> None:
    cw.put(3, 'event one')
    credentials = {**cw.credentials(), 'auth_mode': 'keys'}
    response = await cw.host(credentials).search(cw.query(filters=FILTER))
    assert response.status == 200, response.body
    assert cw.fake.calls == [('FilterLogEvents', cw.key.access_key_id)]


@pytest.mark.parametrize(
    ('extra', 'message'),
    [
        ({'auth_mode': 'ambient'}, 'auth_mode is ambient'),
        (
            {'auth_mode': 'AKIASECRETINWRONGFIELD'},
            "'auth_mode' must be one of keys, ambient",
        ),
    ],
)
async def test_auth_mode_contradicting_the_keys(
    cw: Env, extra: dict[str, str], message: str
) -> None:
    response = await cw.host({**cw.credentials(), **extra}).search(
        cw.query(filters=FILTER)
    )
    assert isinstance(response.error, ValueError)
    assert message in response.detail
    assert 'AKIASECRETINWRONGFIELD' not in response.detail
    assert cw.fake.requests == []


async def test_host_credentials_absent(
    cw: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    for name in (
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'AWS_SESSION_TOKEN',
        'AWS_PROFILE',
        'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
        'AWS_CONTAINER_CREDENTIALS_FULL_URI',
        'AWS_WEB_IDENTITY_TOKEN_FILE',
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', str(tmp_path / 'c'))
    monkeypatch.setenv('AWS_CONFIG_FILE', str(tmp_path / 'config'))
    monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')
    host = cw.host(AMBIENT, use_host_credentials=True)
    response = await host.search(cw.query(filters=FILTER))
    assert isinstance(response.error, PluginCredentialsMissing)
    assert 'host has no AWS credentials' in response.detail
    assert cw.fake.requests == []


async def test_temporary_keys_with_session_token(cw: Env) -> None:
    temporary = cw.fake.add_key(
        access_key_id='ASIATEMPORARYKEY0001',
        session_token='a-temporary-session-token',
    )
    cw.put(3, 'event one')
    response = await cw.host(cw.credentials(temporary)).search(
        cw.query(filters=FILTER)
    )
    assert response.status == 200
    without_token = cw.credentials(temporary)
    del without_token['session_token']
    denied = await cw.host(without_token).search(cw.query(filters=FILTER))
    assert isinstance(denied.error, PluginAuthenticationFailed)


@pytest.mark.filter_log_events
async def test_assume_role(cw: Env) -> None:
    cw.put(3, 'event one')
    role = cw.fake.add_role('imbi-logs', [cw.key], external_id='ext-1234')
    host = cw.host(role_arn=role.arn, external_id='ext-1234')
    response = await host.search(cw.query(filters=FILTER))
    assert response.status == 200, response.body
    (assume, search) = cw.fake.calls
    assert assume == ('AssumeRole', cw.key.access_key_id)
    assert search[0] == 'FilterLogEvents'
    assert search[1].startswith('ASIA')
    form = cw.fake.requests[0].body.decode()
    assert 'RoleSessionName=imbi-' in form
    assert 'DurationSeconds=900' in form
    assert 'ExternalId=ext-1234' in form


@pytest.mark.parametrize(
    ('role_options', 'detail'),
    [
        ({'external_id': 'wrong'}, 'sts:AssumeRole'),
        ({}, 'sts:AssumeRole'),
    ],
)
async def test_assume_role_denied(
    cw: Env, role_options: dict[str, str], detail: str
) -> None:
    role = cw.fake.add_role('imbi-logs', [cw.key], external_id='ext-1234')
    host = cw.host(role_arn=role.arn, **role_options)
    response = await host.search(cw.query(filters=FILTER))
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert detail in response.detail
    assert 'STS' in response.detail
    assert cw.fake.operations() == ['AssumeRole']


async def test_assumed_role_permissions_apply(cw: Env) -> None:
    role = cw.fake.add_role('narrow', [cw.key], actions={'StartQuery'})
    response = await cw.host(role_arn=role.arn).search(
        cw.query(levels=['error'])
    )
    assert isinstance(response.error, PluginAuthenticationFailed)
    assert 'logs:GetQueryResults' in response.detail
    assert 'StopQuery' in cw.fake.operations()


@pytest.mark.filter_log_events
async def test_sts_throttling_is_retried(cw: Env) -> None:
    role = cw.fake.add_role('imbi-logs', [cw.key])
    cw.fake.fail_next('AssumeRole', 'Throttling', 'Rate exceeded')
    response = await cw.host(role_arn=role.arn).search(
        cw.query(filters=FILTER)
    )
    assert response.status == 200
    assert cw.fake.operations() == [
        'AssumeRole',
        'AssumeRole',
        'FilterLogEvents',
    ]


async def test_sts_without_credentials_in_answer(cw: Env) -> None:
    role = cw.fake.add_role('imbi-logs', [cw.key])
    cw.fake.inject(
        status=200,
        body='<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>',
        headers={'content-type': 'text/xml'},
    )
    response = await cw.host(role_arn=role.arn).search(
        cw.query(filters=FILTER)
    )
    assert response.status == 500
    assert 'without credentials' in response.detail


async def test_debug_wire_dumps_hold_no_keys(
    cw: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """botocore logs signed headers and STS answers at DEBUG: masked."""
    caplog.set_level(logging.DEBUG)
    temporary = cw.fake.add_key(session_token='static-session-token-1')
    role = cw.fake.add_role('imbi-logs', [temporary])
    cw.put(3, 'event one')
    response = await cw.host(
        cw.credentials(temporary), role_arn=role.arn
    ).search(cw.query(filters=FILTER))
    assert response.status == 200
    text = '\n'.join(r.getMessage() for r in caplog.records)
    assert 'Credential=***' in text
    assert '<SecretAccessKey>***' in text
    for known in cw.fake.keys.values():
        for value in (
            known.access_key_id,
            known.secret_access_key,
            known.session_token,
        ):
            if value:
                assert value not in text


async def test_secret_scan_sees_every_failure_without_keys(
    cw: Env, secret_scan: SecretScan
) -> None:
    temporary = cw.fake.add_key(session_token='scan-session-token-1')
    role = cw.fake.add_role('imbi-logs', [temporary], external_id='ext')
    limited = cw.fake.add_key(actions=set())
    wrong = cw.credentials(temporary)
    wrong['secret_access_key'] = 'scan-wrong-secret-value'
    cases = [
        cw.host(wrong),
        cw.host(cw.credentials(limited)),
        cw.host(cw.credentials(temporary), role_arn=role.arn),
        cw.host(
            cw.credentials(temporary), role_arn=role.arn, external_id='ext'
        ),
    ]
    for host in cases:
        response = await host.search(cw.query(levels=['error']))
        assert response.status in (200, 500)
    secret_scan.add(*wrong.values())
    recorded = '\n'.join(secret_scan.texts)
    assert 'InvalidSignatureException' in recorded
    assert 'AccessDenied' in recorded
    assert secret_scan.leaks() == []


async def test_calls_leave_no_threads(cw: Env) -> None:
    cw.put(3, 'event one')
    await cw.host().search(cw.query(filters=FILTER))
    await cw.host().search(cw.query(levels=['info']))
    for thread in threading.enumerate():
        if thread.name.startswith('imbi-cloudwatch'):
            thread.join(timeout=2)
    assert not [
        t
        for t in threading.enumerate()
        if t.name.startswith('imbi-cloudwatch')
    ]


@pytest.mark.parametrize(
    ('options', 'message'),
    [
        ({'region': ''}, "'region' is required"),
        ({'region': 'us east'}, 'not a region name'),
        ({'log_group_template': '/${nope}'}, 'log_group_template'),
        ({'log_group_template': '/a b'}, 'not a valid log group'),
        ({'message_format': 'xml'}, 'message_format'),
        ({'query_mode': 'fast'}, 'query_mode'),
        ({'timeout_seconds': 'soon'}, 'timeout_seconds'),
        ({'timeout_seconds': 0}, 'positive integer'),
        ({'timeout_seconds': 301}, 'from 1 to 300'),
        ({'use_host_credentials': 'maybe'}, 'use_host_credentials'),
        ({'endpoint_url': 'ftp://x'}, 'endpoint_url'),
        ({'endpoint_url': 'http://u:p@x'}, 'endpoint_url'),
        ({'endpoint_url': 'http://logs.x'}, "set option 'allow_plain_http'"),
        (
            {'endpoint_url': 'http://logs.x', 'allow_plain_http': 'maybe'},
            'allow_plain_http',
        ),
        ({'role_arn': 'arn:aws:iam::1:user/x'}, 'role_arn'),
        ({'level_field': 'a b'}, 'level_field'),
        ({'region': ['us-east-1']}, 'must be a string'),
    ],
)
async def test_invalid_options_make_no_request(
    cw: Env, options: dict[str, typing.Any], message: str
) -> None:
    response = await cw.host(**options).search(cw.query(filters=FILTER))
    assert isinstance(response.error, ValueError)
    assert message in response.detail
    assert cw.fake.requests == []


async def test_options_coercion(cw: Env) -> None:
    cw.put(3, 'event one')
    host = cw.host(
        timeout_seconds='',
        use_host_credentials='no',
        message_format='TEXT',
        log_stream_prefix_template='${team_slug}',
        level_field='',
    )
    host.project = {'team_slug': ''}
    response = await host.search(cw.query(filters=FILTER))
    assert response.status == 200
