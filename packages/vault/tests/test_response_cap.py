"""Answers over the cap on one response are refused, not held in memory."""

import gzip
import io

import pytest
import urllib3
from imbi_plugin_vault import transport
from imbi_plugin_vault._host import PluginUnavailableError

TARGET = 'https://vault.example:8200/v1/secret/data/app?version=2'


@pytest.fixture(autouse=True)
def small_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, 'MAX_RESPONSE_BYTES', 2**20)


def _answer(body: bytes, **headers: str) -> urllib3.HTTPResponse:
    return urllib3.HTTPResponse(
        body=io.BytesIO(body),
        headers=headers,
        status=200,
        preload_content=False,
    )


def test_an_answer_over_the_cap_is_refused_naming_it() -> None:
    answer = _answer(b' ' * (2**20 + 1))
    with pytest.raises(PluginUnavailableError) as raised:
        transport._read_capped(answer, 'GET', TARGET)
    text = str(raised.value)
    assert 'Vault answered GET /v1/secret/data/app with more than 1 MiB' in (
        text
    )
    assert 'version=2' not in text
    assert answer.closed


def test_an_answer_at_the_cap_is_read_and_decoded() -> None:
    body = b'{"data": "' + b'x' * (2**20 - 12) + b'"}'
    answer = _answer(gzip.compress(body), **{'Content-Encoding': 'gzip'})
    assert transport._read_capped(answer, 'GET', TARGET) == body
