"""The secret scan catches secrets in logs, warnings and exceptions."""

import base64
import json
import logging
import types
import warnings

import pytest
import tiny
from imbi_plugin_testing import Host, SecretLeak, SecretScan
from imbi_plugin_testing.secrets import current_scan


def test_clean_run_passes() -> None:
    with SecretScan('hunter2-secret') as scan:
        logging.getLogger('imbi_plugin_x').debug('nothing to see')
        assert current_scan() is scan
    scan.check()
    assert current_scan() is None


@pytest.mark.parametrize(
    'leak',
    [
        lambda: logging.getLogger('imbi_plugin_x').debug(
            'token=%s', 'hunter2-secret'
        ),
        lambda: logging.getLogger('httpx').info(
            'GET https://x/?token=hunter2-secret'
        ),
        lambda: warnings.warn('hunter2-secret', UserWarning, stacklevel=1),
    ],
)
def test_leaks_in_logs_and_warnings_are_found(leak: object) -> None:
    with SecretScan('hunter2-secret') as scan:
        leak()  # type: ignore[operator]
    with pytest.raises(SecretLeak, match='<SECRET>'):
        scan.check()


@pytest.mark.parametrize(
    'name',
    ['httpx', 'httpcore.http11', 'botocore.endpoint', 'urllib3', 'hvac'],
)
def test_library_debug_logs_are_scanned(name: str) -> None:
    logger = logging.getLogger(name)
    # A library (or the host's logging config) may quieten its logger.
    logger.setLevel(logging.WARNING)
    try:
        with SecretScan('hunter2-secret') as scan:
            logger.debug('hunter2-secret')
    finally:
        logger.setLevel(logging.NOTSET)
    assert len(scan.leaks()) == 1
    assert not logger.isEnabledFor(logging.DEBUG)


def test_loggers_that_do_not_propagate_are_scanned() -> None:
    logger = logging.getLogger('imbi_plugin_isolated')
    logger.propagate = False
    try:
        with SecretScan('hunter2-secret') as scan:
            logger.info('hunter2-secret')
    finally:
        logger.propagate = True
    assert len(scan.leaks()) == 1


@pytest.mark.parametrize(
    'text',
    [
        # Basic auth of user:secret at each Base64 alignment.
        'Authorization: Basic '
        + base64.b64encode(b'admin:hunter2-secret').decode(),
        'Authorization: Basic '
        + base64.b64encode(b'ad:hunter2-secret').decode(),
        'Authorization: Basic '
        + base64.b64encode(b'a:hunter2-secret').decode(),
        'Authorization: Basic '
        + base64.b64encode(b'hunter2-secret:').decode(),
        json.dumps({'token': 'hunter2"sec\\ret'}),
    ],
)
def test_derived_forms_are_found(text: str) -> None:
    with SecretScan('hunter2-secret', 'hunter2"sec\\ret') as scan:
        logging.getLogger('imbi_plugin_x').info(text)
    assert len(scan.leaks()) == 1


def test_requests_and_responses_of_exceptions_are_scanned() -> None:
    import httpx

    request = httpx.Request(
        'POST',
        'https://example.test/token',
        headers={'Authorization': 'Bearer hunter2-secret'},
    )
    with SecretScan('hunter2-secret') as scan:
        scan.record_exception(RuntimeError('clean'))
        exc = httpx.ConnectTimeout('timed out', request=request)
        try:
            raise RuntimeError('clean') from exc
        except RuntimeError as wrapped:
            scan.record_exception(wrapped)
    assert scan.leaks()


def test_exception_group_members_and_bodies_are_scanned() -> None:
    import httpx

    request = httpx.Request(
        'POST', 'https://example.test/token', data={'code': 'hunter2-secret'}
    )
    response = httpx.Response(400, request=request)
    inner = httpx.HTTPStatusError('bad', request=request, response=response)
    with SecretScan('hunter2-secret') as scan:
        scan.record_exception(ExceptionGroup('clean', [ValueError(), inner]))
    assert scan.leaks()


def test_plugin_frame_locals_are_scanned_but_credential_names_are_not() -> (
    None
):
    def clean(credentials: object, token: str, body: str) -> None:
        raise RuntimeError('clean')

    # The same code, as if it were a plugin's module.
    fail = types.FunctionType(
        clean.__code__,
        {
            '__name__': 'imbi_plugin_example.client',
            'RuntimeError': RuntimeError,
        },
    )
    with SecretScan('hunter2-secret') as scan:
        for body in ('grant=x', 'code=hunter2-secret'):
            try:
                fail({'t': 'hunter2-secret'}, 'hunter2-secret', body)
            except RuntimeError as exc:
                scan.record_exception(exc)
    # Only the body, once: the credential-named locals are scrubbed.
    assert len(scan.leaks()) == 1


def test_exceptions_and_their_causes_are_scanned() -> None:
    def fail() -> None:
        try:
            raise KeyError('hunter2-secret')
        except KeyError as exc:
            raise RuntimeError('wrapped') from exc

    scan = SecretScan('hunter2-secret')
    with pytest.raises(RuntimeError), scan:
        fail()
    assert scan.leaks()


def test_logged_tracebacks_and_bad_records() -> None:
    with SecretScan('hunter2-secret') as scan:
        try:
            raise ValueError('hunter2-secret')
        except ValueError:
            logging.getLogger('imbi_plugin_x').exception('failed')
    assert scan.leaks()


def test_short_values_are_not_registered() -> None:
    scan = SecretScan('abc', '', None)  # type: ignore[arg-type]
    assert scan.secrets == set()


async def test_host_registers_credentials_and_reports_errors() -> None:
    tiny.TinyWebhook.calls = []
    with SecretScan() as scan:
        host = Host(tiny.TinyWebhook, credentials={'token': 'hook-token-1'})
        await host.dispatch(
            'tiny-webhook:leak',
            external_identifier='hook-token-1',
            action_config='{}',
            payload=None,
        )
    assert 'hook-token-1' in scan.secrets
    with pytest.raises(SecretLeak):
        scan.check()


def test_fixture_fails_the_test_on_a_leak(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import logging

        def test_leaks(secret_scan):
            secret_scan.add('hunter2-secret')
            logging.getLogger('x').error('hunter2-secret')

        def test_clean(secret_scan):
            secret_scan.add('hunter2-secret')
        """
    )
    result = pytester.runpytest_inprocess('-p', 'no:cacheprovider')
    # The leaking test passes its body and fails at teardown.
    result.assert_outcomes(passed=2, errors=1)


def test_public_credentials_are_not_registered() -> None:
    with SecretScan() as scan:
        Host(
            tiny.TinyWebhook,
            credentials={'token': 'hook-token-1', 'url': 'https://x.example'},
            public_credentials={'url'},
        )
    assert scan.secrets == {'hook-token-1'}


def test_oauth_client_ids_are_public() -> None:
    with SecretScan() as scan:
        Host(
            tiny.TinyIdentity,
            credentials={'client_id': 'Iv1.abcdef', 'client_secret': 'shh-1'},
        )
    assert scan.secrets == {'shh-1'}


def test_url_quoted_secrets_are_found() -> None:
    with SecretScan('s3cr3t/with+chars') as scan:
        logging.getLogger('httpx').info(
            'GET https://x/?token=s3cr3t%2Fwith%2Bchars'
        )
    with pytest.raises(SecretLeak):
        scan.check()


async def test_secrets_in_urls_a_stand_in_receives_are_found() -> None:
    import httpx
    import starlette.responses
    import starlette.routing
    from imbi_plugin_testing import StandIn

    class Fake(StandIn):
        def routes(self) -> list[starlette.routing.BaseRoute]:
            return [
                starlette.routing.Route(
                    '/x', lambda r: starlette.responses.Response('ok')
                )
            ]

    fake = Fake()
    with SecretScan('hunter2-secret') as scan:
        async with httpx.AsyncClient(
            transport=fake.transport(), base_url='http://fake'
        ) as client:
            await client.get('/x', params={'token': 'hunter2-secret'})
    assert any('request URL' in leak for leak in scan.leaks())


def test_a_context_suppressed_by_from_none_is_not_scanned() -> None:
    def fail(suppress: bool) -> None:
        try:
            raise KeyError('hunter2-secret')
        except KeyError:
            if suppress:
                raise RuntimeError('clean') from None
            raise RuntimeError('clean')  # noqa: B904 - the case tested

    found = []
    for suppress in (True, False):
        with SecretScan('hunter2-secret') as scan:
            try:
                fail(suppress)
            except RuntimeError as exc:
                scan.record_exception(exc)
        found.append(bool(scan.leaks()))
    assert found == [False, True]


def test_the_tests_own_browser_traffic_can_be_left_out() -> None:
    from imbi_plugin_testing.secrets import unscanned

    with SecretScan('hunter2-secret') as scan:
        with unscanned():
            logging.getLogger('httpcore').debug(
                'location: ?code=hunter2-secret'
            )
        logging.getLogger('httpcore').debug('clean')
    assert scan.leaks() == []
    assert len(scan.texts) == 1


def test_secrets_given_where_they_do_not_belong_may_sit_in_locals() -> None:
    def refuse(url: str) -> None:
        raise ValueError('the url option holds a password')

    check = types.FunctionType(
        refuse.__code__,
        {'__name__': 'imbi_plugin_example.options', 'ValueError': ValueError},
    )
    with SecretScan() as scan:
        scan.add('hunter2-secret', in_locals=False)
        try:
            check('https://u:hunter2-secret@x')
        except ValueError as exc:
            scan.record_exception(exc)
        assert scan.leaks() == []
        scan.record_text('message', 'https://u:hunter2-secret@x')
        assert scan.leaks()
