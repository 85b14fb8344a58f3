"""Matrix profile of the github-actions plugin (seeded acme/billing-api).

The repository comes from the project link ``github-repository`` and the
deploy workflow from ``environment_config``, as imbi-api passes them;
every call goes through :meth:`Host.deployment` or
:meth:`Host.trigger_deployment`, so credentials and inputs are built the
host's way.
"""

import datetime
import functools
import pathlib
import typing

from imbi_plugin_testing.contract import ContractSpec
from imbi_plugin_testing.fakes.github import GitHubFake, Token
from imbi_plugin_testing.fakes.github import actions as gh_actions
from imbi_plugin_testing.host import Host, HostResponse
from imbi_plugin_testing.profiles import (
    BadInput,
    Profile,
    Run,
    UpstreamCall,
)
from imbi_plugin_testing.standin import Fault, StandIn

OWNER, NAME = 'acme', 'billing-api'
LINKS = {'github-repository': f'https://github.com/{OWNER}/{NAME}'}
CONFIG = {'workflow': 'deploy.yml', 'environment': 'production'}
#: A finished run of deploy.yml the stand-in knows (far above its ids).
RUN_ID = 9_000_001
_TOKEN = 'ghp_matrixTokenOfTheStandIn0000000000'  # noqa: S105 - the fake's
_DOCS = 'https://docs.github.com/rest'


def _seed() -> tuple[GitHubFake, gh_actions.RepoState]:
    fake = GitHubFake()
    fake.add_user('octocat')
    fake.tokens[_TOKEN] = Token(_TOKEN, 'octocat', ['repo'])
    repo = fake.add_repository(OWNER, NAME, collaborators={'octocat': 'admin'})
    git = gh_actions.seed(fake, repo)
    deploy = next(w for w in git.workflows.values() if w.name == 'Deploy')
    moment = gh_actions.now() - datetime.timedelta(minutes=5)
    git.runs[RUN_ID] = gh_actions.WorkflowRun(
        id=RUN_ID,
        workflow=deploy,
        run_number=1,
        head_branch='main',
        head_sha=git.branches['main'],
        inputs={'environment': 'production'},
        display_title='Deploy to production',
        created_at=moment,
        status='completed',
        conclusion='success',
        run_started_at=moment,
        updated_at=moment,
    )
    return fake, git


def _fake() -> StandIn:
    return _seed()[0]


@functools.cache
def _head_sha() -> str:
    """The default branch head (the seed is deterministic)."""
    return _seed()[1].branches['main']


def _host(fake: StandIn, url: str, budget: int) -> Host:
    from imbi_plugin_testing.generation import plugin_under_test

    GitHubActionsPlugin = plugin_under_test('imbi_plugin_github_actions')

    return Host(
        GitHubActionsPlugin,
        plugin_options={
            'api_url': url,
            'correlation_input': 'imbi_correlation',
            'timeout_seconds': budget,
        },
        credentials={'token': _TOKEN},
        project={'project_links': dict(LINKS)},
    )


def _contract() -> ContractSpec:
    from imbi_plugin_testing.generation import plugin_under_test

    GitHubActionsPlugin = plugin_under_test('imbi_plugin_github_actions')

    return ContractSpec(
        plugin=GitHubActionsPlugin,
        readme=pathlib.Path('packages/github-actions/README.md'),
        credentials={'token': 'ghp_contractToken000000000000000000000'},
        options=lambda url: {
            'api_url': url,
            'repository': f'{OWNER}/{NAME}',
        },
        call=lambda plugin, ctx, creds: plugin.list_workflows(ctx, creds),
        context_kind='deployment',
        # access_token (a bound identity) or token; empty counts as absent.
        missing_credentials=[
            {},
            {'token': ''},
            {'access_token': '', 'token': '  '},
        ],
    )


def _call(method: str, **kwargs: typing.Any) -> Run:
    async def run(host: Host) -> HostResponse:
        return await host.deployment(method, **kwargs)

    return run


def _trigger(
    ref: str,
    inputs: dict[str, str] | None = None,
    config: dict[str, typing.Any] | None = None,
    **options: typing.Any,
) -> Run:
    async def run(host: Host) -> HostResponse:
        host.project_options.update(options)
        response = await host.trigger_deployment(
            ref,
            inputs,
            environment_config=CONFIG if config is None else config,
        )
        started = response.result
        honest = response.ok and (  # a run, or "started, run unknown"
            started.status == 'queued'
            or (
                started.status == 'unknown'
                and started.run_id == ''
                and '/actions' in started.run_url
            )
        )
        if response.ok and not honest:
            raise AssertionError(f'trigger answered {started!r}')
        return response

    return run


def _with(
    method: str, options: dict[str, typing.Any], **kwargs: typing.Any
) -> Run:
    async def run(host: Host) -> HostResponse:
        host.project_options.update(options)
        return await host.deployment(method, **kwargs)

    return run


def _links_on_the_host(count: int) -> Run:
    """No repository option or github-repository link: ``count`` links
    on the GitHub host (the stand-in's address)."""

    async def run(host: Host) -> HostResponse:
        base = host.plugin_options['api_url']
        links = {
            f'repo-{index}': f'{base}/{OWNER}/service-{index}'
            for index in range(count)
        }
        links['docs'] = 'https://docs.example.com/billing'
        return await host.deployment('list_workflows', project_links=links)

    return run


def profile() -> Profile:
    # A 404 from GitHub means the repository is missing or the token cannot
    # see it (README error table): every method answers ValueError, and the
    # methods that treat a 404 as "no such ref/run/tag/release" say so in a
    # ValueError too.
    not_found = {'404': 'ValueError'}
    return Profile(
        slug='github-actions',
        folder='github-actions',
        make_fake=_fake,
        make_host=_host,
        calls=[
            UpstreamCall('list_refs', _call('list_refs'), not_found),
            UpstreamCall(
                'list_commits',
                _call('list_commits', ref='main', limit=10),
                not_found,
            ),
            UpstreamCall(
                'resolve_committish',
                _call('resolve_committish', committish='v1.0.0'),
                not_found,
            ),
            UpstreamCall(
                'compare',
                _call('compare', base='v1.0.0', head='main'),
                not_found,
            ),
            # A 2xx dispatch answer means the workflow run was started,
            # even when its body is unreadable: from then on the plugin
            # must not raise (a retry would deploy twice). It looks for
            # the run, fails the same way, and answers run_id='' with
            # status unknown and the runs page (issue 8, README step 6).
            UpstreamCall(
                'trigger_deployment',
                _trigger('main', {'environment': 'production'}),
                {'404': 'ValueError', 'malformed': 'ok'},
            ),
            UpstreamCall(
                'get_deployment_status',
                _call('get_deployment_status', run_id=str(RUN_ID)),
                not_found,
            ),
            UpstreamCall(
                'get_check_status',
                _call('get_check_status', committish='main'),
                not_found,
            ),
            UpstreamCall(
                'create_tag',
                _call(
                    'create_tag',
                    sha=_head_sha(),
                    tag='v2.0.0',
                    message='Release 2.0.0',
                ),
                not_found,
            ),
            UpstreamCall(
                'create_release',
                _call(
                    'create_release',
                    tag='v1.1.0',
                    name='1.1.0',
                    body_markdown='Notes',
                ),
                not_found,
            ),
            UpstreamCall('list_workflows', _call('list_workflows'), not_found),
            UpstreamCall(
                'list_recent_deployments',
                _call(
                    'list_recent_deployments',
                    environments=['production', 'staging'],
                    limit=2,
                ),
                not_found,
            ),
        ],
        bad_inputs=[
            BadInput(
                'run id that is not a number',
                _call('get_deployment_status', run_id='12; DROP TABLE runs'),
                'ValueError',
                'run_id must be a GitHub workflow run id',
            ),
            BadInput(
                'run id with a ../ segment',
                _call('get_deployment_status', run_id='../../hooks/1'),
                'ValueError',
                'run_id must be a GitHub workflow run id',
            ),
            BadInput(
                'ref with a ../ segment',
                _call('list_commits', ref='../../../orgs/acme', limit=5),
                'ValueError',
                'is not a valid git ref name',
            ),
            BadInput(
                'ref with a /./ segment',
                _call('resolve_committish', committish='release/./v1'),
                'ValueError',
                'is not a valid git ref name',
            ),
            BadInput(
                'ref with a newline',
                _call('compare', base='main\nX-Injected: 1', head='v1.0.0'),
                'ValueError',
                'base',
            ),
            BadInput(
                'ref with URL metacharacters',
                _call('get_check_status', committish='main?per_page=1'),
                'ValueError',
                'is not a valid git ref name',
            ),
            BadInput(
                'ref with an Actions expression',
                _trigger('${{ secrets.GITHUB_TOKEN }}'),
                'ValueError',
                'ref_or_sha',
            ),
            BadInput(
                'ref with a reflog selector',
                _call('list_commits', ref='main@{1}', limit=5),
                'ValueError',
                'is not a valid git ref name',
            ),
            BadInput(
                'tag given as a full ref',
                _call(
                    'create_tag',
                    sha=_head_sha(),
                    tag='refs/heads/main',
                    message='x',
                ),
                'ValueError',
                'not a full ref',
            ),
            BadInput(
                'sha that is not hexadecimal',
                _call('create_tag', sha='main', tag='v9.9.9', message='x'),
                'ValueError',
                'sha must be 7 to 40 hexadecimal digits',
            ),
            BadInput(
                'repository option that is not owner/name',
                _with('list_workflows', {'repository': 'billing-api'}),
                'ValueError',
                'must be "owner/name"',
            ),
            BadInput(
                'repository option with a ../ segment',
                _with('list_workflows', {'repository': 'acme/../../admin'}),
                'ValueError',
                'must be "owner/name"',
            ),
            BadInput(
                'repository option with URL metacharacters',
                _with(
                    'list_refs', {'repository': 'acme/billing-api?page=2#x'}
                ),
                'ValueError',
                'must be "owner/name"',
            ),
            BadInput(
                'owner with spaces',
                _with('list_workflows', {'repository': 'ac me/billing-api'}),
                'ValueError',
                'must be "owner/name"',
            ),
            BadInput(
                'project link with a ../ segment',
                _call(
                    'list_workflows',
                    project_links={
                        'github-repository': (
                            f'https://github.com/{OWNER}/../{NAME}'
                        )
                    },
                ),
                'ValueError',
                "project link 'github-repository'",
            ),
            BadInput(
                'several candidate links',
                _links_on_the_host(2),
                'ValueError',
                'the project has 2 links on',
            ),
            BadInput(
                'no repository at all',
                _links_on_the_host(0),
                'ValueError',
                'no repository',
            ),
            BadInput(
                'missing workflow',
                _trigger('main', config={'environment': 'production'}),
                'ValueError',
                'no workflow',
            ),
            BadInput(
                'workflow with a ../ segment',
                _trigger(
                    'main',
                    config={'workflow': '../../../hooks/deploy.yml'},
                ),
                'ValueError',
                "environment_config['workflow'] must be a workflow file",
            ),
            BadInput(
                'workflow id in non-ASCII digits',
                _trigger('main', config={'workflow': '\u0661\u0662'}),
                'ValueError',
                "environment_config['workflow'] must be a workflow file",
            ),
            BadInput(
                'unknown kind of ref',
                _call('list_refs', kind='everything'),
                'ValueError',
                'kind must be one of',
            ),
            BadInput(
                'non-numeric timeout_seconds',
                _with('list_workflows', {'timeout_seconds': 'soon'}),
                'ValueError',
                "option 'timeout_seconds' must be an integer",
            ),
            BadInput(
                'api_url with a query',
                _api_url_with('?per_page=1'),
                'ValueError',
                "option 'api_url' must not carry a query",
            ),
            BadInput(
                'correlation_input that is not an input name',
                _trigger('main', correlation_input='run id'),
                'ValueError',
                "option 'correlation_input' must be a workflow input name",
            ),
        ],
        contract=_contract,
        error_bodies=_error_bodies(),
    )


def _api_url_with(suffix: str) -> Run:
    async def run(host: Host) -> HostResponse:
        host.project_options['api_url'] = (
            host.plugin_options['api_url'] + suffix
        )
        return await host.deployment('list_workflows')

    return run


def _error_bodies() -> dict[str, Fault]:
    """GitHub's error answers: JSON with message and documentation_url,
    and the rate-limit headers every REST answer carries (a 403 with
    requests left is not a rate limit)."""
    rate = {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '4987',
        'x-ratelimit-used': '13',
        'x-ratelimit-reset': '1795000000',
        'x-ratelimit-resource': 'core',
    }
    return {
        '401': Fault(
            body={
                'message': 'Bad credentials',
                'documentation_url': _DOCS,
                'status': '401',
            },
            headers=rate,
        ),
        '403': Fault(
            body={
                'message': 'Resource not accessible by personal access token',
                'documentation_url': _DOCS,
                'status': '403',
            },
            headers=rate,
        ),
        '404': Fault(
            body={
                'message': 'Not Found',
                'documentation_url': _DOCS,
                'status': '404',
            },
            headers=rate,
        ),
        '429': Fault(
            body={
                'message': 'You have exceeded a secondary rate limit. '
                'Please wait a few minutes before you try again.',
                'documentation_url': (
                    'https://docs.github.com/rest/overview/'
                    'rate-limits-for-the-rest-api'
                ),
                'status': '429',
            },
            headers=rate,
        ),
        '500': Fault(
            body={'message': 'Server Error', 'status': '500'}, headers=rate
        ),
        '503': Fault(
            body={
                'message': 'No server is currently available to service '
                'your request. Sorry about that. Please try resubmitting '
                'your request and contact us if the problem persists.',
                'status': '503',
            },
        ),
    }
