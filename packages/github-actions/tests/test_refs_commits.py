"""list_refs, list_commits, resolve_committish and compare through Host."""

import logging

import pytest
from github_actions_helpers import NAME, OWNER, GitHub
from imbi_plugin_testing import Fault

LINK = f'https://github.com/{OWNER}/{NAME}'


async def test_list_refs_all_default_first(github: GitHub) -> None:
    response = await github.host().deployment('list_refs')
    assert response.ok, response.body
    refs = response.result
    assert [(r.name, r.kind, r.is_default) for r in refs[:1]] == [
        ('main', 'default', True)
    ]
    assert {(r.name, r.kind) for r in refs[1:]} == {
        ('feature/login', 'branch'),
        ('v1.1.0', 'tag'),
        ('v1.0.0', 'tag'),
    }
    assert refs[0].sha == github.sha('main')
    # Annotated tags are listed with the commit they point to.
    tag = next(r for r in refs if r.name == 'v1.0.0')
    assert tag.sha == github.sha('v1.0.0')


@pytest.mark.parametrize(
    ('kind', 'query', 'expected'),
    [
        ('default', None, [('main', 'default', True)]),
        (
            'branch',
            None,
            [('main', 'branch', True), ('feature/login', 'branch', False)],
        ),
        (
            'tag',
            None,
            [('v1.1.0', 'tag', False), ('v1.0.0', 'tag', False)],
        ),
        ('all', 'LOGIN', [('feature/login', 'branch', False)]),
        ('tag', 'V1.0', [('v1.0.0', 'tag', False)]),
        ('default', 'nothing', []),
    ],
)
async def test_list_refs_kinds_and_query(
    github: GitHub,
    kind: str,
    query: str | None,
    expected: list[tuple[str, str, bool]],
) -> None:
    response = await github.host().deployment(
        'list_refs', kind=kind, query=query
    )
    assert response.ok, response.body
    assert [(r.name, r.kind, r.is_default) for r in response.result] == (
        expected
    )


async def test_list_refs_paginates_up_to_the_cap(github: GitHub) -> None:
    main = github.sha('main')
    for index in range(1050):
        github.git.branches[f'topic/{index:04d}'] = main
    mark = github.mark()
    response = await github.host().deployment('list_refs', kind='branch')
    assert response.ok, response.body
    # Ten pages of 100: the documented cap.
    assert len(response.result) == 1000
    assert response.result[0].name == 'main'
    pages = [p for p in github.since(mark) if p.endswith('/branches')]
    assert len(pages) == 10


async def test_default_branch_beyond_the_cap_is_listed_first(
    github: GitHub, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 17 (3): GitHub sorts branches by name, so 1,050 dependabot
    # branches fill the first ten pages and main is on page eleven.
    main = github.sha('main')
    for index in range(1050):
        github.git.branches[f'dependabot/pip/pkg-{index:04d}'] = main
    with caplog.at_level(logging.WARNING, 'imbi_plugin_github_actions'):
        response = await github.host().deployment('list_refs', kind='branch')
    assert response.ok, response.body
    assert (response.result[0].name, response.result[0].is_default) == (
        'main',
        True,
    )
    assert [r.name for r in response.result].count('main') == 1
    assert 'truncated' in caplog.text


async def test_query_finds_a_branch_beyond_the_cap(github: GitHub) -> None:
    main = github.sha('main')
    for index in range(1050):
        github.git.branches[f'dependabot/pip/pkg-{index:04d}'] = main
    github.git.branches['release/2026-11'] = github.sha('v1.0.0')
    for index in range(1050):
        github.git.tags[f'build-{index:04d}'] = main
    # GitHub lists tags newest name first: this one is past the cap.
    github.git.tag('a-late', main, 'an annotated tag')
    host = github.host()
    response = await host.deployment('list_refs', query='release/')
    assert response.ok, response.body
    assert [(r.name, r.kind, r.sha) for r in response.result] == [
        ('release/2026-11', 'branch', github.sha('v1.0.0'))
    ]
    tags = await host.deployment('list_refs', kind='tag', query='a-l')
    assert [(r.name, r.sha) for r in tags.result] == [('a-late', main)]


async def test_empty_repository_has_no_default_ref(github: GitHub) -> None:
    github.git.branches.clear()
    response = await github.host().deployment('list_refs', kind='default')
    assert response.ok
    assert response.result == []


async def test_repository_from_the_project_link(github: GitHub) -> None:
    host = github.host(project_options={})
    response = await host.deployment(
        'list_refs',
        kind='default',
        project_links={'github-repository': LINK + '.git', 'docs': LINK},
    )
    assert response.ok, response.body


async def test_repository_from_the_one_link_on_the_host(
    github: GitHub,
) -> None:
    host = github.host(project_options={})
    link = f'{github.url}/{OWNER}/{NAME}'
    response = await host.deployment(
        'list_refs',
        kind='default',
        project_links={'source': link, 'wiki': 'https://wiki.example/x'},
    )
    assert response.ok, response.body


@pytest.mark.parametrize(
    ('links', 'message'),
    [
        ({}, 'no repository'),
        ({'a': '{url}/acme/one', 'b': '{url}/acme/two'}, '2 links on'),
        ({'github-repository': 'https://github.com/acme'}, 'not a repo'),
    ],
)
async def test_repository_cannot_be_told(
    github: GitHub, links: dict[str, str], message: str
) -> None:
    host = github.host(project_options={})
    mark = github.mark()
    response = await host.deployment(
        'list_refs',
        project_links={k: v.format(url=github.url) for k, v in links.items()},
    )
    assert response.status == 500
    assert isinstance(response.error, ValueError)
    assert message in str(response.error)
    assert github.since(mark) == []


async def test_unknown_repository_is_a_value_error(github: GitHub) -> None:
    host = github.host(project_options={'repository': 'acme/nothing'})
    response = await host.deployment('list_refs', kind='tag')
    assert isinstance(response.error, ValueError)
    assert 'acme/nothing not found or the token has no access' in str(
        response.error
    )


async def test_list_commits_in_two_requests(github: GitHub) -> None:
    mark = github.mark()
    response = await github.host().deployment(
        'list_commits', ref='main', limit=5
    )
    assert response.ok, response.body
    commits = response.result
    assert len(github.since(mark)) <= 2
    assert github.since(mark) == [
        f'GET /repos/{OWNER}/{NAME}/commits',
        'POST /graphql',
    ]
    history = github.git.history(github.sha('main'))
    assert [c.sha for c in commits] == [c.sha for c in history[:5]]
    assert [c.is_head for c in commits] == [True] + [False] * 4
    # The head has a check in progress, the next one a failed test.
    assert [c.ci_status for c in commits[:3]] == ['warn', 'fail', 'pass']
    assert commits[1].pr_number == 110
    assert commits[0].short_sha == commits[0].sha[:7]
    assert commits[0].author == 'octocat'
    assert commits[0].authored_at is not None


async def test_list_commits_limit_is_cut_to_100(github: GitHub) -> None:
    for index in range(120):
        github.git.commit(f'More {index}', branch='main')
    mark = github.mark()
    response = await github.host().deployment(
        'list_commits', ref='main', limit=500
    )
    assert response.ok, response.body
    assert len(response.result) == 100
    assert len(github.since(mark)) == 2
    assert 'per_page=100' in github.fake.requests[mark].query


async def test_list_commits_without_graphql(github: GitHub) -> None:
    github.fake.inject(Fault(path='graphql', status=502, body='bad gateway'))
    mark = github.mark()
    response = await github.host().deployment(
        'list_commits', ref='feature/login', limit=10
    )
    assert response.ok, response.body
    assert len(github.since(mark)) == 2
    assert {c.ci_status for c in response.result} == {'unknown'}
    assert {c.pr_number for c in response.result} == {None}


async def test_list_commits_with_graphql_errors(github: GitHub) -> None:
    github.fake.inject(
        Fault(path='graphql', status=200, body={'errors': [{'message': 'x'}]})
    )
    response = await github.host().deployment(
        'list_commits', ref='main', limit=3
    )
    assert response.ok, response.body
    assert {c.ci_status for c in response.result} == {'unknown'}


async def test_list_commits_unknown_ref(github: GitHub) -> None:
    response = await github.host().deployment(
        'list_commits', ref='nope', limit=3
    )
    assert isinstance(response.error, ValueError)
    assert "'nope' is not a branch, tag or commit" in str(response.error)


@pytest.mark.parametrize(
    ('ref', 'limit'),
    [('bad..ref', 5), ('-x', 5), ('', 5), ('main', 0), ('main', True)],
)
async def test_list_commits_bad_input_makes_no_request(
    github: GitHub, ref: str, limit: int
) -> None:
    mark = github.mark()
    response = await github.host().deployment(
        'list_commits', ref=ref, limit=limit
    )
    assert isinstance(response.error, ValueError)
    assert github.since(mark) == []


@pytest.mark.parametrize('committish', ['main', 'v1.0.0', 'short'])
async def test_resolve_committish(github: GitHub, committish: str) -> None:
    expected = github.sha('v1.0.0' if committish != 'main' else 'main')
    name = expected[:8] if committish == 'short' else committish
    response = await github.host().deployment(
        'resolve_committish', committish=name
    )
    assert response.ok, response.body
    assert response.result.sha == expected
    assert response.result.ci_status == (
        'warn' if committish == 'main' else 'pass'
    )


async def test_resolve_unknown_committish(github: GitHub) -> None:
    response = await github.host().deployment(
        'resolve_committish', committish='deadbeef'
    )
    assert isinstance(response.error, ValueError)
    assert 'No commit found for SHA: deadbeef' in str(response.error)


async def test_compare_diverged(github: GitHub) -> None:
    response = await github.host().deployment(
        'compare', base='main', head='feature/login'
    )
    assert response.ok, response.body
    result = response.result
    assert (result.ahead, result.behind) == (2, 2)
    assert result.base_sha == github.sha('main')
    assert result.head_sha == github.sha('feature/login')
    assert [c.message for c in result.commits] == [
        'Finish the login page',
        'Start the login page',
    ]
    assert result.pr_numbers == [300]
    assert result.files_changed >= 1
    assert result.additions > 0


async def test_compare_behind_only(github: GitHub) -> None:
    response = await github.host().deployment(
        'compare', base='main', head='v1.1.0'
    )
    assert response.ok, response.body
    result = response.result
    assert result.ahead == 0
    assert result.behind > 0
    assert result.commits == []
    assert result.head_sha == github.sha('v1.1.0')


async def test_compare_ahead_lists_pull_requests(github: GitHub) -> None:
    response = await github.host().deployment(
        'compare', base='v1.1.0', head='main'
    )
    assert response.ok, response.body
    result = response.result
    assert result.behind == 0
    assert result.pr_numbers == [111, 110, 109]
    assert result.commits[0].sha == github.sha('main')


async def test_compare_unknown_ref(github: GitHub) -> None:
    response = await github.host().deployment(
        'compare', base='main', head='nothing'
    )
    assert isinstance(response.error, ValueError)
    assert 'unknown ref' in str(response.error)


async def test_compare_bad_ref_makes_no_request(github: GitHub) -> None:
    mark = github.mark()
    response = await github.host().deployment(
        'compare', base='main', head='a b'
    )
    assert isinstance(response.error, ValueError)
    assert github.since(mark) == []


async def test_a_query_with_dot_segments_stays_in_the_repository(
    github: GitHub,
) -> None:
    mark = github.mark()
    response = await github.host().deployment(
        'list_refs', query='../../../../user'
    )
    assert response.ok, response.body
    assert response.result == []
    assert not any('matching-refs' in p for p in github.since(mark))
    assert not any(p.endswith(' /user') for p in github.since(mark))
