"""Answers over the cap on one response are refused, not held in memory."""

import gzip

import httpx
import pytest
import respx
from imbi_plugin_loki import client
from imbi_plugin_loki._host import PluginUnavailableError

URL = 'https://upstream.example/some/path'


@pytest.fixture(autouse=True)
def small_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, 'MAX_RESPONSE_BYTES', 2**20)


@respx.mock
async def test_an_answer_over_the_cap_is_refused_naming_it() -> None:
    respx.get(URL).mock(
        return_value=httpx.Response(200, content=b' ' * (2**20 + 1))
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(PluginUnavailableError) as raised:
            await client.read_capped(http, 'GET', URL)
    assert 'more than 1 MiB, the cap on one answer' in str(raised.value)
    assert '/some/path' in str(raised.value)


@respx.mock
async def test_an_answer_at_the_cap_is_read_and_decoded_once() -> None:
    body = b'{"a": "' + b'x' * (2**20 - 10) + b'"}'
    respx.get(URL).mock(
        return_value=httpx.Response(
            201,
            content=gzip.compress(body),
            headers={'Content-Encoding': 'gzip', 'X-Kept': 'yes'},
        )
    )
    async with httpx.AsyncClient() as http:
        response = await client.read_capped(http, 'GET', URL)
    assert response.status_code == 201
    assert response.content == body
    assert response.json()['a'].startswith('xxx')
    assert response.headers['x-kept'] == 'yes'
    assert response.reason_phrase == 'Created'
