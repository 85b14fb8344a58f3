"""Options, validation and client helpers on their own, and odd answers."""

import time
import typing

import httpx
import pytest
from github_actions_helpers import GitHub
from imbi_plugin_github_actions import client, options, validate
from imbi_plugin_github_actions._host import (
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_testing import Fault, StallServer, make_context


def read(**values: typing.Any) -> options.Options:
    return options.read_options(make_context('deployment', options=values))


@pytest.mark.parametrize(
    ('api_url', 'web', 'graphql'),
    [
        (None, 'https://github.com', 'https://api.github.com/graphql'),
        (
            'https://ghe.example/api/v3/',
            'https://ghe.example',
            'https://ghe.example/api/graphql',
        ),
        (
            'http://127.0.0.1:9',
            'http://127.0.0.1:9',
            'http://127.0.0.1:9/graphql',
        ),
        # Issue 17 (4): GHE.com data residency serves the browser on the
        # subdomain itself, the API on api.SUBDOMAIN.ghe.com.
        (
            'https://api.octocorp.ghe.com',
            'https://octocorp.ghe.com',
            'https://api.octocorp.ghe.com/graphql',
        ),
        (
            'https://API.Octocorp.GHE.com/',
            'https://octocorp.ghe.com',
            'https://API.Octocorp.GHE.com/graphql',
        ),
    ],
)
def test_url_shapes(api_url: str | None, web: str, graphql: str) -> None:
    parsed = read(api_url=api_url)
    assert (parsed.web_url, parsed.graphql_url) == (web, graphql)


def test_defaults_apply() -> None:
    parsed = read(sha_input=' ', timeout_seconds='')
    assert (parsed.sha_input, parsed.timeout_seconds) == ('sha', 8)
    assert parsed.correlation_input is None
    assert read(workflow=1234).workflow == '1234'


def test_validation_helpers() -> None:
    with pytest.raises(ValueError, match='list of names'):
        validate.environments('production')
    assert validate.environments([' a ', 'a', 'b']) == ['a', 'b']
    assert validate.inputs(None) == {}
    with pytest.raises(ValueError, match='mapping'):
        validate.inputs(['a'])
    with pytest.raises(ValueError, match='input name'):
        validate.inputs({'': 'x'})
    with pytest.raises(ValueError, match='hexadecimal'):
        validate.sha(123)
    with pytest.raises(ValueError, match='non-empty'):
        validate.ref(None)
    assert validate.limit(5000) == 100


def answer(status: int, body: bytes | str = b'') -> httpx.Response:
    return httpx.Response(status, content=body)


def test_already_exists_needs_a_json_object() -> None:
    assert not client.already_exists(answer(422, b'not json'))
    assert not client.already_exists(answer(422, b'["already exists"]'))
    assert not client.already_exists(answer(409, b'{}'))
    assert client.already_exists(
        answer(422, b'{"message": "Reference already exists"}')
    )


def test_message_of() -> None:
    assert client.message_of(answer(502, 'Bad\n  gateway')) == 'Bad gateway'
    assert client.message_of(answer(503)) == 'Service Unavailable'


async def test_spent_budget_makes_no_request() -> None:
    with StallServer() as server:
        gh = client.GitHub(read(api_url=server.url), 'tok', 'o', 'r')
        gh.deadline = time.monotonic() - 1
        async with gh:
            with pytest.raises(PluginTimeoutError):
                await gh.get('/x')
        assert server.connections == 0


async def test_request_timeout_without_the_outer_budget() -> None:
    with StallServer() as server:
        gh = client.GitHub(
            read(api_url=server.url, timeout_seconds=1), 'tok', 'o', 'r'
        )
        async with gh:
            with pytest.raises(PluginTimeoutError, match='in time'):
                await gh.get('/x')


async def test_no_time_left_for_a_retry(github: GitHub) -> None:
    github.fake.inject(
        Fault(path='/tags$', status=503, latency=0.6, times=None)
    )
    response = await github.host(timeout_seconds=1).deployment(
        'list_refs', kind='tag'
    )
    assert isinstance(response.error, PluginUnavailableError)
    assert len(github.fake.requests_to('/tags$')) == 1


async def test_graphql_oddities_leave_commits_unknown(github: GitHub) -> None:
    host = github.host()
    for fault in (
        Fault(path='graphql', malformed=True),
        Fault(path='graphql', drop=True),
        Fault(path='graphql', status=200, body={'data': {'nodes': [{}]}}),
        Fault(path='graphql', status=200, body={'data': None}),
    ):
        github.fake.inject(fault)
        response = await host.deployment('list_commits', ref='main', limit=2)
        assert response.ok, response.body
        assert {c.ci_status for c in response.result} == {'unknown'}


async def test_nested_annotated_tag(github: GitHub) -> None:
    head = github.sha('main')
    inner = github.git.tag('inner', head, 'inner')
    outer = github.git.tag('outer', inner, 'outer')
    assert outer in github.git.tag_objects
    response = await github.host().deployment(
        'create_tag', sha=head, tag='outer', message='m'
    )
    assert response.ok, response.body


async def test_compare_answer_without_merge_base(github: GitHub) -> None:
    base = github.git.commits[github.sha('main')]
    commit = {
        'sha': base.sha,
        'commit': {'message': 'm', 'author': None},
        'author': None,
    }
    github.fake.inject(
        Fault(
            path='/compare/',
            status=200,
            body={
                'status': 'behind',
                'ahead_by': 0,
                'behind_by': 0,
                'base_commit': commit,
                'merge_base_commit': None,
            },
        )
    )
    response = await github.host().deployment(
        'compare', base='main', head='main'
    )
    assert response.ok, response.body
    assert response.result.head_sha == base.sha


@pytest.mark.parametrize(
    ('method', 'path', 'kwargs'),
    [
        ('list_commits', r'/commits$', {'ref': 'main', 'limit': 2}),
        (
            'list_recent_deployments',
            r'/deployments$',
            {'environments': ['production']},
        ),
    ],
)
async def test_lists_that_are_not_lists(
    github: GitHub, method: str, path: str, kwargs: dict[str, typing.Any]
) -> None:
    github.fake.inject(Fault(path=path, status=200, body={'a': 1}))
    response = await github.host().deployment(method, **kwargs)
    assert isinstance(response.error, PluginUnavailableError)


async def test_tag_message_must_be_text(github: GitHub) -> None:
    response = await github.host().deployment(
        'create_tag', sha=github.sha('main'), tag='v7', message=None
    )
    assert isinstance(response.error, ValueError)


@pytest.mark.parametrize(
    ('url', 'same'),
    [
        ('https://api.github.com/x?page=2', True),
        ('https://API.github.com:443/x', True),
        ('http://api.github.com/x', False),
        ('https://api.github.com:8443/x', False),
        ('https://api.github.com.evil.example/x', False),
        ('https://[::1/x', False),
    ],
)
def test_same_origin(url: str, same: bool) -> None:
    assert client.same_origin(url, 'https://api.github.com') is same


def test_ghe_com_project_link_is_found() -> None:
    # The link lookup compares the web host: api.SUB.ghe.com never is one.
    ctx = make_context(
        'deployment',
        options={'api_url': 'https://api.octocorp.ghe.com'},
        project_links={
            'source': 'https://octocorp.ghe.com/acme/app',
            'docs': 'https://docs.example/app',
        },
    )
    parsed = options.read_options(ctx)
    assert options.repository(parsed, ctx) == ('acme', 'app')


def _run(**fields: typing.Any) -> typing.Any:
    from imbi_plugin_github_actions import models

    base = {
        'id': 7,
        'event': 'workflow_dispatch',
        'created_at': '2026-11-01T09:00:05Z',
        'actor': {'login': 'octocat'},
        'head_sha': 'a' * 40,
        'display_title': 'Deploy production',
    }
    return models.Run.model_validate({**base, **fields})


@pytest.mark.parametrize(
    ('fields', 'matches'),
    [
        ({}, True),
        ({'id': 1}, False),  # listed before the dispatch
        ({'event': 'push'}, False),
        ({'created_at': '2026-11-01T09:00:03Z'}, False),
        ({'actor': {'login': 'hubot'}}, False),
        ({'head_sha': 'b' * 40}, False),
        ({'actor': None, 'head_sha': None, 'event': None}, True),
    ],
)
def test_run_filter_checks_what_github_may_not(
    fields: dict[str, typing.Any], matches: bool
) -> None:
    import datetime

    from imbi_plugin_github_actions.operations import RunFilter

    wanted = RunFilter(
        since=datetime.datetime(2026, 11, 1, 9, 0, 4, tzinfo=datetime.UTC),
        known=frozenset({1}),
        actor='octocat',
        head_sha='a' * 40,
    )
    assert wanted.matches(_run(**fields)) is matches


@pytest.mark.parametrize(
    ('header', 'expected'),
    [
        ('Sun, 01 Nov 2026 09:00:05 GMT', '2026-11-01T09:00:05+00:00'),
        ('', None),
        ('yesterday', None),
        ('Sun, 01 Nov 2026 09:00:05 -0000', None),  # no known zone
    ],
)
def test_github_time(header: str, expected: str | None) -> None:
    from imbi_plugin_github_actions.operations import github_time

    response = httpx.Response(200, headers={'date': header} if header else {})
    found = github_time(response)
    assert (found.isoformat() if found else None) == expected


@pytest.mark.parametrize(
    ('query', 'ok'),
    [
        ('release/', True),
        ('dependabot/pip', True),
        ('v1.2', True),
        ('../../../user', False),
        ('a/../b', False),
        ('/heads', False),
        ('.hidden', False),
        ('a b', False),
        ('', False),
    ],
)
def test_ref_prefix(query: str, ok: bool) -> None:
    assert validate.is_ref_prefix(query) is ok


@pytest.mark.parametrize(
    'values',
    [
        {'api_url': 'http://ghes.example/api/v3', 'allow_plain_http': 'yes'},
        {'api_url': 'http://ghes.example/api/v3', 'allow_plain_http': True},
        {'api_url': 'http://127.0.0.1:8080/api/v3'},
        {'api_url': 'http://localhost/api/v3'},
    ],
)
def test_plain_http_when_allowed_or_loopback(
    values: dict[str, typing.Any],
) -> None:
    assert read(**values).api_url == values['api_url']


_DEEP = b'[' * 100_000 + b']' * 100_000


def test_a_body_nested_too_deep_to_decode_is_not_the_upstreams() -> None:
    # json raises RecursionError, not ValueError, on such a body: it
    # must read as "not the upstream", never escape as an unhandled error.
    import httpx
    from imbi_plugin_github_actions import client as _client

    assert _client.from_github(httpx.Response(404, content=_DEEP)) is False
