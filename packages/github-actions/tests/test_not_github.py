"""A 404 that is not GitHub's (a mistyped api_url, a proxy page) is not
"repository not found"."""

import pytest
from github_actions_helpers import GitHub
from imbi_plugin_github_actions._host import PluginUnavailableError
from imbi_plugin_testing import Fault


@pytest.mark.parametrize(
    'body',
    ['<html><h1>404 Not Found</h1></html>', {'code': 404, 'error': 'nope'}],
    ids=['html', 'other-json'],
)
async def test_a_404_without_githubs_body_is_unavailable(
    github: GitHub, body: str | dict[str, object]
) -> None:
    github.fake.inject(Fault(status=404, body=body, times=None))
    response = await github.host().deployment('list_refs', kind='branch')
    assert isinstance(response.error, PluginUnavailableError)
    assert 'check api_url' in str(response.error)


async def test_githubs_own_404_is_not_found(github: GitHub) -> None:
    github.fake.inject(
        Fault(status=404, body={'message': 'Not Found'}, times=None)
    )
    response = await github.host().deployment('list_refs', kind='branch')
    assert isinstance(response.error, ValueError)
    assert 'not found' in str(response.error)
