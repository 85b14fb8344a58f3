"""What each contract method does against GitHub, one level below plugin.py.

Inputs arrive validated (see validate.py); every method makes its
requests through :class:`~imbi_plugin_github_actions.client.GitHub`.
"""

import asyncio
import datetime
import logging
import time
import typing
import urllib.parse
import uuid

import httpx
from imbi_common.plugins import PluginUnavailableError
from imbi_common.plugins.base import (
    Commit,
    CompareResult,
    DeploymentRun,
    Ref,
    RefInfo,
    ReleaseInfo,
    RemoteDeployment,
    WorkflowFile,
)

from imbi_plugin_github_actions import mapping, models, validate
from imbi_plugin_github_actions.client import (
    GitHub,
    already_exists,
    message_of,
    parse,
)
from imbi_plugin_github_actions.options import is_workflow_id

LOGGER = logging.getLogger('imbi_plugin_github_actions')

#: At most this many upstream requests in flight per call.
CONCURRENCY = 8
#: GraphQL's ``nodes(ids:)`` takes at most 100 ids.
GRAPHQL_IDS = 100
#: Runs created this long before the dispatch still count as candidates
#: (GitHub keeps whole seconds; clocks differ a little).
RUN_WINDOW_SECONDS = 10
RUN_POLL_SECONDS = 1.0
#: The host cancels every call at 10 s and answers 503 with Retry-After
#: (reference/host.md), whatever timeout_seconds says. Once a workflow is
#: dispatched the call must answer before that: a retry would deploy
#: twice.
HOST_TIMEOUT_SECONDS = 10.0
ROLLUP_QUERY = """
query ImbiCommitRollups($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Commit {
      oid
      statusCheckRollup { state }
      associatedPullRequests(first: 1) { nodes { number } }
    }
  }
}
"""
Rollups = dict[str, tuple[mapping.CheckStatus, int | None]]


def quote(ref: str) -> str:
    return urllib.parse.quote(ref, safe='/')


def to_commit(
    commit: models.Commit, rollups: Rollups, is_head: bool = False
) -> Commit:
    author = commit.commit.author
    ci_status, pr_number = rollups.get(commit.sha, ('unknown', None))
    return Commit(
        sha=commit.sha,
        short_sha=commit.sha[:7],
        message=commit.commit.message,
        author=commit.author.login
        if commit.author
        else (author.name if author else None),
        authored_at=author.date if author else None,
        url=commit.html_url,
        ci_status=ci_status,
        pr_number=pr_number,
        is_head=is_head,
    )


class Operations:
    """The contract methods for one repository."""

    def __init__(self, gh: GitHub) -> None:
        self.gh = gh
        self.options = gh.options

    @property
    def web_repo(self) -> str:
        return f'{self.options.web_url}/{self.gh.full_name}'

    # -- shared lookups ----------------------------------------------------

    async def repository(self) -> models.Repository:
        response = await self.gh.get(self.gh.repo_path())
        return parse(models.Repository, self.gh.body(response))

    async def commit(self, committish: str) -> models.Commit:
        """One commit by branch, tag or (short) SHA; unknown: ValueError."""
        response = await self.gh.get(
            self.gh.repo_path(f'/commits/{quote(committish)}'),
            handle=(404, 422),
        )
        if response.status_code != 200:
            raise ValueError(
                f'{committish!r} is not a branch, tag or commit of '
                f'{self.gh.full_name} ({message_of(response)})'
            )
        return parse(models.Commit, self.gh.body(response))

    async def rollups(self, commits: list[models.Commit]) -> Rollups:
        """CI status and PR number per commit: one GraphQL query per 100.

        GraphQL down or refusing: no entries (``unknown``, no PR), never
        one request per commit.
        """
        ids = [c.node_id for c in commits if c.node_id]
        chunks = [
            ids[i : i + GRAPHQL_IDS] for i in range(0, len(ids), GRAPHQL_IDS)
        ]
        answers = await asyncio.gather(
            *(
                self.gh.graphql(ROLLUP_QUERY, {'ids': chunk})
                for chunk in chunks
            )
        )
        out: Rollups = {}
        for data in answers:
            nodes = data.get('nodes') if data else None
            for node in nodes if isinstance(nodes, list) else []:
                try:
                    rollup = parse(models.CommitRollup, node)
                except PluginUnavailableError:
                    continue  # null (not found) or not a commit
                pulls = rollup.associatedPullRequests
                numbers = [
                    p.number for p in (pulls.nodes if pulls else []) if p
                ]
                out[rollup.oid] = (
                    mapping.rollup_status(rollup.statusCheckRollup),
                    numbers[0] if numbers else None,
                )
        return out

    async def tag_target(self, tag: str) -> str | None:
        """The commit a tag points to (annotated tags peeled), or None."""
        response = await self.gh.get(
            self.gh.repo_path(f'/git/ref/tags/{quote(tag)}'), handle=(404,)
        )
        if response.status_code == 404:
            return None
        target = parse(models.GitRef, self.gh.body(response)).object
        for _ in range(4):  # tags of tags are legal but rare
            if target.type != 'tag':
                break
            tag_object = await self.gh.get(
                self.gh.repo_path(f'/git/tags/{target.sha}')
            )
            target = parse(models.GitTag, self.gh.body(tag_object)).object
        return target.sha.lower()

    # -- refs and commits --------------------------------------------------

    async def list_refs(self, kind: str, query: str | None) -> list[Ref]:
        wanted = (query or '').strip().lower()
        repo_path = self.gh.repo_path
        if kind == 'tag':
            tags = await self.gh.pages(repo_path('/tags'))
            refs = [self._ref(t, 'tag', False) for t in tags]
        elif kind == 'default':
            repo = await self.repository()
            response = await self.gh.get(
                repo_path(f'/branches/{quote(repo.default_branch)}'),
                handle=(404,),
            )
            refs = []
            if response.status_code == 200:  # 404: an empty repository
                refs = [self._ref(self.gh.body(response), 'default', True)]
        else:
            repo, branches, tags = await asyncio.gather(
                self.repository(),
                self.gh.pages(repo_path('/branches')),
                self.gh.pages(repo_path('/tags'))
                if kind == 'all'
                else _nothing(),
            )
            default = repo.default_branch
            named = [parse(models.NamedRef, b) for b in branches]
            first = [b for b in named if b.name == default]
            rest = [b for b in named if b.name != default]
            head_kind: typing.Literal['branch', 'default'] = (
                'default' if kind == 'all' else 'branch'
            )
            refs = [
                Ref(
                    name=b.name,
                    kind=head_kind,
                    sha=b.commit.sha,
                    is_default=True,
                )
                for b in first
            ]
            refs += [self._ref(b, 'branch', False) for b in rest]
            refs += [self._ref(t, 'tag', False) for t in tags]
        if wanted:
            refs = [r for r in refs if wanted in r.name.lower()]
        return refs

    @staticmethod
    def _ref(
        item: typing.Any,
        kind: typing.Literal['branch', 'tag', 'default'],
        is_default: bool,
    ) -> Ref:
        named = (
            item
            if isinstance(item, models.NamedRef)
            else parse(models.NamedRef, item)
        )
        return Ref(
            name=named.name,
            kind=kind,
            sha=named.commit.sha,
            is_default=is_default,
        )

    async def list_commits(self, ref: str, limit: int) -> list[Commit]:
        """One REST page and one GraphQL query, whatever the limit."""
        response = await self.gh.get(
            self.gh.repo_path('/commits'),
            {'sha': ref, 'per_page': limit},
            handle=(404, 422),
        )
        if response.status_code != 200:
            raise ValueError(
                f'{ref!r} is not a branch, tag or commit of '
                f'{self.gh.full_name} ({message_of(response)})'
            )
        body = self.gh.body(response)
        if not isinstance(body, list):
            raise PluginUnavailableError(
                'GitHub answered the commit list with an unexpected shape'
            )
        commits = [parse(models.Commit, c) for c in body[:limit]]
        rollups = await self.rollups(commits)
        return [
            to_commit(c, rollups, is_head=index == 0)
            for index, c in enumerate(commits)
        ]

    async def resolve(self, committish: str) -> Commit:
        commit = await self.commit(committish)
        return to_commit(commit, await self.rollups([commit]))

    async def compare(self, base: str, head: str) -> CompareResult:
        response = await self.gh.get(
            self.gh.repo_path(f'/compare/{quote(base)}...{quote(head)}'),
            handle=(404, 422),
        )
        if response.status_code != 200:
            raise ValueError(
                f'cannot compare {base!r}...{head!r} in {self.gh.full_name}: '
                f'unknown ref or no access ({message_of(response)})'
            )
        comparison = parse(models.Comparison, self.gh.body(response))
        newest_first = list(reversed(comparison.commits))
        rollups = await self.rollups(newest_first)
        pr_numbers: list[int] = []
        for commit in newest_first:
            number = rollups.get(commit.sha, ('unknown', None))[1]
            if number is not None and number not in pr_numbers:
                pr_numbers.append(number)
        if comparison.commits:
            head_sha = comparison.commits[-1].sha
        elif comparison.merge_base_commit is not None:
            # Nothing ahead: head is the merge base itself.
            head_sha = comparison.merge_base_commit.sha
        else:
            head_sha = comparison.base_commit.sha
        return CompareResult(
            base_sha=comparison.base_commit.sha,
            head_sha=head_sha,
            ahead=comparison.ahead_by,
            behind=comparison.behind_by,
            commits=[to_commit(c, rollups) for c in newest_first],
            files_changed=len(comparison.files),
            additions=sum(f.additions for f in comparison.files),
            deletions=sum(f.deletions for f in comparison.files),
            pr_numbers=pr_numbers,
        )

    async def check_status(self, committish: str) -> mapping.CheckStatus:
        path = self.gh.repo_path(f'/commits/{quote(committish)}')
        runs, combined = await asyncio.gather(
            self.gh.pages(path + '/check-runs', key='check_runs'),
            self.gh.get(path + '/status'),
        )
        return mapping.check_status(
            [parse(models.CheckRun, r) for r in runs],
            parse(models.CombinedStatus, self.gh.body(combined)),
        )

    # -- tags and releases -------------------------------------------------

    async def create_tag(self, sha: str, tag: str, message: str) -> RefInfo:
        commit_sha = (
            sha if validate.is_full_sha(sha) else (await self.commit(sha)).sha
        ).lower()
        existing = await self.tag_target(tag)
        if existing is None:
            created = await self.gh.request(
                'POST',
                self.gh.repo_path('/git/tags'),
                json={
                    'tag': tag,
                    'message': message,
                    'object': commit_sha,
                    'type': 'commit',
                },
            )
            tag_sha = parse(models.GitTag, self.gh.body(created)).sha
            response = await self.gh.request(
                'POST',
                self.gh.repo_path('/git/refs'),
                json={'ref': f'refs/tags/{tag}', 'sha': tag_sha},
                handle=(422,),
            )
            if response.status_code == 422:
                if not already_exists(response):
                    raise self.gh.error(response)
                existing = await self.tag_target(tag)  # lost a race
        if existing is not None and existing != commit_sha:
            raise ValueError(
                f'tag {tag!r} already exists in {self.gh.full_name} at '
                f'{existing[:12]}, not at {commit_sha[:12]}'
            )
        return RefInfo(
            name=tag,
            sha=commit_sha,
            url=f'{self.web_repo}/tree/{quote(tag)}',
        )

    async def release(self, tag: str) -> ReleaseInfo | None:
        response = await self.gh.get(
            self.gh.repo_path(f'/releases/tags/{quote(tag)}'), handle=(404,)
        )
        if response.status_code == 404:
            return None
        return _release_info(parse(models.Release, self.gh.body(response)))

    async def create_release(
        self, tag: str, name: str, body: str, prerelease: bool
    ) -> ReleaseInfo:
        existing = await self.release(tag)
        if existing is not None:
            return existing
        # GitHub would tag the default branch head for a missing tag.
        if await self.tag_target(tag) is None:
            raise ValueError(
                f'tag {tag!r} does not exist in {self.gh.full_name}; '
                'create the tag first'
            )
        response = await self.gh.request(
            'POST',
            self.gh.repo_path('/releases'),
            json={
                'tag_name': tag,
                'name': name,
                'body': body,
                'prerelease': prerelease,
                'draft': False,
            },
            handle=(422,),
        )
        if response.status_code == 422:
            if not already_exists(response):
                raise self.gh.error(response)
            existing = await self.release(tag)
            if existing is None:
                raise ValueError(
                    f'GitHub says a release for {tag!r} exists but does not '
                    'return it (a draft?)'
                )
            return existing
        return _release_info(parse(models.Release, self.gh.body(response)))

    # -- workflows ---------------------------------------------------------

    async def list_workflows(self) -> list[WorkflowFile]:
        items = await self.gh.pages(
            self.gh.repo_path('/actions/workflows'), key='workflows'
        )
        workflows = [parse(models.Workflow, w) for w in items]
        return [
            WorkflowFile(id=str(w.id), path=w.path, name=w.name, state=w.state)
            for w in workflows
        ]

    async def trigger(
        self, workflow: str, ref_or_sha: str, inputs: dict[str, str]
    ) -> DeploymentRun:
        """Dispatch and return the run (see the README for the fallback)."""
        ref = ref_or_sha
        if validate.is_sha(ref_or_sha):
            repo, commit = await asyncio.gather(
                self.repository(), self.commit(ref_or_sha)
            )
            ref = repo.default_branch
            inputs = {**inputs, self.options.sha_input: commit.sha}
        correlation = None
        if self.options.correlation_input:
            correlation = uuid.uuid4().hex
            inputs = {**inputs, self.options.correlation_input: correlation}
        path = self.gh.repo_path(
            f'/actions/workflows/{quote(workflow)}/dispatches'
        )
        started = datetime.datetime.now(datetime.UTC)
        response = await self._dispatch(
            path, workflow, {'ref': ref, 'inputs': inputs}, True
        )
        if response is None:
            # GHES <= 3.20 rejected return_run_details: nothing ran yet.
            await self._dispatch(
                path, workflow, {'ref': ref, 'inputs': inputs}, False
            )
        elif response.status_code == 200:
            try:
                details = parse(models.DispatchDetails, response.json())
            except PluginUnavailableError, ValueError, RecursionError:
                LOGGER.warning(
                    'GitHub dispatched %s but its run details were '
                    'unreadable; searching for the run',
                    workflow,
                )
            else:
                return DeploymentRun(
                    run_id=str(details.workflow_run_id),
                    run_url=details.html_url or details.run_url,
                    status='queued',
                )
        return await self._find_run(workflow, ref, started, correlation)

    async def _dispatch(
        self,
        path: str,
        workflow: str,
        payload: dict[str, typing.Any],
        run_details: bool,
    ) -> httpx.Response | None:
        """The dispatch answer; None when GitHub rejects run details."""
        body = (
            {**payload, 'return_run_details': True} if run_details else payload
        )
        response = await self.gh.request(
            'POST', path, json=body, handle=(400, 404, 422)
        )
        status = response.status_code
        if status < 300:
            return response
        message = message_of(response)
        if (
            run_details
            and status in (400, 422)
            and ('return_run_details' in message)
        ):
            LOGGER.info(
                'GitHub does not know return_run_details (GHES); '
                'dispatching without it'
            )
            return None
        if status == 404:
            raise ValueError(
                f'workflow {workflow!r} not found in {self.gh.full_name}, '
                f'or the token has no access to the repository ({message})'
            )
        raise ValueError(f'GitHub refused to dispatch {workflow}: {message}')

    async def _find_run(
        self,
        workflow: str,
        ref: str,
        started: datetime.datetime,
        correlation: str | None,
    ) -> DeploymentRun:
        """The dispatched run among recent ones, or an honest unknown.

        The dispatch has happened: from here on nothing raises, since an
        error would invite a second deploy, and the answer comes before
        the host's limit even when timeout_seconds is longer.
        """
        since = started - datetime.timedelta(seconds=RUN_WINDOW_SECONDS)
        params: dict[str, str | int] = {
            'event': 'workflow_dispatch',
            'branch': ref.removeprefix('refs/heads/').removeprefix(
                'refs/tags/'
            ),
            'created': '>=' + since.strftime('%Y-%m-%dT%H:%M:%SZ'),
            'per_page': 100,
        }
        path = self.gh.repo_path(f'/actions/workflows/{quote(workflow)}/runs')
        why = 'it did not show up in time'
        while (left := self._left_after_dispatch()) > 0:
            try:
                async with asyncio.timeout(left):
                    response = await self.gh.get(path, params)
                runs = parse(models.Runs, self.gh.body(response)).workflow_runs
            except Exception as exc:  # never raise after the dispatch
                why = f'listing runs failed ({type(exc).__name__})'
                break
            if correlation is not None:
                runs = [
                    r
                    for r in runs
                    if correlation in (r.display_title or '')
                    or correlation in (r.name or '')
                ]
            if len(runs) == 1:
                run = runs[0]
                return DeploymentRun(
                    run_id=str(run.id),
                    run_url=run.html_url,
                    status=mapping.run_status(run.status, run.conclusion),
                    started_at=run.run_started_at,
                )
            if len(runs) > 1:
                why = f'{len(runs)} runs started since the dispatch'
                break
            if self._left_after_dispatch() <= RUN_POLL_SECONDS:
                break
            await asyncio.sleep(RUN_POLL_SECONDS)
        LOGGER.warning(
            'Dispatched %s on %s in %s but cannot tell its run apart: %s%s',
            workflow,
            ref,
            self.gh.full_name,
            why,
            '' if correlation else ' (set option correlation_input)',
        )
        return DeploymentRun(
            run_id='',
            run_url=await self._runs_page(workflow),
            status='unknown',
        )

    def _left_after_dispatch(self) -> float:
        """Seconds a post-dispatch request may take: within the budget
        and the host's limit, with time kept back to answer."""
        host_left = HOST_TIMEOUT_SECONDS - (time.monotonic() - self.gh.started)
        return min(self.gh.remaining(), host_left) - self.gh.reserve

    async def _runs_page(self, workflow: str) -> str:
        """The workflow's page of runs (the actions page as a fallback)."""
        if not is_workflow_id(workflow):
            return f'{self.web_repo}/actions/workflows/{quote(workflow)}'
        left = self._left_after_dispatch()
        if left > 0:
            try:
                async with asyncio.timeout(left):
                    response = await self.gh.get(
                        self.gh.repo_path(f'/actions/workflows/{workflow}')
                    )
                found = parse(models.Workflow, self.gh.body(response))
            except Exception:  # never raise after the dispatch
                LOGGER.warning('GitHub: could not read workflow %s', workflow)
            else:
                file_name = found.path.rsplit('/', 1)[-1]
                return f'{self.web_repo}/actions/workflows/{quote(file_name)}'
        return f'{self.web_repo}/actions'

    async def run_status(self, run_id: str) -> DeploymentRun:
        response = await self.gh.get(
            self.gh.repo_path(f'/actions/runs/{run_id}'), handle=(404,)
        )
        if response.status_code == 404:
            raise ValueError(
                f'workflow run {run_id} not found in {self.gh.full_name}'
            )
        run = parse(models.Run, self.gh.body(response))
        status = mapping.run_status(run.status, run.conclusion)
        return DeploymentRun(
            run_id=str(run.id),
            run_url=run.html_url,
            status=status,
            started_at=run.run_started_at,
            completed_at=run.updated_at if run.status == 'completed' else None,
        )

    # -- deployments -------------------------------------------------------

    async def recent_deployments(
        self, environments: list[str], limit: int
    ) -> list[RemoteDeployment]:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def get(
            path: str, params: dict[str, str | int] | None = None
        ) -> typing.Any:
            async with gate:
                return self.gh.body(await self.gh.get(path, params))

        async def one(deployment: models.Deployment) -> RemoteDeployment:
            statuses = await get(
                self.gh.repo_path(f'/deployments/{deployment.id}/statuses'),
                {'per_page': 1},
            )
            latest = (
                parse(models.DeploymentStatus, statuses[0])
                if isinstance(statuses, list) and statuses
                else None
            )
            return RemoteDeployment(
                environment=deployment.environment,
                sha=deployment.sha,
                ref=deployment.ref,
                status=mapping.deployment_status(
                    latest.state if latest else None
                ),
                created_at=deployment.created_at,
                external_run_id=str(deployment.id),
                run_url=(latest.log_url or latest.target_url)
                if latest
                else None,
                deployment_url=latest.environment_url if latest else None,
                description=deployment.description,
            )

        async def environment(name: str) -> list[RemoteDeployment]:
            listed = await get(
                self.gh.repo_path('/deployments'),
                {'environment': name, 'per_page': limit},
            )
            if not isinstance(listed, list):
                raise PluginUnavailableError(
                    'GitHub answered the deployment list with an '
                    'unexpected shape'
                )
            # An environment GitHub does not know lists nothing.
            deployments = [parse(models.Deployment, d) for d in listed]
            return list(
                await asyncio.gather(*(one(d) for d in deployments[:limit]))
            )

        per_environment = await asyncio.gather(
            *(environment(name) for name in environments)
        )
        return [d for found in per_environment for d in found]


async def _nothing() -> list[typing.Any]:
    return []


def _release_info(release: models.Release) -> ReleaseInfo:
    return ReleaseInfo(
        id=str(release.id),
        tag=release.tag_name,
        name=release.name,
        url=release.url,
        html_url=release.html_url,
        prerelease=release.prerelease,
    )
