"""What each contract method does against GitHub, one level below plugin.py.

Inputs arrive validated (see validate.py); every method makes its
requests through :class:`~imbi_plugin_github_actions.client.GitHub`.
"""

import asyncio
import dataclasses
import datetime
import email.utils
import logging
import time
import typing
import urllib.parse
import uuid

import httpx

from imbi_plugin_github_actions import mapping, models, validate
from imbi_plugin_github_actions._host import (
    Commit,
    CompareResult,
    DeploymentRun,
    PluginUnavailableError,
    Ref,
    RefInfo,
    ReleaseInfo,
    RemoteDeployment,
    WorkflowFile,
)
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
#: Refs found by name (matching-refs) kept per kind, at most.
MATCHING_REFS = 100
#: GraphQL's ``nodes(ids:)`` takes at most 100 ids.
GRAPHQL_IDS = 100
#: Without GitHub's own clock (its Date header), runs created this long
#: before the dispatch still count as candidates (clocks differ).
RUN_WINDOW_SECONDS = 10
#: GitHub's Date header and created_at keep whole seconds.
CLOCK_SLACK_SECONDS = 1
RUN_POLL_SECONDS = 1.0
#: The host cancels every call at 10 s and answers 503 with Retry-After
#: (docs/upstreams/host.md), whatever timeout_seconds says. Once a workflow is
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


@dataclasses.dataclass(frozen=True)
class RunFilter:
    """What tells the dispatched run from others of the same workflow."""

    #: Created at or after this moment (GitHub's clock when known).
    since: datetime.datetime
    #: Runs listed before the dispatch: never ours.
    known: frozenset[int] = frozenset()
    #: The token's user (GitHub sets it as the run's actor).
    actor: str | None = None
    #: The ref's head commit when it was dispatched.
    head_sha: str | None = None
    correlation: str | None = None

    def params(self, ref: str) -> dict[str, str | int]:
        params: dict[str, str | int] = {
            'event': 'workflow_dispatch',
            'branch': ref.removeprefix('refs/heads/').removeprefix(
                'refs/tags/'
            ),
            'created': '>=' + self.since.strftime('%Y-%m-%dT%H:%M:%SZ'),
            'per_page': 100,
        }
        if self.actor:
            params['actor'] = self.actor
        if self.head_sha:
            params['head_sha'] = self.head_sha
        return params

    def matches(self, run: models.Run) -> bool:
        """Checked here as well: GitHub ignores a query parameter it does
        not know, so a filter it does not apply must not let another run
        through."""
        if run.id in self.known:
            return False
        if run.event not in (None, 'workflow_dispatch'):
            return False
        if run.created_at is not None and run.created_at < self.since:
            return False
        if self.actor and run.actor and run.actor.login != self.actor:
            return False
        if self.head_sha and run.head_sha and run.head_sha != self.head_sha:
            return False
        if self.correlation is not None:
            return self.correlation in (
                run.display_title or ''
            ) or self.correlation in (run.name or '')
        return True


def github_time(response: httpx.Response) -> datetime.datetime | None:
    """GitHub's clock from its Date header (None when missing or odd)."""
    try:
        moment = email.utils.parsedate_to_datetime(
            response.headers.get('date', '')
        )
    except TypeError, ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(datetime.UTC)


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
        self._gate = asyncio.Semaphore(CONCURRENCY)

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
        return await self._peel(
            parse(models.GitRef, self.gh.body(response)).object
        )

    async def is_ref(self, name: str) -> bool:
        """Whether ``name`` is a branch or a tag (exact match).

        Date tags such as ``20261115`` and hex branch names look like
        abbreviated SHAs: only a name that is no ref is taken for one.
        """
        answers = await asyncio.gather(
            *(
                self.gh.get(
                    self.gh.repo_path(f'/git/ref/{kind}/{quote(name)}'),
                    handle=(404,),
                )
                for kind in ('heads', 'tags')
            )
        )
        found = [
            parse(models.GitRef, self.gh.body(a))
            for a in answers
            if a.status_code == 200
        ]
        return bool(found)

    # -- refs and commits --------------------------------------------------

    async def list_refs(self, kind: str, query: str | None) -> list[Ref]:
        """Branches and tags; the default branch fetched on its own.

        GitHub sorts branches by name and lists are read 1,000 items at
        most, so the default branch is never taken from the list, and a
        ``query`` also asks GitHub for the refs starting with it
        (matching-refs) wherever they are in the lists.
        """
        wanted = (query or '').strip()
        # Only a plausible ref prefix goes into the matching-refs path
        # (no dot segments: they would walk out of the repository).
        prefix = wanted if validate.is_ref_prefix(wanted) else ''

        def matches(name: str) -> bool:
            return wanted.lower() in name.lower()

        repo_path = self.gh.repo_path
        heads = kind != 'tag'
        listed = kind in ('tag', 'all')
        default = (await self.repository()).default_branch if heads else ''
        head, branches, tags, more_heads, more_tags = await asyncio.gather(
            self._branch(default) if heads else _none(),
            self.gh.pages(repo_path('/branches'))
            if kind in ('branch', 'all')
            else _nothing(),
            self.gh.pages(repo_path('/tags')) if listed else _nothing(),
            self._matching('heads', prefix)
            if prefix and kind in ('branch', 'all')
            else _nothing(),
            self._matching('tags', prefix)
            if prefix and listed
            else _nothing(),
        )
        head_kind: typing.Literal['branch', 'default'] = (
            'branch' if kind == 'branch' else 'default'
        )
        refs: list[Ref] = []
        if head is not None and matches(default):
            refs.append(
                Ref(
                    name=default,
                    kind=head_kind,
                    sha=head.commit.sha,
                    is_default=True,
                )
            )
        seen = {default}
        for item in branches:
            ref = self._ref(item, 'branch', False)
            if ref.name not in seen and matches(ref.name):
                seen.add(ref.name)
                refs.append(ref)
        for git_ref in more_heads:
            name = git_ref.ref.removeprefix('refs/heads/')
            if name not in seen:
                seen.add(name)
                refs.append(
                    Ref(name=name, kind='branch', sha=git_ref.object.sha)
                )
        named_tags = set()
        for item in tags:
            ref = self._ref(item, 'tag', False)
            named_tags.add(ref.name)
            if matches(ref.name):
                refs.append(ref)
        extra = [
            t
            for t in more_tags
            if t.ref.removeprefix('refs/tags/') not in named_tags
        ]
        peeled = await asyncio.gather(*(self._peel(t.object) for t in extra))
        refs += [
            Ref(name=t.ref.removeprefix('refs/tags/'), kind='tag', sha=sha)
            for t, sha in zip(extra, peeled, strict=True)
        ]
        return refs

    async def _branch(self, name: str) -> models.NamedRef | None:
        """One branch; None when it does not exist (an empty repository)."""
        response = await self.gh.get(
            self.gh.repo_path(f'/branches/{quote(name)}'), handle=(404,)
        )
        if response.status_code == 404:
            return None
        return parse(models.NamedRef, self.gh.body(response))

    async def _matching(self, kind: str, prefix: str) -> list[models.GitRef]:
        """Refs of ``kind`` (heads, tags) whose name starts with
        ``prefix`` (one answer: GitHub pages no matching-refs list), the
        first MATCHING_REFS of them."""
        response = await self.gh.get(
            self.gh.repo_path(f'/git/matching-refs/{kind}/{quote(prefix)}')
        )
        items = self.gh.body(response)
        if not isinstance(items, list):
            raise PluginUnavailableError(
                'GitHub answered matching-refs with an unexpected shape'
            )
        return [parse(models.GitRef, i) for i in items[:MATCHING_REFS]]

    async def _peel(self, target: models.GitObject) -> str:
        """The commit an annotated tag object points to (tags of tags
        followed a few levels)."""
        async with self._gate:
            for _ in range(4):
                if target.type != 'tag':
                    break
                tag_object = await self.gh.get(
                    self.gh.repo_path(f'/git/tags/{target.sha}')
                )
                target = parse(models.GitTag, self.gh.body(tag_object)).object
        return target.sha.lower()

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
        if validate.is_sha(ref_or_sha) and not await self.is_ref(ref_or_sha):
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
        payload = {'ref': ref, 'inputs': validate.input_count(inputs)}
        started = datetime.datetime.now(datetime.UTC)
        response = await self._dispatch(path, workflow, payload, True)
        if response.status_code >= 300:
            # GitHub rejected return_run_details (GHES <= 3.20, or an API
            # version without the field): nothing ran yet, so note what
            # tells our run apart before dispatching again.
            wanted = await self._run_filter(
                workflow, ref, response, correlation
            )
            response = await self._dispatch(path, workflow, payload, False)
        else:
            now = github_time(response)
            wanted = RunFilter(
                since=(
                    now - datetime.timedelta(seconds=CLOCK_SLACK_SECONDS + 1)
                    if now is not None
                    else started
                    - datetime.timedelta(seconds=RUN_WINDOW_SECONDS)
                ),
                correlation=correlation,
            )
        if response.status_code == 200:
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
        return await self._find_run(workflow, ref, wanted)

    async def _run_filter(
        self,
        workflow: str,
        ref: str,
        rejected: httpx.Response,
        correlation: str | None,
    ) -> RunFilter:
        """Before the dispatch: runs already there, actor and head SHA."""
        now = github_time(rejected)
        if now is None:
            since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(
                seconds=RUN_WINDOW_SECONDS
            )
        else:
            # Our run is created after GitHub answered the rejection.
            since = now - datetime.timedelta(seconds=CLOCK_SLACK_SECONDS)
        actor, head = await asyncio.gather(self._actor(), self.commit(ref))
        wanted = RunFilter(
            since=since, actor=actor, head_sha=head.sha, correlation=None
        )
        path = self.gh.repo_path(f'/actions/workflows/{quote(workflow)}/runs')
        try:
            listed = await self.gh.get(path, wanted.params(ref))
            runs = parse(models.Runs, self.gh.body(listed)).workflow_runs
        except PluginUnavailableError as exc:
            # The search after the dispatch meets the same outage and
            # says so; the deploy itself need not wait for it.
            LOGGER.warning('GitHub: listing runs before the dispatch: %s', exc)
            runs = []
        return dataclasses.replace(
            wanted,
            known=frozenset(r.id for r in runs),
            correlation=correlation,
        )

    async def _actor(self) -> str | None:
        """The token's user; None for tokens without one (GitHub Apps)."""
        response = await self.gh.get('/user', handle=(403, 404))
        if response.status_code != 200:
            return None
        try:
            return parse(models.Login, self.gh.body(response)).login
        except PluginUnavailableError:
            return None

    async def _dispatch(
        self,
        path: str,
        workflow: str,
        payload: dict[str, typing.Any],
        run_details: bool,
    ) -> httpx.Response:
        """The dispatch answer, or the 4xx rejecting run details."""
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
            return response
        if status == 404:
            raise ValueError(
                f'workflow {workflow!r} not found in {self.gh.full_name}, '
                f'or the token has no access to the repository ({message})'
            )
        raise ValueError(f'GitHub refused to dispatch {workflow}: {message}')

    async def _find_run(
        self, workflow: str, ref: str, wanted: RunFilter
    ) -> DeploymentRun:
        """The dispatched run among recent ones, or an honest unknown.

        The dispatch has happened: from here on nothing raises, since an
        error would invite a second deploy, and the answer comes before
        the host's limit even when timeout_seconds is longer.
        """
        params = wanted.params(ref)
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
            runs = [r for r in runs if wanted.matches(r)]
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
            '' if wanted.correlation else ' (set option correlation_input)',
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


async def _none() -> None:
    return None


def _release_info(release: models.Release) -> ReleaseInfo:
    return ReleaseInfo(
        id=str(release.id),
        tag=release.tag_name,
        name=release.name,
        url=release.url,
        html_url=release.html_url,
        prerelease=release.prerelease,
    )
