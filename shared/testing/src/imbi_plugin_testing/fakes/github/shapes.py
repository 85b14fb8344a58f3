"""GitHub's object shapes, complete, for the stand-in's answers.

GitHub sends every field its OpenAPI description marks ``required``
(most of them hypermedia ``*_url`` fields derived from the API base URL),
and ``scripts/github_openapi.py`` holds the stand-in to that. The routes
build their answers from these helpers so that they stay short: a route
says what is particular to its answer, a helper adds what GitHub always
sends. Values nobody models (counts, descriptions, licences) are GitHub's
answers for a fresh, empty repository or account.
"""

import hashlib
import typing

from imbi_plugin_testing.fakes.github.core import GitHubFake, Repository

#: When the stand-in's accounts and repositories were created.
CREATED = '2026-01-05T09:00:00Z'
#: Hypermedia fields of a user, relative to ``/users/{login}``.
_USER_URLS = {
    'followers_url': '/followers',
    'following_url': '/following{/other_user}',
    'gists_url': '/gists{/gist_id}',
    'starred_url': '/starred{/owner}{/repo}',
    'subscriptions_url': '/subscriptions',
    'organizations_url': '/orgs',
    'repos_url': '/repos',
    'events_url': '/events{/privacy}',
    'received_events_url': '/received_events',
}
#: Hypermedia fields of a repository, relative to ``/repos/{full_name}``.
_REPO_URLS = {
    'forks_url': '/forks',
    'keys_url': '/keys{/key_id}',
    'collaborators_url': '/collaborators{/collaborator}',
    'teams_url': '/teams',
    'hooks_url': '/hooks',
    'issue_events_url': '/issues/events{/number}',
    'events_url': '/events',
    'assignees_url': '/assignees{/user}',
    'branches_url': '/branches{/branch}',
    'tags_url': '/tags',
    'blobs_url': '/git/blobs{/sha}',
    'git_tags_url': '/git/tags{/sha}',
    'git_refs_url': '/git/refs{/sha}',
    'trees_url': '/git/trees{/sha}',
    'statuses_url': '/statuses/{sha}',
    'languages_url': '/languages',
    'stargazers_url': '/stargazers',
    'contributors_url': '/contributors',
    'subscribers_url': '/subscribers',
    'subscription_url': '/subscription',
    'commits_url': '/commits{/sha}',
    'git_commits_url': '/git/commits{/sha}',
    'comments_url': '/comments{/number}',
    'issue_comment_url': '/issues/comments{/number}',
    'contents_url': '/contents/{+path}',
    'compare_url': '/compare/{base}...{head}',
    'merges_url': '/merges',
    'archive_url': '/{archive_format}{/ref}',
    'downloads_url': '/downloads',
    'issues_url': '/issues{/number}',
    'pulls_url': '/pulls{/number}',
    'milestones_url': '/milestones{/number}',
    'notifications_url': '/notifications{?since,all,participating}',
    'labels_url': '/labels{/name}',
    'releases_url': '/releases{/id}',
    'deployments_url': '/deployments',
}


def _fake_id(text: str) -> int:
    """A stable id for an account the stand-in does not model."""
    return int(hashlib.sha1(text.encode()).hexdigest()[:6], 16)  # noqa: S324


def simple_user(
    fake: GitHubFake, login: str, kind: str | None = None
) -> dict[str, typing.Any]:
    """GitHub's ``simple-user``: a user, bot or organization."""
    user = fake.users.get(login)
    user_id = user.id if user is not None else _fake_id(login)
    if kind is None:
        kind = 'Bot' if login.endswith('[bot]') else 'User'
    api = f'{fake.base_url}/users/{login}'
    return {
        'login': login,
        'id': user_id,
        'node_id': user.node_id if user is not None else f'U_{user_id:08d}',
        'avatar_url': (user.avatar_url if user is not None else '')
        or f'{fake.base_url}/avatars/u/{user_id}',
        'gravatar_id': '',
        'url': api,
        'html_url': f'{fake.web_url}/{login}',
        **{name: api + tail for name, tail in _USER_URLS.items()},
        'type': kind,
        'site_admin': False,
    }


def organization_simple(
    fake: GitHubFake, login: str, org_id: int
) -> dict[str, typing.Any]:
    """GitHub's ``organization-simple`` (``/user/orgs``)."""
    api = f'{fake.base_url}/orgs/{login}'
    return {
        'login': login,
        'id': org_id,
        'node_id': f'O_{org_id:08d}',
        'url': api,
        'repos_url': f'{api}/repos',
        'events_url': f'{api}/events',
        'hooks_url': f'{api}/hooks',
        'issues_url': f'{api}/issues',
        'members_url': f'{api}/members{{/member}}',
        'public_members_url': f'{api}/public_members{{/member}}',
        'avatar_url': f'{fake.base_url}/avatars/u/{org_id}',
        'description': None,
    }


def minimal_repository(
    fake: GitHubFake, repo: Repository
) -> dict[str, typing.Any]:
    """GitHub's ``minimal-repository`` (a run's, a transfer's answer)."""
    api = f'{fake.base_url}/repos/{repo.full_name}'
    return {
        'id': repo.id,
        'node_id': f'R_{repo.id:08d}',
        'name': repo.name,
        'full_name': repo.full_name,
        'owner': simple_user(
            fake,
            repo.owner,
            'User' if repo.owner in fake.users else 'Organization',
        ),
        'private': repo.private,
        'html_url': f'{fake.web_url}/{repo.full_name}',
        'description': None,
        'fork': False,
        'url': api,
        **{name: api + tail for name, tail in _REPO_URLS.items()},
    }


def full_repository(
    fake: GitHubFake, repo: Repository
) -> dict[str, typing.Any]:
    """GitHub's ``full-repository`` (``GET``/``PATCH /repos/...``)."""
    web = f'{fake.web_url}/{repo.full_name}'
    host = web.split('://', 1)[-1].split('/', 1)[0]
    return {
        **minimal_repository(fake, repo),
        'git_url': f'git://{host}/{repo.full_name}.git',
        'ssh_url': f'git@{host}:{repo.full_name}.git',
        'clone_url': f'{web}.git',
        'svn_url': web,
        'mirror_url': None,
        'homepage': None,
        'language': None,
        'license': None,
        'size': 0,
        'forks': 0,
        'forks_count': 0,
        'stargazers_count': 0,
        'watchers': 0,
        'watchers_count': 0,
        'open_issues': 0,
        'open_issues_count': 0,
        'network_count': 0,
        'subscribers_count': 0,
        'default_branch': repo.default_branch,
        'has_issues': True,
        'has_projects': True,
        'has_wiki': True,
        'has_pages': False,
        'has_discussions': False,
        'archived': repo.archived,
        'disabled': False,
        'visibility': 'private' if repo.private else 'public',
        'pushed_at': CREATED,
        'created_at': CREATED,
        'updated_at': CREATED,
    }
