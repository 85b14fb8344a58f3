"""Git, Actions, deployments and GraphQL routes of the GitHub stand-in.

Per-repository state lives in :class:`ActionsState` (one per fake, kept in
``fake.extensions['actions']``; get it with :func:`state`), keyed by
repository id. :func:`seed` gives a repository a small generated history:
a linear default branch of squash-merged pull requests, a feature branch,
an annotated and a lightweight tag, check runs and commit statuses, a
dispatchable ``deploy.yml`` workflow (and a ``ci.yml`` without
``workflow_dispatch``) and past deployments.

Behaviours follow docs/upstreams/github.md:

- ``POST .../dispatches`` answers 200 with ``workflow_run_id``,
  ``run_url`` and ``html_url`` when asked with ``return_run_details``, or,
  with ``ActionsState.run_details`` set to ``'reject-400'`` /
  ``'reject-422'``, rejects that field as GHES <= 3.20 does;
- runs move queued -> in_progress -> completed, one step each time the
  run is read (``advance_on_read``), carry the dispatching user as
  ``actor``, and are listed only some seconds after their creation (per
  run from ``run_delays``, else ``run_appear_delay``); run lists filter by
  ``event``, ``branch``, ``actor``, ``head_sha`` and ``created``;
- a run of a workflow with an ``environment`` creates a deployment and
  its statuses (older successful ones become ``inactive``);
- duplicate git refs answer 422 "Reference already exists", duplicate
  releases 422 with ``errors[].code == 'already_exists'``;
- lists paginate with Link headers; fine-grained tokens need the
  permission of each endpoint (403 with ``x-accepted-github-permissions``
  otherwise), classic tokens the ``repo`` scope for private repositories;
- GraphQL answers exactly the ``nodes(ids:)`` commit query the
  github-actions plugin sends (see :data:`COMMIT_ROLLUP_FIELDS`).
"""

import dataclasses
import datetime
import hashlib
import itertools
import json
import re
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

Response = starlette.responses.Response
Request = starlette.requests.Request

#: Selections the GraphQL endpoint checks for in the one query it serves.
COMMIT_ROLLUP_FIELDS = (
    'nodes(ids: $ids)',
    '... on Commit',
    'oid',
    'statusCheckRollup',
    'associatedPullRequests',
)
_BASE_TIME = datetime.datetime(2026, 11, 1, 9, 0, tzinfo=datetime.UTC)
_LEVELS = {'read': 1, 'write': 2, 'admin': 3}
_FAILED = {
    'failure',
    'timed_out',
    'cancelled',
    'startup_failure',
    'action_required',
}
#: GitHub's limit on workflow_dispatch inputs (maxProperties).
MAX_DISPATCH_INPUTS = 25
#: The actor of runs an App installation token dispatches (its bot).
INSTALLATION_ACTOR = 'imbi-deployer[bot]'
_INPUT_EXPR = re.compile(r'\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}')


def iso(moment: datetime.datetime) -> str:
    """GitHub's timestamp format (UTC, seconds, ``Z``)."""
    return moment.astimezone(datetime.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


@dataclasses.dataclass
class FileChange:
    filename: str
    additions: int
    deletions: int
    status: str = 'modified'


@dataclasses.dataclass
class GitCommit:
    sha: str
    message: str
    parent: str | None
    author: str
    date: datetime.datetime
    files: list[FileChange] = dataclasses.field(default_factory=list)

    @property
    def node_id(self) -> str:
        return f'C_{self.sha[:20]}'


@dataclasses.dataclass
class TagObject:
    sha: str
    tag: str
    message: str
    object_sha: str
    date: datetime.datetime


@dataclasses.dataclass
class CheckRun:
    id: int
    name: str
    status: str = 'completed'  # queued | in_progress | completed
    conclusion: str | None = 'success'


@dataclasses.dataclass
class CommitStatus:
    id: int
    context: str
    state: str  # error | failure | pending | success
    created_at: datetime.datetime = dataclasses.field(default_factory=now)


@dataclasses.dataclass
class Workflow:
    id: int
    name: str
    path: str
    state: str = 'active'
    dispatchable: bool = True
    #: input name -> {'required': bool, 'default': str | None}
    inputs: dict[str, dict[str, typing.Any]] = dataclasses.field(
        default_factory=dict
    )
    #: The ``run-name:`` line; ``${{ inputs.x }}`` is substituted.
    run_name: str | None = None
    #: The deploy job's ``environment:`` (may use ``${{ inputs.x }}``).
    environment: str | None = None
    conclusion: str = 'success'

    @property
    def file_name(self) -> str:
        return self.path.rsplit('/', 1)[-1]


@dataclasses.dataclass
class WorkflowRun:
    id: int
    workflow: Workflow
    run_number: int
    head_branch: str
    head_sha: str
    inputs: dict[str, str]
    display_title: str
    created_at: datetime.datetime
    event: str = 'workflow_dispatch'
    status: str = 'queued'
    conclusion: str | None = None
    run_started_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None
    deployment_id: int | None = None
    #: Login of the token's user that dispatched the run.
    actor: str = 'octocat'
    #: Epoch seconds from which run lists show the run.
    visible_at: float = 0.0


@dataclasses.dataclass
class DeploymentStatus:
    id: int
    state: str
    created_at: datetime.datetime
    log_url: str = ''
    environment_url: str = ''
    description: str = ''


@dataclasses.dataclass
class Deployment:
    id: int
    sha: str
    ref: str
    environment: str
    created_at: datetime.datetime
    description: str = ''
    #: Newest first, as GitHub lists them.
    statuses: list[DeploymentStatus] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Release:
    id: int
    tag_name: str
    name: str
    body: str
    prerelease: bool
    target_commitish: str
    created_at: datetime.datetime


@dataclasses.dataclass
class RepoState:
    """The git and Actions state of one repository."""

    repository: Repository
    ids: typing.Iterator[int]
    commits: dict[str, GitCommit] = dataclasses.field(default_factory=dict)
    branches: dict[str, str] = dataclasses.field(default_factory=dict)
    #: tag name -> sha of a tag object (annotated) or a commit
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    tag_objects: dict[str, TagObject] = dataclasses.field(default_factory=dict)
    #: commit sha -> number of its pull request
    pulls: dict[str, int] = dataclasses.field(default_factory=dict)
    check_runs: dict[str, list[CheckRun]] = dataclasses.field(
        default_factory=dict
    )
    statuses: dict[str, list[CommitStatus]] = dataclasses.field(
        default_factory=dict
    )
    workflows: dict[int, Workflow] = dataclasses.field(default_factory=dict)
    runs: dict[int, WorkflowRun] = dataclasses.field(default_factory=dict)
    releases: dict[str, Release] = dataclasses.field(default_factory=dict)
    #: Newest first.
    deployments: list[Deployment] = dataclasses.field(default_factory=list)

    # -- building ----------------------------------------------------------

    def commit(
        self,
        message: str,
        *,
        branch: str | None = None,
        parent: str | None = None,
        author: str = 'octocat',
        files: list[FileChange] | None = None,
        pr: int | None = None,
        date: datetime.datetime | None = None,
    ) -> str:
        """Add a commit on ``branch`` (moving it) or after ``parent``."""
        if parent is None and branch is not None:
            parent = self.branches.get(branch)
        index = len(self.commits)
        sha = hashlib.sha1(  # noqa: S324 - a git object id, not security
            f'{self.repository.id}:{index}:{parent}:{message}'.encode()
        ).hexdigest()
        self.commits[sha] = GitCommit(
            sha=sha,
            message=message,
            parent=parent,
            author=author,
            date=date or _BASE_TIME + datetime.timedelta(hours=index),
            files=list(
                files
                or [FileChange(f'src/module_{index % 5}.py', index + 3, index)]
            ),
        )
        if branch is not None:
            self.branches[branch] = sha
        if pr is not None:
            self.pulls[sha] = pr
        return sha

    def tag(self, name: str, sha: str, message: str | None = None) -> str:
        """A lightweight tag, or an annotated one when ``message`` is set."""
        if message is None:
            self.tags[name] = sha
            return sha
        obj = hashlib.sha1(  # noqa: S324 - a git object id
            f'tag:{name}:{sha}:{message}'.encode()
        ).hexdigest()
        self.tag_objects[obj] = TagObject(obj, name, message, sha, now())
        self.tags[name] = obj
        return obj

    def check(
        self,
        sha: str,
        name: str,
        conclusion: str | None = 'success',
        status: str = 'completed',
    ) -> CheckRun:
        run = CheckRun(next(self.ids), name, status, conclusion)
        self.check_runs.setdefault(sha, []).append(run)
        return run

    def status(self, sha: str, context: str, state: str) -> CommitStatus:
        entry = CommitStatus(next(self.ids), context, state)
        self.statuses.setdefault(sha, []).insert(0, entry)
        return entry

    def workflow(
        self, name: str, file_name: str, **fields: typing.Any
    ) -> Workflow:
        workflow = Workflow(
            next(self.ids), name, f'.github/workflows/{file_name}', **fields
        )
        self.workflows[workflow.id] = workflow
        return workflow

    def deploy(
        self, environment: str, sha: str, ref: str, states: list[str]
    ) -> Deployment:
        """A deployment with its statuses given oldest first."""
        created = now()
        deployment = Deployment(next(self.ids), sha, ref, environment, created)
        for state in states:
            self.add_deployment_status(deployment, state)
        self.deployments.insert(0, deployment)
        return deployment

    def add_deployment_status(
        self, deployment: Deployment, state: str, log_url: str = ''
    ) -> None:
        if state == 'success':
            for other in self.deployments:
                if (
                    other is not deployment
                    and other.environment == deployment.environment
                    and other.statuses
                    and other.statuses[0].state == 'success'
                ):
                    other.statuses.insert(
                        0, DeploymentStatus(next(self.ids), 'inactive', now())
                    )
        deployment.statuses.insert(
            0,
            DeploymentStatus(
                next(self.ids),
                state,
                now(),
                log_url=log_url,
                environment_url=f'https://{deployment.environment}.example',
            ),
        )

    # -- reading -----------------------------------------------------------

    def peel(self, sha: str) -> str:
        """The commit a tag object points to (or ``sha`` itself)."""
        while sha in self.tag_objects:
            sha = self.tag_objects[sha].object_sha
        return sha

    def resolve(self, ref: str) -> str | None:
        """Commit sha of a branch, tag, full or unique short SHA."""
        for prefix, table in (
            ('refs/heads/', self.branches),
            ('refs/tags/', self.tags),
            ('heads/', self.branches),
            ('tags/', self.tags),
        ):
            if ref.startswith(prefix) and ref[len(prefix) :] in table:
                return self.peel(table[ref[len(prefix) :]])
        if ref in self.branches:
            return self.branches[ref]
        if ref in self.tags:
            return self.peel(self.tags[ref])
        if re.fullmatch(r'[0-9a-f]{4,40}', ref):
            found = [s for s in self.commits if s.startswith(ref)]
            if len(found) == 1:
                return found[0]
        return None

    def history(self, sha: str) -> list[GitCommit]:
        """``sha`` and its ancestors, newest first."""
        out = []
        current: str | None = sha
        while current is not None:
            commit = self.commits[current]
            out.append(commit)
            current = commit.parent
        return out

    def rollup(self, sha: str) -> str | None:
        """statusCheckRollup.state of a commit (None: no checks)."""
        states = []
        for run in self.check_runs.get(sha, []):
            if run.status != 'completed':
                states.append('PENDING')
            elif run.conclusion in _FAILED:
                states.append('FAILURE')
            else:
                states.append('SUCCESS')
        latest: dict[str, str] = {}
        for entry in reversed(self.statuses.get(sha, [])):
            latest[entry.context] = entry.state
        states.extend(s.upper() for s in latest.values())
        if not states:
            return None
        for state in ('ERROR', 'FAILURE', 'PENDING'):
            if state in states:
                return state
        return 'SUCCESS'


@dataclasses.dataclass
class ActionsState:
    """Everything this module keeps for one fake."""

    repos: dict[int, RepoState] = dataclasses.field(default_factory=dict)
    #: How dispatch treats ``return_run_details``: answer 200 with the run
    #: (github.com), or reject the field with 400 / 422 (GHES <= 3.20).
    run_details: typing.Literal['return', 'reject-400', 'reject-422'] = (
        'return'
    )
    #: Each read of a run moves it one step towards completed.
    advance_on_read: bool = True
    #: Seconds after creation before a run shows in run lists.
    run_appear_delay: float = 0.0
    #: Per-run delays, taken in dispatch order before ``run_appear_delay``
    #: applies (GitHub lists some runs later than others).
    run_delays: list[float] = dataclasses.field(default_factory=list)
    run_numbers: typing.Iterator[int] = dataclasses.field(
        default_factory=lambda: itertools.count(1)
    )

    def repo(self, fake: GitHubFake, repository: Repository) -> RepoState:
        found = self.repos.get(repository.id)
        if found is None:
            found = RepoState(repository, fake.ids)
            self.repos[repository.id] = found
        return found


def state(fake: GitHubFake) -> ActionsState:
    """This module's state on ``fake`` (created on first use)."""
    found = fake.extensions.get('actions')
    if not isinstance(found, ActionsState):
        found = ActionsState()
        fake.extensions['actions'] = found
    return found


def seed(
    fake: GitHubFake, repository: Repository, *, commits: int = 12
) -> RepoState:
    """Give ``repository`` the small generated history described above."""
    git = state(fake).repo(fake, repository)
    main = repository.default_branch
    git.commit('Initial commit', branch=main)
    for index in range(1, commits):
        pr = 100 + index
        git.commit(f'Change number {index} (#{pr})', branch=main, pr=pr)
    line = [c.sha for c in git.history(git.branches[main])]  # newest first
    git.branches['feature/login'] = git.commit(
        'Start the login page', parent=line[2], author='hubot'
    )
    git.commit('Finish the login page', branch='feature/login', pr=300)
    git.tag('v1.0.0', line[-5], 'Release 1.0.0')
    git.tag('v1.1.0', line[-9])
    for position, sha in enumerate(line):
        git.check(sha, 'build')
        git.check(
            sha, 'test', 'failure' if position == 1 else 'success'
        )  # the commit before the head failed its tests
        git.status(sha, 'ci/lint', 'success')
    git.check(line[0], 'preview', None, 'in_progress')
    git.workflow(
        'Deploy',
        'deploy.yml',
        inputs={
            'environment': {'required': False, 'default': 'production'},
            'sha': {'required': False, 'default': ''},
            'imbi_correlation': {'required': False, 'default': ''},
        },
        run_name='Deploy to ${{ inputs.environment }} '
        '${{ inputs.imbi_correlation }}',
        environment='${{ inputs.environment }}',
    )
    git.workflow('CI', 'ci.yml', dispatchable=False)
    git.deploy('production', line[-9], 'v1.1.0', ['in_progress', 'success'])
    git.deploy('staging', line[1], main, ['in_progress', 'failure'])
    return git


# -- JSON shapes ---------------------------------------------------------


def _api(fake: GitHubFake, repo: Repository, path: str = '') -> str:
    return f'{fake.base_url}/repos/{repo.full_name}{path}'


def _html(fake: GitHubFake, repo: Repository, path: str = '') -> str:
    return f'{fake.web_url}/{repo.full_name}{path}'


def _user(fake: GitHubFake, login: str) -> dict[str, typing.Any]:
    return shapes.simple_user(fake, login)


def commit_json(
    fake: GitHubFake, git: RepoState, commit: GitCommit, full: bool = False
) -> dict[str, typing.Any]:
    repo = git.repository
    tree = hashlib.sha1(commit.sha.encode()).hexdigest()  # noqa: S324
    person = {
        'name': commit.author.title(),
        'email': f'{commit.author}@example.com',
        'date': iso(commit.date),
    }
    body: dict[str, typing.Any] = {
        'sha': commit.sha,
        'node_id': commit.node_id,
        'commit': {
            'author': person,
            'committer': person,
            'message': commit.message,
            'tree': {
                'sha': tree,
                'url': _api(fake, repo, f'/git/trees/{tree}'),
            },
            'url': _api(fake, repo, f'/git/commits/{commit.sha}'),
            'comment_count': 0,
        },
        'url': _api(fake, repo, f'/commits/{commit.sha}'),
        'html_url': _html(fake, repo, f'/commit/{commit.sha}'),
        'comments_url': _api(fake, repo, f'/commits/{commit.sha}/comments'),
        'author': _user(fake, commit.author),
        'committer': _user(fake, commit.author),
        'parents': [
            {
                'sha': commit.parent,
                'url': _api(fake, repo, f'/commits/{commit.parent}'),
                'html_url': _html(fake, repo, f'/commit/{commit.parent}'),
            }
        ]
        if commit.parent
        else [],
    }
    if full:
        body['files'] = _files_json(fake, repo, commit.sha, commit.files)
        additions = sum(f.additions for f in commit.files)
        deletions = sum(f.deletions for f in commit.files)
        body['stats'] = {
            'total': additions + deletions,
            'additions': additions,
            'deletions': deletions,
        }
    return body


def _files_json(
    fake: GitHubFake, repo: Repository, ref: str, files: list[FileChange]
) -> list[dict[str, typing.Any]]:
    return [
        {
            'sha': hashlib.sha1(f'{ref}:{f.filename}'.encode()).hexdigest(),  # noqa: S324
            'filename': f.filename,
            'blob_url': _html(fake, repo, f'/blob/{ref}/{f.filename}'),
            'raw_url': _html(fake, repo, f'/raw/{ref}/{f.filename}'),
            'contents_url': _api(
                fake, repo, f'/contents/{f.filename}?ref={ref}'
            ),
            'status': f.status,
            'additions': f.additions,
            'deletions': f.deletions,
            'changes': f.additions + f.deletions,
        }
        for f in files
    ]


def run_json(
    fake: GitHubFake, git: RepoState, run: WorkflowRun
) -> dict[str, typing.Any]:
    repo = git.repository
    api = _api(fake, repo, f'/actions/runs/{run.id}')
    head = git.commits.get(run.head_sha)
    return {
        'id': run.id,
        'node_id': f'WFR_{run.id}',
        'name': run.workflow.name,
        'display_title': run.display_title,
        'run_number': run.run_number,
        'run_attempt': 1,
        'event': run.event,
        'actor': _user(fake, run.actor),
        'triggering_actor': _user(fake, run.actor),
        'status': run.status,
        'conclusion': run.conclusion,
        'workflow_id': run.workflow.id,
        'head_branch': run.head_branch,
        'head_sha': run.head_sha,
        'path': run.workflow.path,
        'url': api,
        'html_url': _html(fake, repo, f'/actions/runs/{run.id}'),
        'jobs_url': f'{api}/jobs',
        'logs_url': f'{api}/logs',
        'check_suite_url': _api(fake, repo, f'/check-suites/{run.id}'),
        'artifacts_url': f'{api}/artifacts',
        'cancel_url': f'{api}/cancel',
        'rerun_url': f'{api}/rerun',
        'workflow_url': _api(
            fake, repo, f'/actions/workflows/{run.workflow.id}'
        ),
        'pull_requests': [],
        'head_commit': None
        if head is None
        else {
            'id': head.sha,
            'tree_id': hashlib.sha1(head.sha.encode()).hexdigest(),  # noqa: S324
            'message': head.message,
            'timestamp': iso(head.date),
            'author': _person(head.author),
            'committer': _person(head.author),
        },
        'repository': shapes.minimal_repository(fake, repo),
        'head_repository': shapes.minimal_repository(fake, repo),
        'created_at': iso(run.created_at),
        'updated_at': iso(run.updated_at or run.created_at),
        'run_started_at': iso(run.run_started_at or run.created_at),
    }


def _person(login: str) -> dict[str, str]:
    return {'name': login.title(), 'email': f'{login}@example.com'}


def _check_run_json(
    fake: GitHubFake, git: RepoState, sha: str, run: CheckRun
) -> dict[str, typing.Any]:
    repo = git.repository
    api = _api(fake, repo, f'/check-runs/{run.id}')
    started = iso(_BASE_TIME)
    return {
        'id': run.id,
        'node_id': f'CR_{run.id}',
        'name': run.name,
        'head_sha': sha,
        'external_id': '',
        'url': api,
        'html_url': _html(fake, repo, f'/runs/{run.id}'),
        'details_url': _html(fake, repo, f'/runs/{run.id}'),
        'status': run.status,
        'conclusion': run.conclusion,
        'started_at': started,
        'completed_at': started if run.status == 'completed' else None,
        'output': {
            'title': None,
            'summary': None,
            'text': None,
            'annotations_count': 0,
            'annotations_url': f'{api}/annotations',
        },
        'check_suite': {'id': run.id},
        'app': {
            'id': 15368,
            'slug': 'github-actions',
            'node_id': 'MDM6QXBwMTUzNjg=',
            'owner': shapes.simple_user(fake, 'github', 'Organization'),
            'name': 'GitHub Actions',
            'description': 'Automate your workflow from idea to production',
            'external_url': 'https://help.github.com/en/actions',
            'html_url': f'{fake.web_url}/apps/github-actions',
            'created_at': '2018-07-30T09:30:17Z',
            'updated_at': '2024-04-10T20:33:16Z',
            'permissions': {'checks': 'write', 'metadata': 'read'},
            'events': ['check_run', 'workflow_run'],
        },
        'pull_requests': [],
    }


def _workflow_json(
    fake: GitHubFake, git: RepoState, workflow: Workflow
) -> dict[str, typing.Any]:
    repo = git.repository
    return {
        'id': workflow.id,
        'node_id': f'W_{workflow.id}',
        'name': workflow.name,
        'path': workflow.path,
        'state': workflow.state,
        'created_at': iso(_BASE_TIME),
        'updated_at': iso(_BASE_TIME),
        'url': _api(fake, repo, f'/actions/workflows/{workflow.id}'),
        'html_url': _html(
            fake, repo, f'/blob/{repo.default_branch}/{workflow.path}'
        ),
        'badge_url': _html(
            fake, repo, f'/workflows/{workflow.name}/badge.svg'
        ),
    }


def _release_json(
    fake: GitHubFake, git: RepoState, release: Release
) -> dict[str, typing.Any]:
    repo = git.repository
    return {
        'id': release.id,
        'node_id': f'RE_{release.id}',
        'tag_name': release.tag_name,
        'target_commitish': release.target_commitish,
        'name': release.name,
        'body': release.body,
        'draft': False,
        'prerelease': release.prerelease,
        'created_at': iso(release.created_at),
        'published_at': iso(release.created_at),
        'url': _api(fake, repo, f'/releases/{release.id}'),
        'html_url': _html(fake, repo, f'/releases/tag/{release.tag_name}'),
        'assets_url': _api(fake, repo, f'/releases/{release.id}/assets'),
        'upload_url': _api(fake, repo, f'/releases/{release.id}/assets')
        + '{?name,label}',
        'tarball_url': _api(fake, repo, f'/tarball/{release.tag_name}'),
        'zipball_url': _api(fake, repo, f'/zipball/{release.tag_name}'),
        'author': _user(fake, 'github-actions[bot]'),
        'assets': [],
    }


def _ref_json(
    fake: GitHubFake, git: RepoState, name: str, sha: str
) -> dict[str, typing.Any]:
    kind = 'tag' if sha in git.tag_objects else 'commit'
    plural = 'tags' if kind == 'tag' else 'commits'
    return {
        'ref': name,
        'node_id': f'REF_{hashlib.sha1(name.encode()).hexdigest()[:12]}',  # noqa: S324
        'url': _api(fake, git.repository, f'/git/{name}'),
        'object': {
            'type': kind,
            'sha': sha,
            'url': _api(fake, git.repository, f'/git/{plural}/{sha}'),
        },
    }


def _tag_object_json(
    fake: GitHubFake, git: RepoState, obj: TagObject
) -> dict[str, typing.Any]:
    kind = 'tag' if obj.object_sha in git.tag_objects else 'commit'
    return {
        'node_id': f'TAG_{obj.sha[:12]}',
        'tag': obj.tag,
        'sha': obj.sha,
        'url': _api(fake, git.repository, f'/git/tags/{obj.sha}'),
        'message': obj.message,
        'tagger': {
            'name': 'Imbi',
            'email': 'imbi@example.com',
            'date': iso(obj.date),
        },
        'object': {
            'type': kind,
            'sha': obj.object_sha,
            'url': _api(
                fake, git.repository, f'/git/{kind}s/{obj.object_sha}'
            ),
        },
        'verification': {
            'verified': False,
            'reason': 'unsigned',
            'signature': None,
            'payload': None,
            'verified_at': None,
        },
    }


# -- routes --------------------------------------------------------------


def _permission_denied(fake: GitHubFake, token: Token, need: str) -> Response:
    who = (
        'integration'
        if token.kind in ('app', 'installation')
        else 'personal access token'
    )
    response = fake.error(403, f'Resource not accessible by {who}')
    response.headers['x-accepted-github-permissions'] = need
    return response


def _fine_grained(token: Token) -> bool:
    return bool(token.permissions) or token.kind in ('app', 'installation')


def _allowed(
    fake: GitHubFake,
    token: Token,
    repo: Repository,
    area: str,
    level: str,
) -> Response | None:
    """None when ``token`` may do ``area``:``level`` on ``repo``."""
    role = repo.collaborators.get(token.user_login)
    if repo.private and role is None:
        return fake.error(404, 'Not Found')
    if _fine_grained(token):
        granted = token.permissions.get(area, '')
        if _LEVELS.get(granted, 0) < _LEVELS[level]:
            return _permission_denied(fake, token, f'{area}={level}')
    elif repo.private and 'repo' not in token.scopes:
        return fake.error(404, 'Not Found')
    if level != 'read' and _LEVELS.get(role or '', 0) < _LEVELS['write']:
        return fake.error(403, 'Must have push access to this repository.')
    return None


def routes(fake: GitHubFake) -> list[starlette.routing.BaseRoute]:
    actions = state(fake)

    def access(
        request: Request, area: str, level: str = 'read'
    ) -> RepoState | Response:
        token = fake.authenticate(request)
        if isinstance(token, Response):
            return token
        repo = fake.repository(
            request.path_params['owner'], request.path_params['repo']
        )
        if repo is None:
            return fake.error(404, 'Not Found')
        denied = _allowed(fake, token, repo, area, level)
        if denied is not None:
            return denied
        return actions.repo(fake, repo)

    def answer(body: typing.Any, status: int = 200) -> Response:
        return fake.json(body, status)

    async def read_json(request: Request) -> dict[str, typing.Any] | None:
        try:
            body = json.loads(await request.body() or b'null')
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def write_request(
        request: Request, area: str
    ) -> tuple[RepoState, dict[str, typing.Any]] | Response:
        """A write to the repository, authorised, with its JSON body."""
        git = access(request, area, 'write')
        if isinstance(git, Response):
            return git
        body = await read_json(request)
        if body is None:
            return fake.error(400, 'Problems parsing JSON')
        return git, body

    def invalid(message: str, status: int = 422) -> Response:
        return fake.error(status, f'Invalid request.\n\n{message}')

    # -- refs and commits ------------------------------------------------

    async def list_branches(request: Request) -> Response:
        git = access(request, 'contents')
        if isinstance(git, Response):
            return git
        items = [
            {
                'name': name,
                'commit': {
                    'sha': sha,
                    'url': _api(fake, git.repository, f'/commits/{sha}'),
                },
                'protected': name == git.repository.default_branch,
            }
            for name, sha in sorted(git.branches.items())
        ]
        page, headers = fake.paginate(request, items)
        return fake.json(page, 200, headers)

    async def get_branch(request: Request) -> Response:
        git = access(request, 'contents')
        if isinstance(git, Response):
            return git
        name = request.path_params['branch']
        sha = git.branches.get(name)
        if sha is None:
            return fake.error(404, 'Branch not found')
        protected = name == git.repository.default_branch
        api = _api(fake, git.repository, f'/branches/{name}')
        return answer(
            {
                'name': name,
                'commit': commit_json(fake, git, git.commits[sha]),
                '_links': {
                    'self': api,
                    'html': _html(fake, git.repository, f'/tree/{name}'),
                },
                'protected': protected,
                'protection': {
                    'enabled': protected,
                    'required_status_checks': {
                        'enforcement_level': 'off',
                        'contexts': [],
                        'checks': [],
                    },
                },
                'protection_url': f'{api}/protection',
            }
        )

    async def list_tags(request: Request) -> Response:
        git = access(request, 'contents')
        if isinstance(git, Response):
            return git
        items = [
            {
                'name': name,
                'commit': {
                    'sha': git.peel(sha),
                    'url': _api(
                        fake, git.repository, f'/commits/{git.peel(sha)}'
                    ),
                },
                'node_id': f'TAGREF_{name}',
                'zipball_url': _api(fake, git.repository, f'/zipball/{name}'),
                'tarball_url': _api(fake, git.repository, f'/tarball/{name}'),
            }
            for name, sha in sorted(git.tags.items(), reverse=True)
        ]
        page, headers = fake.paginate(request, items)
        return fake.json(page, 200, headers)

    async def list_commits(request: Request) -> Response:
        git = access(request, 'contents')
        if isinstance(git, Response):
            return git
        ref = request.query_params.get('sha') or git.repository.default_branch
        sha = git.resolve(ref)
        if sha is None:
            return fake.error(404, 'Not Found')
        items = [commit_json(fake, git, c) for c in git.history(sha)]
        page, headers = fake.paginate(request, items)
        return fake.json(page, 200, headers)

    async def get_commit(request: Request) -> Response:
        git = access(request, 'contents')
        if isinstance(git, Response):
            return git
        ref = request.path_params['ref']
        sha = git.resolve(ref)
        if sha is None:
            return fake.error(422, f'No commit found for SHA: {ref}')
        return answer(commit_json(fake, git, git.commits[sha], full=True))

    async def check_runs(request: Request) -> Response:
        git = access(request, 'checks')
        if isinstance(git, Response):
            return git
        ref = request.path_params['ref']
        sha = git.resolve(ref)
        if sha is None:
            return fake.error(422, f'No commit found for SHA: {ref}')
        items = [
            _check_run_json(fake, git, sha, run)
            for run in git.check_runs.get(sha, [])
        ]
        page, headers = fake.paginate(request, items)
        return fake.json(
            {'total_count': len(items), 'check_runs': page}, 200, headers
        )

    async def combined_status(request: Request) -> Response:
        git = access(request, 'statuses')
        if isinstance(git, Response):
            return git
        ref = request.path_params['ref']
        sha = git.resolve(ref)
        if sha is None:
            return fake.error(422, f'No commit found for SHA: {ref}')
        latest: dict[str, CommitStatus] = {}
        for entry in git.statuses.get(sha, []):
            latest.setdefault(entry.context, entry)
        states = {entry.state for entry in latest.values()}
        if states & {'error', 'failure'}:
            combined = 'failure'
        elif not states or 'pending' in states:
            combined = 'pending'
        else:
            combined = 'success'
        repo = git.repository
        return answer(
            {
                'state': combined,
                'sha': sha,
                'total_count': len(latest),
                'statuses': [
                    {
                        'id': e.id,
                        'node_id': f'SC_{e.id}',
                        'url': _api(fake, repo, f'/statuses/{sha}'),
                        'avatar_url': None,
                        'state': e.state,
                        'context': e.context,
                        'description': None,
                        'target_url': None,
                        'created_at': iso(e.created_at),
                        'updated_at': iso(e.created_at),
                    }
                    for e in latest.values()
                ],
                'repository': shapes.minimal_repository(fake, repo),
                'commit_url': _api(fake, repo, f'/commits/{sha}'),
                'url': _api(fake, repo, f'/commits/{sha}/status'),
            }
        )

    async def compare(request: Request) -> Response:
        git = access(request, 'contents')
        if isinstance(git, Response):
            return git
        base_ref, sep, head_ref = request.path_params['basehead'].partition(
            '...'
        )
        base = git.resolve(base_ref) if sep else None
        head = git.resolve(head_ref) if sep else None
        if base is None or head is None:
            return fake.error(404, 'Not Found')
        base_line = git.history(base)
        base_shas = {c.sha for c in base_line}
        ahead: list[GitCommit] = []
        merge_base = None
        for commit in git.history(head):
            if commit.sha in base_shas:
                merge_base = commit
                break
            ahead.append(commit)
        behind = [
            c
            for c in itertools.takewhile(
                lambda c: merge_base is None or c.sha != merge_base.sha,
                base_line,
            )
        ]
        status = (
            'identical'
            if not ahead and not behind
            else 'ahead'
            if not behind
            else 'behind'
            if not ahead
            else 'diverged'
        )
        totals: dict[str, FileChange] = {}
        for commit in ahead:
            for change in commit.files:
                into = totals.setdefault(
                    change.filename, FileChange(change.filename, 0, 0)
                )
                into.additions += change.additions
                into.deletions += change.deletions
        repo = git.repository
        return answer(
            {
                'url': _api(fake, repo, f'/compare/{base_ref}...{head_ref}'),
                'html_url': _html(
                    fake, repo, f'/compare/{base_ref}...{head_ref}'
                ),
                'diff_url': _html(
                    fake, repo, f'/compare/{base_ref}...{head_ref}.diff'
                ),
                'patch_url': _html(
                    fake, repo, f'/compare/{base_ref}...{head_ref}.patch'
                ),
                'permalink_url': _html(
                    fake,
                    repo,
                    f'/compare/{repo.owner}:{base}...{repo.owner}:{head}',
                ),
                'base_commit': commit_json(fake, git, git.commits[base]),
                'merge_base_commit': commit_json(fake, git, merge_base)
                if merge_base
                else None,
                'status': status,
                'ahead_by': len(ahead),
                'behind_by': len(behind),
                'total_commits': len(ahead),
                'commits': [
                    commit_json(fake, git, c) for c in reversed(ahead[:250])
                ],
                'files': _files_json(
                    fake, repo, head, list(totals.values())[:300]
                ),
            }
        )

    # -- git tags, refs, releases ----------------------------------------

    async def get_ref(request: Request) -> Response:
        git = access(request, 'contents')
        if isinstance(git, Response):
            return git
        ref = request.path_params['ref']
        kind, _, name = ref.partition('/')
        table = {'tags': git.tags, 'heads': git.branches}.get(kind, {})
        if name not in table:
            return fake.error(404, 'Not Found')
        return answer(_ref_json(fake, git, f'refs/{ref}', table[name]))

    async def matching_refs(request: Request) -> Response:
        """Refs whose full name starts with ``refs/{ref}``, sorted."""
        git = access(request, 'contents')
        if isinstance(git, Response):
            return git
        prefix = 'refs/' + request.path_params['ref']
        every = [
            (f'refs/heads/{name}', sha) for name, sha in git.branches.items()
        ] + [(f'refs/tags/{name}', sha) for name, sha in git.tags.items()]
        # Not paginated: GitHub describes no page or per_page here.
        return answer(
            [
                _ref_json(fake, git, name, sha)
                for name, sha in sorted(every)
                if name.startswith(prefix)
            ]
        )

    async def get_tag_object(request: Request) -> Response:
        git = access(request, 'contents')
        if isinstance(git, Response):
            return git
        obj = git.tag_objects.get(request.path_params['sha'])
        if obj is None:
            return fake.error(404, 'Not Found')
        return answer(_tag_object_json(fake, git, obj))

    async def create_tag_object(request: Request) -> Response:
        written = await write_request(request, 'contents')
        if isinstance(written, Response):
            return written
        git, body = written
        for field in ('tag', 'message', 'object', 'type'):
            if not isinstance(body.get(field), str):
                return invalid(f'"{field}" wasn\'t supplied.')
        target = body['object']
        if target not in git.commits and target not in git.tag_objects:
            return fake.error(422, 'Object does not exist')
        sha = hashlib.sha1(  # noqa: S324 - a git object id
            f'tag:{body["tag"]}:{target}:{body["message"]}:{time.time()}'.encode()
        ).hexdigest()
        obj = TagObject(sha, body['tag'], body['message'], target, now())
        git.tag_objects[sha] = obj
        return answer(_tag_object_json(fake, git, obj), 201)

    async def create_ref(request: Request) -> Response:
        written = await write_request(request, 'contents')
        if isinstance(written, Response):
            return written
        git, body = written
        ref, sha = body.get('ref'), body.get('sha')
        if not isinstance(ref, str) or not isinstance(sha, str):
            return invalid('"ref" and "sha" are required.')
        if not ref.startswith('refs/') or ref.count('/') < 2:
            return fake.error(422, 'Reference name is invalid')
        if sha not in git.commits and sha not in git.tag_objects:
            return fake.error(422, 'Object does not exist')
        kind, _, name = ref[len('refs/') :].partition('/')
        table = git.tags if kind == 'tags' else git.branches
        if name in table:
            return fake.error(422, 'Reference already exists')
        table[name] = sha
        return answer(_ref_json(fake, git, ref, sha), 201)

    async def get_release(request: Request) -> Response:
        git = access(request, 'contents')
        if isinstance(git, Response):
            return git
        release = git.releases.get(request.path_params['tag'])
        if release is None:
            return fake.error(404, 'Not Found')
        return answer(_release_json(fake, git, release))

    async def create_release(request: Request) -> Response:
        written = await write_request(request, 'contents')
        if isinstance(written, Response):
            return written
        git, body = written
        tag = body.get('tag_name')
        if not isinstance(tag, str) or not tag:
            return invalid('"tag_name" wasn\'t supplied.')
        if tag in git.releases:
            return fake.error(
                422,
                'Validation Failed',
                errors=[
                    {
                        'resource': 'Release',
                        'code': 'already_exists',
                        'field': 'tag_name',
                    }
                ],
            )
        target = body.get('target_commitish') or git.repository.default_branch
        if tag not in git.tags:
            # GitHub creates a missing tag from target_commitish.
            sha = git.resolve(target)
            if sha is None:
                return fake.error(
                    422,
                    'Validation Failed',
                    errors=[
                        {
                            'resource': 'Release',
                            'code': 'invalid',
                            'field': 'target_commitish',
                        }
                    ],
                )
            git.tags[tag] = sha
        release = Release(
            next(fake.ids),
            tag,
            str(body.get('name') or tag),
            str(body.get('body') or ''),
            bool(body.get('prerelease')),
            target,
            now(),
        )
        git.releases[tag] = release
        return answer(_release_json(fake, git, release), 201)

    # -- workflows and runs ----------------------------------------------

    def find_workflow(git: RepoState, key: str) -> Workflow | None:
        if key.isdigit():
            return git.workflows.get(int(key))
        return next(
            (w for w in git.workflows.values() if w.file_name == key), None
        )

    async def list_workflows(request: Request) -> Response:
        git = access(request, 'actions')
        if isinstance(git, Response):
            return git
        items = [_workflow_json(fake, git, w) for w in git.workflows.values()]
        page, headers = fake.paginate(request, items)
        return fake.json(
            {'total_count': len(items), 'workflows': page}, 200, headers
        )

    async def get_workflow(request: Request) -> Response:
        git = access(request, 'actions')
        if isinstance(git, Response):
            return git
        workflow = find_workflow(git, request.path_params['workflow'])
        if workflow is None:
            return fake.error(404, 'Not Found')
        return answer(_workflow_json(fake, git, workflow))

    async def dispatch(request: Request) -> Response:
        git = access(request, 'actions', 'write')
        if isinstance(git, Response):
            return git
        workflow = find_workflow(git, request.path_params['workflow'])
        if workflow is None:
            return fake.error(404, 'Not Found')
        body = await read_json(request)
        if body is None:
            return fake.error(400, 'Problems parsing JSON')
        permitted = {'ref', 'inputs'}
        # REST API 2026-03-10 always answers with the run and no longer
        # knows return_run_details (GitHub's changelog).
        versioned = (
            request.headers.get('x-github-api-version', '') >= '2026-03-10'
        )
        if actions.run_details == 'return' and not versioned:
            permitted.add('return_run_details')
        for key in body:
            if key not in permitted:
                status = 400 if actions.run_details == 'reject-400' else 422
                return invalid(f'"{key}" is not a permitted key.', status)
        ref = body.get('ref')
        if not isinstance(ref, str):
            return invalid('"ref" wasn\'t supplied.')
        inputs = body.get('inputs', {})
        if not isinstance(inputs, dict):
            return invalid("For 'properties/inputs', it is not an object.")
        if len(inputs) > MAX_DISPATCH_INPUTS:
            return invalid(
                f"For 'properties/inputs', {len(inputs)} properties is more "
                f'than the maximum of {MAX_DISPATCH_INPUTS}.'
            )
        if not workflow.dispatchable:
            return fake.error(
                422, "Workflow does not have 'workflow_dispatch' trigger"
            )
        name = ref.removeprefix('refs/heads/').removeprefix('refs/tags/')
        sha = git.branches.get(name) or (
            git.peel(git.tags[name]) if name in git.tags else None
        )
        if sha is None:
            return fake.error(422, f'No ref found for: {ref}')
        for key, value in inputs.items():
            if not isinstance(value, str):
                return invalid(
                    f"For 'properties/{key}', {value} is not a string."
                )
        unexpected = sorted(set(inputs) - set(workflow.inputs))
        if unexpected:
            return fake.error(
                422, f'Unexpected inputs provided: {json.dumps(unexpected)}'
            )
        values: dict[str, str] = {}
        for key, spec in workflow.inputs.items():
            if key in inputs:
                values[key] = inputs[key]
            elif spec.get('required'):
                return fake.error(422, f"Required input '{key}' not provided")
            else:
                values[key] = str(spec.get('default') or '')
        title = _INPUT_EXPR.sub(
            lambda m: values.get(m.group(1), ''),
            workflow.run_name or workflow.name,
        )
        delay = (
            actions.run_delays.pop(0)
            if actions.run_delays
            else actions.run_appear_delay
        )
        _, _, value = request.headers.get('authorization', '').partition(' ')
        dispatcher = fake.tokens[value.strip()]
        run = WorkflowRun(
            id=next(fake.ids),
            workflow=workflow,
            run_number=next(actions.run_numbers),
            head_branch=name,
            head_sha=sha,
            inputs=values,
            display_title=' '.join(title.split()),
            created_at=now(),
            # An installation token acts as the App's bot, not a user.
            actor=(
                INSTALLATION_ACTOR
                if dispatcher.kind == 'installation'
                else dispatcher.user_login
            ),
            visible_at=time.time() + delay,
        )
        git.runs[run.id] = run
        if versioned or body.get('return_run_details') is True:
            details = run_json(fake, git, run)
            return answer(
                {
                    'workflow_run_id': run.id,
                    'run_url': details['url'],
                    'html_url': details['html_url'],
                }
            )
        return Response(status_code=204, headers=fake.rate_headers())

    async def list_runs(request: Request) -> Response:
        git = access(request, 'actions')
        if isinstance(git, Response):
            return git
        workflow = find_workflow(git, request.path_params['workflow'])
        if workflow is None:
            return fake.error(404, 'Not Found')
        params = request.query_params
        since = _created_filter(params.get('created', ''))
        moment = time.time()
        runs = [
            run
            for run in sorted(
                git.runs.values(), key=lambda r: r.id, reverse=True
            )
            if run.workflow is workflow
            and run.visible_at <= moment
            and params.get('event', run.event) == run.event
            and params.get('branch', run.head_branch) == run.head_branch
            and params.get('actor', run.actor) == run.actor
            and params.get('head_sha', run.head_sha) == run.head_sha
            and (since is None or run.created_at >= since)
        ]
        items = [run_json(fake, git, run) for run in runs]
        page, headers = fake.paginate(request, items)
        return fake.json(
            {'total_count': len(items), 'workflow_runs': page}, 200, headers
        )

    async def get_run(request: Request) -> Response:
        git = access(request, 'actions')
        if isinstance(git, Response):
            return git
        run = git.runs.get(int(request.path_params['run_id']))
        if run is None:
            return fake.error(404, 'Not Found')
        body = run_json(fake, git, run)
        if actions.advance_on_read:
            advance(fake, git, run)
        return answer(body)

    # -- deployments -----------------------------------------------------

    async def list_deployments(request: Request) -> Response:
        git = access(request, 'deployments')
        if isinstance(git, Response):
            return git
        environment = request.query_params.get('environment')
        items = [
            {
                'id': d.id,
                'node_id': f'DE_{d.id}',
                'sha': d.sha,
                'ref': d.ref,
                'task': 'deploy',
                'environment': d.environment,
                'original_environment': d.environment,
                'description': d.description or None,
                'creator': _user(fake, 'github-actions[bot]'),
                'created_at': iso(d.created_at),
                'updated_at': iso(d.created_at),
                'url': _api(fake, git.repository, f'/deployments/{d.id}'),
                'statuses_url': _api(
                    fake, git.repository, f'/deployments/{d.id}/statuses'
                ),
                'repository_url': _api(fake, git.repository),
                'payload': {},
            }
            for d in git.deployments
            if environment is None or d.environment == environment
        ]
        page, headers = fake.paginate(request, items)
        return fake.json(page, 200, headers)

    async def deployment_statuses(request: Request) -> Response:
        git = access(request, 'deployments')
        if isinstance(git, Response):
            return git
        wanted = int(request.path_params['deployment_id'])
        deployment = next((d for d in git.deployments if d.id == wanted), None)
        if deployment is None:
            return fake.error(404, 'Not Found')
        deployment_url = _api(
            fake, git.repository, f'/deployments/{deployment.id}'
        )
        items = [
            {
                'id': s.id,
                'node_id': f'DES_{s.id}',
                'url': f'{deployment_url}/statuses/{s.id}',
                'deployment_url': deployment_url,
                'repository_url': _api(fake, git.repository),
                'creator': _user(fake, 'github-actions[bot]'),
                'state': s.state,
                'description': s.description,
                'environment': deployment.environment,
                'target_url': s.log_url,
                'log_url': s.log_url,
                'environment_url': s.environment_url,
                'created_at': iso(s.created_at),
                'updated_at': iso(s.created_at),
            }
            for s in deployment.statuses
        ]
        page, headers = fake.paginate(request, items)
        return fake.json(page, 200, headers)

    # -- GraphQL ---------------------------------------------------------

    async def graphql(request: Request) -> Response:
        token = fake.authenticate(request)
        if isinstance(token, Response):
            return fake.json(
                {
                    'message': 'Bad credentials',
                    'documentation_url': 'https://docs.github.com/graphql',
                },
                401,
            )
        body = await read_json(request)
        if body is None or not isinstance(body.get('query'), str):
            return fake.json(
                {
                    'errors': [
                        {'message': 'A query attribute must be specified'}
                    ]
                }
            )
        query = ' '.join(body['query'].split())
        variables = body.get('variables') or {}
        ids = variables.get('ids')
        if not all(field in query for field in COMMIT_ROLLUP_FIELDS) or (
            not isinstance(ids, list)
        ):
            return fake.json(
                {
                    'errors': [
                        {'message': 'the stand-in does not serve this query'}
                    ]
                }
            )
        return fake.json(_rollup_nodes(fake, token, ids))

    def rest_route(
        path: str,
        endpoint: typing.Callable[[Request], typing.Awaitable[Response]],
        methods: list[str],
    ) -> list[starlette.routing.BaseRoute]:
        """A REST route whose answers carry a classic token's scopes."""

        async def scoped(request: Request) -> Response:
            response = await endpoint(request)
            _, _, value = request.headers.get('authorization', '').partition(
                ' '
            )
            token = fake.tokens.get(value.strip())
            if token is not None and not _fine_grained(token):
                response.headers['x-oauth-scopes'] = ', '.join(token.scopes)
                response.headers['x-accepted-oauth-scopes'] = 'repo'
            return response

        return rest(path, scoped, methods)

    return [
        *rest_route('/repos/{owner}/{repo}/branches', list_branches, ['GET']),
        *rest_route(
            '/repos/{owner}/{repo}/branches/{branch:path}',
            get_branch,
            ['GET'],
        ),
        *rest_route('/repos/{owner}/{repo}/tags', list_tags, ['GET']),
        *rest_route('/repos/{owner}/{repo}/commits', list_commits, ['GET']),
        *rest_route(
            '/repos/{owner}/{repo}/commits/{ref:path}/check-runs',
            check_runs,
            ['GET'],
        ),
        *rest_route(
            '/repos/{owner}/{repo}/commits/{ref:path}/status',
            combined_status,
            ['GET'],
        ),
        *rest_route(
            '/repos/{owner}/{repo}/commits/{ref:path}', get_commit, ['GET']
        ),
        *rest_route(
            '/repos/{owner}/{repo}/compare/{basehead:path}', compare, ['GET']
        ),
        *rest_route(
            '/repos/{owner}/{repo}/git/ref/{ref:path}', get_ref, ['GET']
        ),
        *rest_route(
            '/repos/{owner}/{repo}/git/matching-refs/{ref:path}',
            matching_refs,
            ['GET'],
        ),
        *rest_route(
            '/repos/{owner}/{repo}/git/tags/{sha}', get_tag_object, ['GET']
        ),
        *rest_route(
            '/repos/{owner}/{repo}/git/tags', create_tag_object, ['POST']
        ),
        *rest_route('/repos/{owner}/{repo}/git/refs', create_ref, ['POST']),
        *rest_route(
            '/repos/{owner}/{repo}/releases/tags/{tag:path}',
            get_release,
            ['GET'],
        ),
        *rest_route(
            '/repos/{owner}/{repo}/releases', create_release, ['POST']
        ),
        *rest_route(
            '/repos/{owner}/{repo}/actions/workflows', list_workflows, ['GET']
        ),
        *rest_route(
            '/repos/{owner}/{repo}/actions/workflows/{workflow}',
            get_workflow,
            ['GET'],
        ),
        *rest_route(
            '/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches',
            dispatch,
            ['POST'],
        ),
        *rest_route(
            '/repos/{owner}/{repo}/actions/workflows/{workflow}/runs',
            list_runs,
            ['GET'],
        ),
        *rest_route(
            '/repos/{owner}/{repo}/actions/runs/{run_id:int}',
            get_run,
            ['GET'],
        ),
        *rest_route(
            '/repos/{owner}/{repo}/deployments', list_deployments, ['GET']
        ),
        *rest_route(
            '/repos/{owner}/{repo}/deployments/{deployment_id:int}/statuses',
            deployment_statuses,
            ['GET'],
        ),
        starlette.routing.Route('/graphql', graphql, methods=['POST']),
        starlette.routing.Route('/api/graphql', graphql, methods=['POST']),
    ]


def _created_filter(text: str) -> datetime.datetime | None:
    """The lower bound of a ``created=>=TS`` (or ``>TS``) filter."""
    match = re.fullmatch(r'>=?(.+)', text.strip())
    if match is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(match.group(1))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    if not text.startswith('>='):
        moment += datetime.timedelta(seconds=1)
    return moment


def advance(fake: GitHubFake, git: RepoState, run: WorkflowRun) -> None:
    """Move a run one step: queued -> in_progress -> completed."""
    if run.status == 'completed':
        return
    moment = now()
    run.updated_at = moment
    log_url = _html(fake, git.repository, f'/actions/runs/{run.id}')
    environment = None
    if run.workflow.environment:
        environment = _INPUT_EXPR.sub(
            lambda m: run.inputs.get(m.group(1), ''), run.workflow.environment
        ).strip()
    if run.status in ('queued', 'requested', 'waiting', 'pending'):
        run.status = 'in_progress'
        run.run_started_at = moment
        if environment:
            deployment = git.deploy(
                environment, run.head_sha, run.head_branch, []
            )
            git.add_deployment_status(deployment, 'in_progress', log_url)
            run.deployment_id = deployment.id
        return
    run.status = 'completed'
    run.conclusion = run.workflow.conclusion
    finished = next(
        (d for d in git.deployments if d.id == run.deployment_id), None
    )
    if finished is not None:
        git.add_deployment_status(
            finished,
            'success' if run.conclusion == 'success' else 'failure',
            log_url,
        )


def _rollup_nodes(
    fake: GitHubFake, token: Token, ids: list[typing.Any]
) -> dict[str, typing.Any]:
    """The answer to the commit rollup query for ``ids``."""
    nodes: list[dict[str, typing.Any] | None] = []
    errors: list[dict[str, typing.Any]] = []
    readable = [
        git
        for git in state(fake).repos.values()
        if _allowed(fake, token, git.repository, 'contents', 'read') is None
    ]
    for index, node_id in enumerate(ids):
        found = None
        for git in readable:
            found = next(
                (
                    (git, c)
                    for c in git.commits.values()
                    if c.node_id == node_id
                ),
                None,
            )
            if found is not None:
                break
        if found is None:
            nodes.append(None)
            errors.append(
                {
                    'type': 'NOT_FOUND',
                    'path': ['nodes', index],
                    'message': 'Could not resolve to a node with the global '
                    f"id of '{node_id}'",
                }
            )
            continue
        git, commit = found
        rollup = git.rollup(commit.sha)
        pr = git.pulls.get(commit.sha)
        nodes.append(
            {
                'oid': commit.sha,
                'statusCheckRollup': None
                if rollup is None
                else {'state': rollup},
                'associatedPullRequests': {
                    'nodes': [] if pr is None else [{'number': pr}]
                },
            }
        )
    body: dict[str, typing.Any] = {'data': {'nodes': nodes}}
    if errors:
        body['errors'] = errors
    return body
