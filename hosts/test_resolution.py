"""Plugin resolution by the host: a tab with no plugin assigned."""

import typing

Imbi = typing.Any


def test_unassigned_tab_is_404(imbi: Imbi) -> None:
    response = imbi.get('/logs/')
    assert response.status_code == 404, response.text
    assert 'No plugin assigned' in response.json()['detail']
