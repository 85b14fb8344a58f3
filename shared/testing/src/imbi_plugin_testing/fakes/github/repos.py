"""Repository routes of the GitHub stand-in (owned by the archiver work).

``GET /repos/{owner}/{repo}`` answers the repository, following GitHub's
rules for renamed and transferred repositories (301 to
``/repositories/{id}``).
"""

import typing

import starlette.requests
import starlette.responses
import starlette.routing

from imbi_plugin_testing.fakes.github.core import GitHubFake, Repository, rest


def repository_json(
    fake: GitHubFake, repo: Repository
) -> dict[str, typing.Any]:
    """The fields of GitHub's full repository object the plugins read."""
    api = fake.base_url
    return {
        'id': repo.id,
        'node_id': f'R_{repo.id:08d}',
        'name': repo.name,
        'full_name': repo.full_name,
        'owner': {'login': repo.owner, 'type': 'Organization'},
        'private': repo.private,
        'html_url': f'{api}/{repo.full_name}',
        'url': f'{api}/repos/{repo.full_name}',
        'default_branch': repo.default_branch,
        'archived': repo.archived,
        'disabled': False,
        'visibility': 'private' if repo.private else 'public',
    }


def routes(fake: GitHubFake) -> list[starlette.routing.BaseRoute]:
    async def get_repository(
        request: starlette.requests.Request,
    ) -> starlette.responses.Response:
        token = fake.authenticate(request)
        if isinstance(token, starlette.responses.Response):
            return token
        owner = request.path_params['owner']
        name = request.path_params['repo']
        repo = fake.repository(owner, name)
        if repo is None:
            moved = fake.redirects.get(f'{owner}/{name}'.lower())
            if moved is not None:
                prefix = (
                    '/api/v3' if request.url.path.startswith('/api/v3') else ''
                )
                location = f'{fake.base_url}{prefix}/repositories/{moved}'
                return fake.json(
                    {'message': 'Moved Permanently', 'url': location},
                    301,
                    {'location': location},
                )
            return fake.error(404, 'Not Found')
        if token.user_login not in repo.collaborators and repo.private:
            return fake.error(404, 'Not Found')
        return fake.json(repository_json(fake, repo))

    async def get_repository_by_id(
        request: starlette.requests.Request,
    ) -> starlette.responses.Response:
        token = fake.authenticate(request)
        if isinstance(token, starlette.responses.Response):
            return token
        repo = fake.repository_by_id(int(request.path_params['repo_id']))
        if repo is None or (
            token.user_login not in repo.collaborators and repo.private
        ):
            return fake.error(404, 'Not Found')
        return fake.json(repository_json(fake, repo))

    return [
        *rest('/repos/{owner}/{repo}', get_repository, ['GET']),
        *rest('/repositories/{repo_id:int}', get_repository_by_id, ['GET']),
    ]
