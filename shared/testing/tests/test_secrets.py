"""The secret scan catches secrets in logs, warnings and exceptions."""

import logging
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


def test_third_party_debug_logs_are_not_scanned() -> None:
    with SecretScan('hunter2-secret') as scan:
        logging.getLogger('botocore').debug('hunter2-secret')
    scan.check()


def test_exceptions_and_their_causes_are_scanned() -> None:
    def fail() -> None:
        try:
            raise KeyError('hunter2-secret')
        except KeyError as exc:
            raise RuntimeError('wrapped') from exc

    scan = SecretScan('hunter2-secret')
    with pytest.raises(RuntimeError), scan:
        fail()
    assert len(scan.leaks()) == 1


def test_logged_tracebacks_and_bad_records() -> None:
    with SecretScan('hunter2-secret') as scan:
        try:
            raise ValueError('hunter2-secret')
        except ValueError:
            logging.getLogger('imbi_plugin_x').exception('failed')
    assert len(scan.leaks()) == 1


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
