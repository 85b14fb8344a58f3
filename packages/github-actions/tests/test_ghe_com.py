"""GHE.com data residency end to end: the API on api.SUBDOMAIN.ghe.com,
the web (links, tags, runs pages) on SUBDOMAIN.ghe.com (issue 17, 4)."""

import collections.abc

import httpx
import pytest
import respx
from github_actions_helpers import NAME, OWNER, GitHub

API = 'https://api.octocorp.ghe.com'
WEB = 'https://octocorp.ghe.com'


@pytest.fixture
def ghe(github: GitHub) -> collections.abc.Iterator[GitHub]:
    """The stand-in answering as api.octocorp.ghe.com (through respx)."""

    async def forward(request: httpx.Request) -> httpx.Response:
        async with httpx.AsyncClient(transport=github.fake.transport()) as c:
            answer = await c.send(
                httpx.Request(
                    request.method,
                    request.url,
                    headers=request.headers,
                    content=request.content,
                )
            )
            body = await answer.aread()
        headers = {
            k: v
            for k, v in answer.headers.items()
            if k not in ('content-encoding', 'content-length')
        }
        return httpx.Response(
            answer.status_code, headers=headers, content=body
        )

    github.fake.bind(API)
    with respx.mock(assert_all_called=False) as router:
        router.route(host='api.octocorp.ghe.com').mock(side_effect=forward)
        yield github


async def test_tag_url_is_on_the_web_host(ghe: GitHub) -> None:
    host = ghe.host(api_url=API)
    response = await host.deployment(
        'create_tag', sha=ghe.sha('main'), tag='v9.0.0', message='v9'
    )
    assert response.ok, response.body
    assert response.result.url == f'{WEB}/{OWNER}/{NAME}/tree/v9.0.0'


async def test_the_project_link_on_the_web_host_is_found(ghe: GitHub) -> None:
    host = ghe.host(api_url=API, project_options={})
    response = await host.deployment(
        'list_refs',
        kind='default',
        project_links={
            'source': f'{WEB}/{OWNER}/{NAME}',
            'docs': 'https://docs.example/billing',
        },
    )
    assert response.ok, response.body
    assert [r.name for r in response.result] == ['main']


async def test_runs_page_on_the_web_host(ghe: GitHub) -> None:
    ghe.state.run_details = 'reject-400'
    ghe.state.run_appear_delay = 60
    host = ghe.host(api_url=API, workflow='deploy.yml', timeout_seconds=2)
    response = await host.trigger_deployment('main')
    assert response.ok, response.body
    assert response.result.run_url == (
        f'{WEB}/{OWNER}/{NAME}/actions/workflows/deploy.yml'
    )
