"""A 404 that is not SonarQube's or the Imbi API's is not "no project"."""

import pytest
from imbi_plugin_sonarqube_sync._host import PluginUnavailableError
from sonarqube_helpers import BASIC, KEY, World

HTML = '<html><h1>404 Not Found</h1></html>'


@pytest.mark.parametrize(
    'body', [HTML, {'code': 404}], ids=['html', 'other-json']
)
async def test_a_404_that_is_not_sonarqube(
    world: World, body: str | dict[str, object]
) -> None:
    world.sonarqube.inject(status=404, body=body, times=None)
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, PluginUnavailableError)
    assert 'check sonarqube_url' in str(response.error)


@pytest.mark.parametrize(
    'body', [HTML, {'code': 404}], ids=['html', 'other-json']
)
async def test_a_404_that_is_not_the_imbi_api(
    world: World, body: str | dict[str, object]
) -> None:
    world.imbi.inject(status=404, body=body, times=None)
    response = await world.call(BASIC, world.sonarqube.webhook_payload(KEY))
    assert isinstance(response.error, PluginUnavailableError)
    assert 'check imbi_url' in str(response.error)


_DEEP = b'[' * 100_000 + b']' * 100_000


def test_a_body_nested_too_deep_to_decode_is_not_the_upstreams() -> None:
    # json raises RecursionError, not ValueError, on such a body: it
    # must read as "not the upstream", never escape as an unhandled error.
    import httpx
    from imbi_plugin_sonarqube_sync import client as _client

    assert (
        _client._has_key(httpx.Response(404, content=_DEEP), 'errors', list)
        is False
    )
