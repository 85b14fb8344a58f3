"""Neither token reaches logs, errors, reprs or URLs."""

import logging

import pytest
from imbi_plugin_sonarqube_sync import options
from imbi_plugin_testing import Fault
from sonarqube_helpers import KEY, World


def test_the_scan_watches_both_tokens(world: World) -> None:
    world.host()
    assert world.tokens.api_token in world.scan.secrets
    assert world.tokens.imbi_api_key in world.scan.secrets
    # It is not vacuous: a token in a log record is caught.
    world.scan.record_text('probe', f'x {world.tokens.imbi_api_key} y')
    assert world.scan.leaks() == ['probe: x <SECRET> y']
    world.scan.texts.pop()


def test_credentials_stay_out_of_reprs(world: World) -> None:
    secrets = options.require_credentials(world.credentials())
    assert world.tokens.api_token not in repr(secrets)
    assert world.tokens.imbi_api_key not in repr(secrets)


@pytest.mark.parametrize(
    ('upstream', 'fault'),
    [
        ('sonarqube', Fault(status=401)),
        ('sonarqube', Fault(status=500, times=2)),
        ('sonarqube', Fault(drop=True, times=2)),
        ('imbi', Fault(status=403)),
        ('imbi', Fault(status=422)),
        ('imbi', Fault(status=502)),
    ],
)
async def test_failures_leak_no_token(
    world: World,
    style: str,
    upstream: str,
    fault: Fault,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The fault's body echoes both tokens, as a careless upstream might.
    echo = {
        'errors': [{'msg': world.tokens.api_token}],
        'detail': world.tokens.imbi_api_key,
    }
    target = world.sonarqube if upstream == 'sonarqube' else world.imbi
    target.inject(
        Fault(
            status=fault.status,
            drop=fault.drop,
            times=fault.times,
            body=echo,
        )
    )
    with caplog.at_level(logging.DEBUG):
        response = await world.call(
            style, world.sonarqube.webhook_payload(KEY)
        )
    assert response.error is not None
    texts = [str(response.error), repr(response.error)]
    texts += [r.getMessage() for r in caplog.records]
    for text in texts:
        assert world.tokens.api_token not in text
        assert world.tokens.imbi_api_key not in text
    for request in world.sonarqube.requests + world.imbi.requests:
        assert world.tokens.api_token not in request.url_text
        assert world.tokens.imbi_api_key not in request.url_text
