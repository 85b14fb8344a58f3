"""The parts of GitHub's answers the plugin reads (extra fields ignored)."""

import datetime

import pydantic


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra='ignore')


class Repository(_Model):
    default_branch: str
    html_url: str | None = None


class Sha(_Model):
    sha: str


class NamedRef(_Model):
    """An item of /branches or /tags."""

    name: str
    commit: Sha


class Person(_Model):
    name: str | None = None
    date: datetime.datetime | None = None


class Login(_Model):
    login: str


class CommitDetail(_Model):
    message: str = ''
    author: Person | None = None


class Commit(_Model):
    sha: str
    node_id: str | None = None
    commit: CommitDetail
    html_url: str | None = None
    author: Login | None = None


class FileChange(_Model):
    additions: int = 0
    deletions: int = 0


class Comparison(_Model):
    status: str
    ahead_by: int
    behind_by: int
    base_commit: Commit
    merge_base_commit: Commit | None = None
    commits: list[Commit] = []
    files: list[FileChange] = []


class CheckRun(_Model):
    status: str
    conclusion: str | None = None


class CheckRuns(_Model):
    total_count: int
    check_runs: list[CheckRun]


class CombinedStatus(_Model):
    state: str
    total_count: int


class Workflow(_Model):
    id: int
    name: str
    path: str
    state: str = 'active'


class DispatchDetails(_Model):
    workflow_run_id: int
    run_url: str | None = None
    html_url: str | None = None


class Run(_Model):
    id: int
    name: str | None = None
    event: str | None = None
    head_sha: str | None = None
    actor: Login | None = None
    display_title: str | None = None
    status: str | None = None
    conclusion: str | None = None
    html_url: str | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None
    run_started_at: datetime.datetime | None = None


class Runs(_Model):
    total_count: int
    workflow_runs: list[Run]


class GitObject(_Model):
    type: str
    sha: str


class GitRef(_Model):
    ref: str
    object: GitObject


class GitTag(_Model):
    sha: str
    object: GitObject


class Release(_Model):
    id: int
    tag_name: str
    name: str | None = None
    url: str | None = None
    html_url: str | None = None
    prerelease: bool = False


class Deployment(_Model):
    id: int
    sha: str
    ref: str | None = None
    environment: str
    created_at: datetime.datetime
    description: str | None = None


class DeploymentStatus(_Model):
    state: str
    log_url: str | None = None
    target_url: str | None = None
    environment_url: str | None = None


class PullNumber(_Model):
    number: int


class PullNodes(_Model):
    nodes: list[PullNumber | None] = []


class Rollup(_Model):
    state: str


class CommitRollup(_Model):
    """A node of the GraphQL commit query."""

    oid: str
    statusCheckRollup: Rollup | None = None  # GraphQL's names
    associatedPullRequests: PullNodes | None = None
