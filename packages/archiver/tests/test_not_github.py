"""A 404 that is not GitHub's (a mistyped api_url, a proxy) archives nothing
and says so, instead of reporting the repository gone (``skipped``)."""

import typing

import pytest

if typing.TYPE_CHECKING:
    from conftest import World


@pytest.mark.parametrize(
    'body',
    ['<html><h1>404 Not Found</h1></html>', {'code': 404, 'error': 'nope'}],
    ids=['html', 'other-json'],
)
async def test_a_404_without_githubs_body_is_unavailable(
    world: World, body: str | dict[str, object]
) -> None:
    world.fake.inject(status=404, body=body, times=None)
    result = await world.archive()
    assert result.status == 'failed'
    assert (result.message or '').startswith('PluginUnavailableError: ')
    assert 'check api_url' in (result.message or '')


async def test_githubs_own_404_is_a_gone_repository(world: World) -> None:
    world.fake.inject(status=404, body={'message': 'Not Found'}, times=None)
    result = await world.archive()
    assert result.status == 'skipped'


_DEEP = b'[' * 100_000 + b']' * 100_000


def test_a_body_nested_too_deep_to_decode_is_not_the_upstreams() -> None:
    # json raises RecursionError, not ValueError, on such a body: it
    # must read as "not the upstream", never escape as an unhandled error.
    import httpx
    from imbi_plugin_archiver import client as _client

    assert _client._from_github(httpx.Response(404, content=_DEEP)) is False
