"""The archive and unarchive flows, ending in results an operator reads.

Every step checks the state first (idempotent: a rerun finishes what a
failed run left). Refusals become ``failed``/``skipped`` results; the
host's exceptions propagate only while nothing has been changed yet.
Once a step has changed something, any later problem becomes a
``failed`` result listing what was done and what was not.
"""

import asyncio
import collections.abc
import dataclasses
import time

from imbi_plugin_archiver import _host, app
from imbi_plugin_archiver import options as options_module
from imbi_plugin_archiver._host import (
    LifecycleResult,
    PluginAuthenticationFailed,
    PluginContext,
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_archiver.client import GitHub, Repo
from imbi_plugin_archiver.errors import GitHubRefused
from imbi_plugin_archiver.links import Target, Unresolved, resolve
from imbi_plugin_archiver.options import (
    OptionError,
    Options,
    raw,
    read_options,
)

PERMISSIONS = (
    'archiving and unarchiving need admin rights on the repository: a '
    'classic token with the `repo` scope of a repository admin, or a '
    'fine-grained or GitHub App token with the "Administration: write" '
    'repository permission'
)


def _host_errors() -> tuple[type[Exception], ...]:
    """The host's exceptions a step may raise (v3 adds rate limits)."""
    limited = _host.optional('PluginRateLimited')
    return (
        PluginAuthenticationFailed,
        PluginTimeoutError,
        PluginUnavailableError,
        *([limited] if limited is not None else []),
    )


class _Stop(Exception):
    """A step cannot go on and later steps must not run."""


def _moving_needs(owner: str) -> str:
    return (
        'moving needs admin rights on the repository (classic token: '
        '`repo` scope; fine-grained or App token: "Administration: '
        f'write") and permission to create repositories in {owner}'
    )


def _same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def explain(exc: GitHubRefused, repo: str, needs: str = PERMISSIONS) -> str:
    """What a refusal means and what to do about it (``needs``)."""
    said = f'GitHub: {exc.status} {exc.message}'
    lowered = exc.message.lower()
    if 'not accessible by integration' in lowered:
        return (
            'the token lacks the "Administration: write" repository '
            f'permission (fine-grained or GitHub App token; {said}); '
            'grant it, or use a classic token with the `repo` scope of a '
            'repository admin'
        )
    if 'admin rights' in lowered:
        return f"the token's user is not an admin of {repo} ({said}); " + needs
    if exc.status == 404:
        return (
            f'GitHub shows {repo} but answered 404 to the change, so the '
            'token may read but not administer it (a classic token needs '
            'the `repo` scope, or `public_repo` for a public repository); '
            + needs
        )
    return f'{said}; {needs}'


@dataclasses.dataclass
class Flow:
    """One archive or unarchive of one repository."""

    github: GitHub
    target: Target
    options: Options
    archive: bool
    budget: int
    repo: Repo | None = None
    found: Repo | None = None
    moved_to: str | None = None
    done: list[str] = dataclasses.field(default_factory=list)
    not_done: list[str] = dataclasses.field(default_factory=list)

    @property
    def verb(self) -> str:
        return 'archive' if self.archive else 'unarchive'

    async def run(self, ctx: PluginContext) -> LifecycleResult:
        try:
            found = await self.github.repository(
                self.target.owner, self.target.name
            )
        except GitHubRefused as exc:
            # A refusal to show it (403: no access, SSO, IP allow list;
            # 451...) is for the operator to act on, like any other.
            return LifecycleResult(
                status='failed',
                message=(
                    f'GitHub refused to show {self.target.full_name}, so '
                    f'nothing was {self.verb}d: '
                    f'{explain(exc, self.target.full_name)}'
                ),
            )
        if found is None:
            return LifecycleResult(
                status='skipped',
                message=(
                    f'GitHub repository {self.target.full_name} was not '
                    'found: it was deleted, or the token cannot see it '
                    '(a classic token needs the `repo` scope for private '
                    'repositories; a fine-grained or App token must '
                    f'include the repository). Nothing to {self.verb}.'
                ),
            )
        self.found = self.repo = found
        try:
            if self.archive:
                await self._archive()
            else:
                await self._unarchive()
        except _Stop:
            pass
        return self._result(self._write_back(ctx))

    # -- the flows --------------------------------------------------------

    async def _archive(self) -> None:
        archive_owner = self.options.archive_owner
        repo = self._repo
        if archive_owner and not _same(repo.owner, archive_owner):
            await self._step(
                f'move {repo.full_name} to {archive_owner}',
                self._move(archive_owner),
                _moving_needs(archive_owner),
            )
        if not self._repo.archived:
            await self._step(
                f'archive {self._repo.full_name}', self._set_archived(True)
            )

    async def _unarchive(self) -> None:
        archive_owner = self.options.archive_owner
        if self._repo.archived:
            await self._step(
                f'unarchive {self._repo.full_name}',
                self._set_archived(False),
            )
        repo = self._repo
        if not archive_owner or not _same(repo.owner, archive_owner):
            return
        home = self.target.owner
        if _same(home, archive_owner):
            self.not_done.append(
                f'move {repo.full_name} out of {archive_owner}: the '
                f'project names {archive_owner} as its owner, so its '
                "original owner is unknown; set the 'repository' option "
                'to its original owner/name and rerun, or transfer it on '
                'GitHub'
            )
            return
        await self._step(
            f'move {repo.full_name} back to {home}',
            self._move(home),
            _moving_needs(home),
        )

    # -- steps ------------------------------------------------------------

    @property
    def _repo(self) -> Repo:
        assert self.repo is not None  # noqa: S101 - set before any step
        return self.repo

    async def _step(
        self,
        what: str,
        action: collections.abc.Awaitable[None],
        needs: str = PERMISSIONS,
    ) -> None:
        try:
            await action
        except GitHubRefused as exc:
            self.not_done.append(
                f'{what}: {explain(exc, self._repo.full_name, needs)}'
            )
        except _host_errors() as exc:
            if not self.done:
                raise
            self.not_done.append(f'{what}: {type(exc).__name__}: {exc}')

    async def _set_archived(self, archived: bool) -> None:
        repo = self._repo
        try:
            updated = await self.github.set_archived(repo, archived)
        except GitHubRefused as exc:
            # Archived meanwhile: the wanted state, not a failure.
            if archived and 'archived so is read-only' in exc.message.lower():
                self.repo = dataclasses.replace(repo, archived=True)
                return
            raise
        if updated.archived != archived:
            self.not_done.append(
                f'{self.verb} {repo.full_name}: GitHub accepted the change '
                f'but still reports archived={str(not archived).lower()}; '
                'check the repository settings on GitHub and rerun'
            )
            return
        self.repo = updated
        self.done.append(
            f'{"archived" if archived else "unarchived"} {updated.full_name}'
        )

    async def _move(self, owner: str) -> None:
        repo = self._repo
        name = await self.github.transfer(repo, owner)
        moved = await self.github.wait_until_at(repo, owner, name)
        if moved is None:
            self.done.append(
                f'asked GitHub to move {repo.full_name} to {owner} '
                '(accepted, still in progress)'
            )
            self.not_done.append(
                f'{self.verb} it: the move had not completed within the '
                f'{self.budget} s budget; rerun once it shows at '
                f'{owner}/{name} (rerunning is safe)'
            )
            raise _Stop
        self.done.append(f'moved {repo.full_name} to {moved.full_name}')
        self.repo = moved
        self.moved_to = moved.owner

    # -- the result -------------------------------------------------------

    @property
    def _linked(self) -> Repo | None:
        """Where the project link should point after this call; None to
        leave it as it is.

        The link never moves into the archive organization (unless the
        project already names it): unarchive moves the repository back to
        the owner the project names, and GitHub redirects the old address.
        That holds for our own move, for a rerun that finds an earlier
        move completed, and for an unarchive whose move back failed. Any
        other move or rename is followed.
        """
        archive_owner = self.options.archive_owner
        if not archive_owner or _same(self.target.owner, archive_owner):
            return self.repo
        for repo in (self.repo, self.found):
            if repo is not None and not _same(repo.owner, archive_owner):
                return repo
        return None

    def _write_back(self, ctx: PluginContext) -> bool:
        """Have the host heal the project link, where it can."""
        repo, key = self._linked, self.target.link_key
        if (
            repo is None
            or key is None
            or _same(repo.full_name, self.target.full_name)
            or 'link_writeback' not in type(ctx).model_fields
        ):
            return False
        link_writeback = _host.optional('LinkWriteback')
        setattr(  # noqa: B010 - a field of newer hosts only
            ctx,
            'link_writeback',
            link_writeback(
                link_key=key,
                new_url=repo.html_url,
                old_owner_repo=self.target.full_name,
                new_owner_repo=repo.full_name,
            ),
        )
        return True

    def _result(self, healed: bool) -> LifecycleResult:
        repo = self._repo
        artifacts = {
            'repository': repo.full_name,
            'html_url': repo.html_url,
            'archived': 'true' if repo.archived else 'false',
        }
        if self.moved_to:
            artifacts['moved_to'] = self.moved_to
        notes = self._link_note(healed)
        if self.not_done:
            done = '; '.join(self.done) or 'nothing'
            return LifecycleResult(
                status='failed',
                message=(
                    f'{self.verb.capitalize()} of {self.target.full_name} '
                    f'is incomplete. Done: {done}. Not done: '
                    f'{"; ".join(self.not_done)}.{notes}'
                ),
                artifacts=artifacts,
            )
        if not self.done:
            state = 'archived' if self.archive else 'active (not archived)'
            message = (
                f'GitHub repository {repo.full_name} is already {state}; '
                f'nothing to do.{notes}'
            )
        else:
            effect = (
                'it is now read-only'
                if self.archive
                else 'it accepts changes again'
            )
            done = '; '.join(self.done)
            message = f'{done[0].upper()}{done[1:]}: {effect}.{notes}'
        return LifecycleResult(
            status='ok', message=message, artifacts=artifacts
        )

    def _link_note(self, healed: bool) -> str:
        """Where the repository is now, if not where the project says."""
        final, target = self._repo, self.target
        if _same(final.full_name, target.full_name):
            return ''
        found = self.found or final
        note = ''
        if not _same(found.full_name, target.full_name):
            note = (
                f' GitHub redirected {target.full_name} to '
                f'{found.full_name}: it was renamed or moved.'
            )
        linked = self._linked
        kept = ''
        if linked is None or not _same(linked.full_name, final.full_name):
            named = (linked or target).full_name
            kept = (
                f' The project keeps naming {named} (GitHub redirects it),'
                ' so unarchive can move it back.'
            )
        if healed and linked is not None:
            return f'{note} The project link is being updated to ' + (
                f'{linked.html_url}.{kept}'
            )
        if linked is None or _same(linked.full_name, target.full_name):
            # Moved by this call, or kept on the original owner: the old
            # address keeps redirecting, and unarchive needs it.
            return f'{note}{kept}'
        if target.link_key is not None:
            return (
                f'{note} Update the project link {target.link_key!r} to '
                f'{linked.html_url}.{kept}'
            )
        return (
            f"{note} Update the 'repository' option to "
            f'{linked.full_name}.{kept}'
        )


async def handle(
    ctx: PluginContext, credentials: dict[str, str], archive: bool
) -> LifecycleResult:
    """Archive or unarchive the project's repository, within the budget.

    Unusable options or App credentials give a ``failed`` result naming
    them, missing credentials ``PluginCredentialsMissing``; either way
    before any request.
    """
    try:
        credential = options_module.credential(credentials)
        options = read_options(raw(ctx))
        jwt_token = (
            app.sign(credential)
            if isinstance(credential, app.AppCredentials)
            else None
        )
    except OptionError as exc:
        return LifecycleResult(status='failed', message=str(exc))
    target = resolve(options, dict(ctx.project_links))
    if isinstance(target, Unresolved):
        return LifecycleResult(
            status=target.status,
            message=target.message,
        )
    budget = options.timeout_seconds
    try:
        async with asyncio.timeout(budget):
            deadline = time.monotonic() + budget
            if isinstance(credential, app.AppCredentials):
                # The exchange spends the same budget as the flow.
                assert jwt_token is not None  # noqa: S101 - signed above
                token = await app.installation_token(
                    credential,
                    jwt_token,
                    options.api_url,
                    target.owner,
                    target.name,
                    deadline,
                    getattr(ctx, 'integration_slug', None),
                )
            else:
                token = credential
            async with GitHub.client(token) as http:
                github = GitHub(http, options.api_url, deadline)
                flow = Flow(github, target, options, archive, budget)
                return await flow.run(ctx)
    except TimeoutError:
        raise PluginTimeoutError(
            f'the {"archive" if archive else "unarchive"} of '
            f'{target.full_name} did not finish within the {budget} s '
            "budget (option 'timeout_seconds')"
        ) from None
