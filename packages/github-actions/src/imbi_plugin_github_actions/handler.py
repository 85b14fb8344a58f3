"""The GitHub Actions deployment handler, shared by both generations.

``plugin.py`` (v1) and ``_v3.py`` (v3) mix :class:`GitHubActionsHandler`
into their host's base class. Each method checks credentials, options
and its arguments first (no request is made for bad input), then runs
inside the call's budget. httpx, PyJWT and the request code are
imported on first use.
"""

import collections.abc
import typing

from imbi_plugin_github_actions import _host
from imbi_plugin_github_actions._host import (
    Commit,
    CompareResult,
    DeploymentRun,
    PluginContext,
    PluginUnavailableError,
    Ref,
    RefInfo,
    ReleaseInfo,
    RemoteDeployment,
    WorkflowFile,
)

if typing.TYPE_CHECKING:
    from imbi_plugin_github_actions import options as plugin_options
    from imbi_plugin_github_actions import validate
    from imbi_plugin_github_actions.app_auth import AppKey
    from imbi_plugin_github_actions.operations import Operations
else:
    # Loaded by the first call, not at the host's start-up.
    plugin_options = _host.deferred('imbi_plugin_github_actions.options')
    validate = _host.deferred('imbi_plugin_github_actions.validate')

#: environment_config keys that configure the plugin rather than the
#: workflow; the host merges environment_config into the inputs.
PLUGIN_KEYS = ('workflow',)

CheckStatus = typing.Literal['pass', 'fail', 'warn', 'unknown']


class GitHubActionsHandler:
    """Refs, commits, tags, releases and deploys through GitHub Actions."""

    async def list_refs(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        kind: typing.Literal['default', 'branch', 'tag', 'all'] = 'all',
        query: str | None = None,
    ) -> list[Ref]:
        setup = _setup(ctx, credentials)
        checked = validate.kind(kind)
        if query is not None and not isinstance(query, str):
            raise ValueError('query must be a string')
        return await _run(setup, lambda ops: ops.list_refs(checked, query))

    async def list_commits(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        ref: str,
        limit: int = 25,
    ) -> list[Commit]:
        setup = _setup(ctx, credentials)
        name, count = validate.ref(ref), validate.limit(limit)
        return await _run(setup, lambda ops: ops.list_commits(name, count))

    async def resolve_committish(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        committish: str,
    ) -> Commit:
        setup = _setup(ctx, credentials)
        name = validate.ref(committish, 'committish')
        return await _run(setup, lambda ops: ops.resolve(name))

    async def compare(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        base: str,
        head: str,
    ) -> CompareResult:
        setup = _setup(ctx, credentials)
        left, right = validate.ref(base, 'base'), validate.ref(head, 'head')
        return await _run(setup, lambda ops: ops.compare(left, right))

    async def trigger_deployment(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        ref_or_sha: str,
        inputs: dict[str, str] | None = None,
    ) -> DeploymentRun:
        setup = _setup(ctx, credentials)
        ref = validate.ref(ref_or_sha, 'ref_or_sha')
        config = dict(ctx.environment_config or {})
        workflow = config.get('workflow') or setup.options.workflow
        if workflow is None:
            raise ValueError(
                'no workflow: set option "workflow" or '
                "environment_config['workflow']"
            )
        if not isinstance(workflow, (str, int)) or isinstance(workflow, bool):
            raise ValueError("environment_config['workflow'] must be a string")
        workflow = plugin_options.check_workflow(
            str(workflow), "environment_config['workflow']"
        )
        values = validate.inputs(inputs)
        for key in PLUGIN_KEYS:
            if key in config:
                values.pop(key, None)
        correlation = setup.options.correlation_input
        validate.input_count(
            {**values, correlation: ''} if correlation else values
        )
        return await _run(
            setup, lambda ops: ops.trigger(workflow, ref, values)
        )

    async def get_deployment_status(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        run_id: str,
    ) -> DeploymentRun:
        setup = _setup(ctx, credentials)
        checked = validate.run_id(run_id)
        return await _run(setup, lambda ops: ops.run_status(checked))

    async def get_check_status(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        committish: str,
    ) -> CheckStatus:
        setup = _setup(ctx, credentials)
        name = validate.ref(committish, 'committish')
        return await _run(setup, lambda ops: ops.check_status(name))

    async def create_tag(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        sha: str,
        tag: str,
        message: str,
    ) -> RefInfo:
        setup = _setup(ctx, credentials)
        commit, name = validate.sha(sha), validate.tag(tag)
        if not isinstance(message, str):
            raise ValueError('message must be a string')
        text = message or name
        return await _run(
            setup, lambda ops: ops.create_tag(commit, name, text)
        )

    async def create_release(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        tag: str,
        name: str,
        body_markdown: str,
        prerelease: bool = False,
    ) -> ReleaseInfo:
        setup = _setup(ctx, credentials)
        checked = validate.tag(tag)
        if not isinstance(name, str) or not isinstance(body_markdown, str):
            raise ValueError('name and body_markdown must be strings')
        title = name or checked
        return await _run(
            setup,
            lambda ops: ops.create_release(
                checked, title, body_markdown, bool(prerelease)
            ),
        )

    async def list_workflows(
        self, ctx: PluginContext, credentials: dict[str, str]
    ) -> list[WorkflowFile]:
        setup = _setup(ctx, credentials)
        return await _run(setup, lambda ops: ops.list_workflows())

    async def list_recent_deployments(
        self,
        ctx: PluginContext,
        credentials: dict[str, str],
        environments: list[str],
        limit: int = 1,
    ) -> list[RemoteDeployment]:
        setup = _setup(ctx, credentials)
        names = validate.environments(environments)
        count = validate.limit(limit)
        if not names:
            return []
        return await _run(
            setup, lambda ops: ops.recent_deployments(names, count)
        )


class Setup:
    """What a call needs; the credential out of the repr, which error
    trackers record for the locals of every frame of a traceback.

    A plain class, not a dataclass: a dataclass evaluates its
    annotations when it is created, which would load ``options`` at the
    host's start-up rather than on the first call.
    """

    __slots__ = ('credential', 'integration', 'options', 'repository')

    def __init__(
        self,
        options: plugin_options.Options,
        credential: str | AppKey,
        repository: tuple[str, str],
        #: v3 hosts name the Integration (``?source=``) in their answer
        #: to an App that is not installed.
        integration: str | None = None,
    ) -> None:
        self.options = options
        self.credential = credential
        self.repository = repository
        self.integration = integration

    def __repr__(self) -> str:
        return f'Setup(repository={self.repository!r})'


def _setup(ctx: PluginContext, credentials: dict[str, str]) -> Setup:
    """Credential, options and repository, or the error, before any
    request."""
    # Names error trackers scrub (``credential``, ``token``): their
    # frames' locals are reported with an exception.
    credential = plugin_options.credential(credentials)
    options = plugin_options.read_options(ctx)
    repository = plugin_options.repository(options, ctx)
    if isinstance(credential, str):
        return Setup(options, credential, repository)
    try:
        from imbi_plugin_github_actions import app_auth
    except ImportError as exc:
        if (exc.name or '').partition('.')[0] not in _APP_LIBRARIES:
            raise
        raise PluginUnavailableError(
            'GitHub App credentials need PyJWT and cryptography, which are '
            f'not installed in the host: {INSTALL_APP_LIBRARIES}'
        ) from None
    return Setup(
        options,
        app_auth.load(credential),
        repository,
        getattr(ctx, 'integration_slug', None),
    )


#: What an App credential needs beyond a token (README, "Installing
#: into imbi-api 2.41"): imbi-api installs plugins with ``--no-deps``.
INSTALL_APP_LIBRARIES = (
    "pip install 'pyjwt[crypto]>=2.8' 'cryptography>=3.4.1'"
)
_APP_LIBRARIES = ('jwt', 'cryptography')


async def _run[T](
    setup: Setup,
    work: collections.abc.Callable[[Operations], collections.abc.Awaitable[T]],
) -> T:
    from imbi_plugin_github_actions import client, operations

    options, (owner, name) = setup.options, setup.repository
    async with (
        client.budget(options.timeout_seconds),
        client.GitHub(options, None, owner, name) as gh,
    ):
        token = setup.credential
        if not isinstance(token, str):
            # Inside the budget: the exchange is part of the call.
            from imbi_plugin_github_actions import app_auth

            token = await app_auth.installation_token(
                gh, token, setup.integration
            )
        gh.authorize(token)
        return await work(operations.Operations(gh))
