"""The GitHub stand-in records its exchanges for the OpenAPI check."""

import json
import pathlib

import httpx
import pytest
from imbi_plugin_testing import Fault
from imbi_plugin_testing.fakes.github import GitHubFake, actions
from imbi_plugin_testing.fakes.github.core import EXCHANGES_ENV


async def test_exchanges_are_recorded_when_asked(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / 'exchanges.jsonl'
    monkeypatch.setenv(EXCHANGES_ENV, str(target))
    fake = GitHubFake()
    fake.add_user('octocat')
    token = fake.issue_token('octocat', ['repo'])
    repo = fake.add_repository(
        'acme', 'app', collaborators={'octocat': 'admin'}
    )
    actions.seed(fake, repo)
    # A fault's answer is the test's own, not a claim about GitHub.
    fake.inject(Fault(path='/tags$', status=502))
    async with httpx.AsyncClient(
        transport=fake.transport(),
        base_url='http://github.test',
        headers={'authorization': f'Bearer {token.value}'},
    ) as client:
        await client.get('/repos/acme/app/tags')
        await client.post(
            '/repos/acme/app/actions/workflows/nothing.yml/dispatches',
            json={'ref': 'main'},
        )
        await client.get('/repos/acme/app/branches', params={'per_page': 1})
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(e['method'], e['path'], e['status']) for e in lines] == [
        (
            'POST',
            '/repos/acme/app/actions/workflows/nothing.yml/dispatches',
            404,
        ),
        ('GET', '/repos/acme/app/branches', 200),
    ]
    # The body the route never read is recorded all the same.
    assert json.loads(lines[0]['request_body']) == {'ref': 'main'}
    assert lines[0]['request_type'] == 'application/json'
    assert lines[1]['query'] == 'per_page=1'
    assert lines[1]['response_type'].startswith('application/json')
    assert json.loads(lines[1]['response_body'])[0]['name'] == 'feature/login'


async def test_nothing_is_recorded_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(EXCHANGES_ENV, raising=False)
    fake = GitHubFake()
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://github.test'
    ) as client:
        response = await client.get('/user')
    assert response.status_code == 401
    assert 'Recorder' not in type(fake._routes_app()).__name__


@pytest.mark.parametrize(
    ('base', 'web'),
    [
        ('https://api.github.com', 'https://github.com'),
        ('https://api.octocorp.ghe.com', 'https://octocorp.ghe.com'),
        ('https://api.octocorp.ghe.com:8443', 'https://octocorp.ghe.com:8443'),
        ('https://ghe.example/api/v3', 'https://ghe.example/api/v3'),
        ('http://127.0.0.1:5000', 'http://127.0.0.1:5000'),
    ],
)
def test_web_url_of_the_served_host(base: str, web: str) -> None:
    fake = GitHubFake()
    fake.bind(base)
    assert fake.web_url == web
