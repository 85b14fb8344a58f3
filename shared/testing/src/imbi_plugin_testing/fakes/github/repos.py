"""Repository routes of the GitHub stand-in (owned by the archiver work).

Served at both URL shapes (see :func:`~.core.rest`):

- ``GET /repos/{owner}/{repo}`` and ``GET /repositories/{id}``: the
  repository. A private one the token's user is no collaborator of is a
  404, as GitHub hides what a token may not see.
- ``PATCH`` on both: ``archived`` (archive/unarchive) and ``name``
  (rename). Needs admin rights: classic tokens need the ``repo`` scope
  (``public_repo`` for a public repository; without it GitHub answers
  404), fine-grained, GitHub App and installation tokens need the
  ``administration: write`` permission (403 "Resource not accessible by
  integration"), and the user must be an admin of the repository (403
  "Must have admin rights to Repository."). An archived repository is
  read-only: any write but ``{"archived": false}`` is a 403 "Repository
  was archived so is read-only.".
- ``POST .../transfer`` ``{"new_owner", "new_name"?}``: the same rights,
  plus repository creation in the target (its own login or one of the
  user's organizations). Answers 202 with the repository as it is (the
  original owner); the move completes :attr:`RepoSettings.transfer_delay`
  seconds later, checked on every request to these routes. Archived
  repositories can be transferred by default: GitHub documents that the
  repositories of an archived organization (all archived) can still be
  transferred out of it, and documents no refusal for a single archived
  repository. Whether it refuses is not settled, so
  :attr:`RepoSettings.refuse_archived_transfer` makes it answer 403
  "Repository was archived so is read-only." (the archiver must work
  either way: it moves before archiving and unarchives before moving).
- Renamed and transferred repositories: their old ``owner/name`` answers
  301 (GET, HEAD) or 307 (other methods) with ``Location`` at
  ``/repositories/{id}`` plus the rest of the path.

Wording of GitHub's own: the three 403 messages above, "Not Found",
"Validation Failed" with ``name already exists on this account``,
"Problems parsing JSON". The stand-in's own wording (GitHub documents
no text for these): the 403 for a target the user cannot create
repositories in and the 422 for a transfer already under way.
"""

import dataclasses
import json
import time
import typing

import starlette.requests
import starlette.responses
import starlette.routing

from imbi_plugin_testing.fakes.github import shapes
from imbi_plugin_testing.fakes.github.core import (
    GitHubFake,
    Repository,
    Token,
    rest,
)

ADMIN_REQUIRED = 'Must have admin rights to Repository.'
NOT_INTEGRATION_ACCESSIBLE = 'Resource not accessible by integration'
READ_ONLY = 'Repository was archived so is read-only.'
REDIRECT_DOCS = (
    'https://docs.github.com/rest/guides/best-practices-for-using-the-'
    'rest-api#follow-redirects'
)

Response = starlette.responses.Response
Request = starlette.requests.Request


@dataclasses.dataclass
class Transfer:
    """A transfer accepted (202) and not yet complete."""

    new_owner: str
    new_name: str
    due: float  # time.monotonic()


@dataclasses.dataclass
class RepoSettings:
    """Knobs and state of the repository routes (``fake.extensions``)."""

    #: Seconds between the 202 of a transfer and its completion.
    transfer_delay: float = 0.0
    #: Refuse to transfer an archived repository (see the module doc).
    refuse_archived_transfer: bool = False
    #: Repository id -> transfer under way.
    pending: dict[int, Transfer] = dataclasses.field(default_factory=dict)


def settings(fake: GitHubFake) -> RepoSettings:
    """The repository routes' settings of ``fake`` (created on first use)."""
    found: RepoSettings = fake.extensions.setdefault('repos', RepoSettings())
    return found


def repository_json(
    fake: GitHubFake, repo: Repository
) -> dict[str, typing.Any]:
    """GitHub's full repository object."""
    return shapes.full_repository(fake, repo)


def move_repository(
    fake: GitHubFake,
    repo: Repository,
    owner: str | None = None,
    name: str | None = None,
) -> None:
    """Rename and/or transfer ``repo`` now; its old name redirects."""
    with fake.lock:
        old = repo.full_name.lower()
        fake.repositories.pop(old, None)
        fake.redirects[old] = repo.id
        repo.owner = owner or repo.owner
        repo.name = name or repo.name
        fake.repositories[repo.full_name.lower()] = repo
        fake.redirects.pop(repo.full_name.lower(), None)


def settle(fake: GitHubFake) -> None:
    """Complete the transfers whose delay has passed."""
    state = settings(fake)
    now = time.monotonic()
    with fake.lock:
        for repo_id, transfer in list(state.pending.items()):
            if transfer.due > now:
                continue
            del state.pending[repo_id]
            repo = fake.repository_by_id(repo_id)
            if repo is not None:
                move_repository(
                    fake, repo, transfer.new_owner, transfer.new_name
                )


def _integration(token: Token) -> bool:
    """Fine-grained PATs, GitHub App user and installation tokens."""
    return (
        token.kind in ('app', 'installation')
        or token.value.startswith('github_pat_')
        or bool(token.permissions)
    )


def _visible(token: Token, repo: Repository) -> bool:
    return not repo.private or token.user_login in repo.collaborators


def _admin_refusal(
    fake: GitHubFake, token: Token, repo: Repository
) -> Response | None:
    """GitHub's answer when ``token`` may not administer ``repo``."""
    if _integration(token):
        if token.permissions.get('administration') != 'write':
            return fake.error(403, NOT_INTEGRATION_ACCESSIBLE)
    elif 'repo' not in token.scopes and not (
        not repo.private and 'public_repo' in token.scopes
    ):
        return fake.error(404, 'Not Found')
    if repo.collaborators.get(token.user_login) != 'admin':
        return fake.error(403, ADMIN_REQUIRED)
    return None


def _validation_failed(
    fake: GitHubFake, code: str, field: str, message: str | None = None
) -> Response:
    error: dict[str, str] = {
        'resource': 'Repository',
        'code': code,
        'field': field,
    }
    if message is not None:
        error['message'] = message
    return fake.error(422, 'Validation Failed', errors=[error])


async def _json_object(
    fake: GitHubFake, request: Request
) -> dict[str, typing.Any] | Response:
    try:
        body = json.loads(await request.body() or b'{}')
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return fake.error(400, 'Problems parsing JSON')
    return body


def _can_create_in(fake: GitHubFake, token: Token, owner: str) -> bool:
    user = fake.users.get(token.user_login)
    orgs = {o.lower() for o in (user.orgs if user else [])}
    return owner.lower() in orgs | {token.user_login.lower()}


def _known_owner(fake: GitHubFake, owner: str) -> bool:
    known = {login.lower() for login in fake.users}
    for user in fake.users.values():
        known.update(o.lower() for o in user.orgs)
    known.update(r.owner.lower() for r in fake.repositories.values())
    return owner.lower() in known


def routes(fake: GitHubFake) -> list[starlette.routing.BaseRoute]:
    def redirect(
        request: Request, repo_id: int, rest_of_path: str
    ) -> Response:
        prefix = '/api/v3' if request.url.path.startswith('/api/v3') else ''
        location = (
            f'{fake.base_url}{prefix}/repositories/{repo_id}{rest_of_path}'
        )
        permanent = request.method in ('GET', 'HEAD')
        return fake.json(
            {
                'message': 'Moved Permanently'
                if permanent
                else 'Temporary Redirect',
                'url': location,
                'documentation_url': REDIRECT_DOCS,
            },
            301 if permanent else 307,
            {'location': location},
        )

    def locate(
        request: Request, token: Token, rest_of_path: str
    ) -> Repository | Response:
        """The repository a request names, or GitHub's answer."""
        settle(fake)
        params = request.path_params
        if 'repo_id' in params:
            repo = fake.repository_by_id(int(params['repo_id']))
        else:
            owner, name = params['owner'], params['repo']
            repo = fake.repository(owner, name)
            if repo is None:
                moved = fake.redirects.get(f'{owner}/{name}'.lower())
                if moved is not None:
                    return redirect(request, moved, rest_of_path)
        if repo is None or not _visible(token, repo):
            return fake.error(404, 'Not Found')
        return repo

    async def repository(request: Request) -> Response:
        token = fake.authenticate(request)
        if isinstance(token, Response):
            return token
        repo = locate(request, token, '')
        if isinstance(repo, Response):
            return repo
        if request.method == 'GET':
            return fake.json(repository_json(fake, repo))
        return await update(request, token, repo)

    async def update(
        request: Request, token: Token, repo: Repository
    ) -> Response:
        body = await _json_object(fake, request)
        if isinstance(body, Response):
            return body
        archived = body.get('archived')
        if 'archived' in body and not isinstance(archived, bool):
            return _validation_failed(fake, 'invalid', 'archived')
        new_name = body.get('name')
        if 'name' in body and (not isinstance(new_name, str) or not new_name):
            return _validation_failed(fake, 'invalid', 'name')
        refusal = _admin_refusal(fake, token, repo)
        if refusal is not None:
            return refusal
        writes = set(body) - {'archived'}
        if repo.archived and (writes or archived is True):
            return fake.error(403, READ_ONLY)
        with fake.lock:
            if isinstance(new_name, str) and new_name != repo.name:
                taken = fake.repository(repo.owner, new_name)
                if taken is not None and taken is not repo:
                    return _validation_failed(
                        fake,
                        'custom',
                        'name',
                        'name already exists on this account',
                    )
                move_repository(fake, repo, name=new_name)
            if isinstance(archived, bool):
                repo.archived = archived
        return fake.json(repository_json(fake, repo))

    async def transfer(request: Request) -> Response:
        token = fake.authenticate(request)
        if isinstance(token, Response):
            return token
        repo = locate(request, token, '/transfer')
        if isinstance(repo, Response):
            return repo
        body = await _json_object(fake, request)
        if isinstance(body, Response):
            return body
        new_owner = body.get('new_owner')
        if not isinstance(new_owner, str) or not new_owner:
            return _validation_failed(fake, 'missing_field', 'new_owner')
        new_name = body.get('new_name') or repo.name
        if not isinstance(new_name, str):
            return _validation_failed(fake, 'invalid', 'new_name')
        refusal = _admin_refusal(fake, token, repo)
        if refusal is not None:
            return refusal
        if repo.archived and settings(fake).refuse_archived_transfer:
            return fake.error(403, 'Repository was archived so is read-only.')
        if not _known_owner(fake, new_owner):
            return _validation_failed(
                fake,
                'invalid',
                'new_owner',
                f'{new_owner} is not a user or organization',
            )
        if not _can_create_in(fake, token, new_owner):
            return fake.error(
                403,
                f'You do not have permission to create repositories in '
                f'{new_owner}.',
            )
        state = settings(fake)
        with fake.lock:
            if repo.id in state.pending:
                return _validation_failed(
                    fake,
                    'custom',
                    'new_owner',
                    'a transfer of this repository is already under way',
                )
            if fake.repository(new_owner, new_name) not in (None, repo):
                return _validation_failed(
                    fake,
                    'custom',
                    'name',
                    'name already exists on this account',
                )
            answer = repository_json(fake, repo)
            state.pending[repo.id] = Transfer(
                new_owner, new_name, time.monotonic() + state.transfer_delay
            )
        if state.transfer_delay <= 0:
            settle(fake)
        return fake.json(answer, 202)

    return [
        *rest('/repos/{owner}/{repo}', repository, ['GET', 'PATCH']),
        *rest('/repos/{owner}/{repo}/transfer', transfer, ['POST']),
        *rest('/repositories/{repo_id:int}', repository, ['GET', 'PATCH']),
        *rest('/repositories/{repo_id:int}/transfer', transfer, ['POST']),
    ]
