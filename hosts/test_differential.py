"""The Host model against the real host: the demo scenarios' calls, made
both ways against the same stand-ins, give the same status codes and
body shapes. Where they differ the model is wrong (docs/real-host.md)."""

import asyncio
import collections.abc
import dataclasses
import time
import typing

import pytest
from imbi_plugin_loki.plugin import LokiPlugin
from imbi_plugin_testing import Host, HostResponse, SecretScan
from imbi_plugin_testing.fakes.loki import LokiFake
from imbi_plugin_testing.fakes.vault import VaultFake
from imbi_plugin_testing.standin import Fault
from imbi_plugin_vault.plugin import VaultPlugin

Imbi = typing.Any
SECOND = 1_000_000_000
USER = '918273'
PASSWORD = 'glc_differential-0c4d2e9f7a'
TEMPLATE = '{service_name="${project_slug}", env="${environment}"}'
PROJECT = {
    'project_id': 'p-billing',
    'project_slug': 'billing-api',
    'org_slug': 'aweber',
    'team_slug': 'payments',
}


def shape(body: typing.Any) -> typing.Any:
    """Keys and value types, recursively; a list by its first item."""
    if isinstance(body, dict):
        return {key: shape(value) for key, value in sorted(body.items())}
    if isinstance(body, list):
        return [shape(body[0])] if body else []
    if isinstance(body, bool):
        return 'bool'
    if isinstance(body, int | float):
        return 'number'
    return type(body).__name__


@dataclasses.dataclass
class Call:
    """One request: the real host's route and the model's method."""

    name: str
    method: str
    path: str
    params: dict[str, typing.Any]
    model: collections.abc.Callable[
        [Host], collections.abc.Awaitable[HostResponse]
    ]
    body: typing.Any = None
    before: collections.abc.Callable[[], None] | None = None


def _body(response: typing.Any) -> typing.Any:
    if not response.content:
        return None
    if response.headers.get('content-type', '').startswith('application/json'):
        return response.json()
    return response.text or None


def _compare(imbi: Imbi, host: Host, calls: list[Call]) -> list[str]:
    differences = []
    for call in calls:
        if call.before:
            call.before()
        real = imbi.client.request(
            call.method,
            imbi.url(call.path),
            params=call.params,
            json=call.body,
        )
        if call.before:
            call.before()
        model = asyncio.run(call.model(host))
        got = (real.status_code, shape(_body(real)))
        expected = (model.status, shape(model.body))
        if got != expected:
            differences.append(
                f'{call.name}: real host {got}, Host model {expected}'
            )
    return differences


@pytest.fixture
def loki(
    secret_scan: SecretScan,
) -> collections.abc.Iterator[tuple[LokiFake, str]]:
    secret_scan.add(PASSWORD)
    fake = LokiFake()
    fake.users = {USER: PASSWORD}
    now = time.time_ns()
    for offset, env in enumerate(('production', 'staging')):
        fake.push(
            {'service_name': 'billing-api', 'env': env, 'level': 'info'},
            [
                (now - (2 * i + offset + 1) * SECOND, f'{env} line {i}')
                for i in range(30)
            ],
            tenant=USER,
        )
    with fake.serve() as url:
        yield fake, url


def test_logs_calls_agree(imbi: Imbi, loki: tuple[LokiFake, str]) -> None:
    fake, url = loki
    options = {'url': url, 'timeout_seconds': 5}
    project_options = {'selector_template': TEMPLATE}
    credentials = {'username': USER, 'password': PASSWORD}
    imbi.graph.assign(
        'plugin-loki',
        'loki',
        'logs',
        credentials=credentials,
        plugin_options=options,
        project_options=project_options,
    )
    host = Host(
        LokiPlugin,
        plugin_options=options,
        project_options=project_options,
        credentials=credentials,
        project=PROJECT,
    )
    foreign = asyncio.run(
        host.search(Host.log_query(limit=5), ['production'])
    ).result.next_cursor

    def fail_once() -> None:
        fake.inject(Fault(path='query_range', status=403, body='denied'))

    calls = [
        Call(
            'search one environment',
            'GET',
            '/logs/',
            {'environment': 'production', 'limit': 25},
            lambda h: h.search(Host.log_query(limit=25), ['production']),
        ),
        Call(
            'search without an environment',
            'GET',
            '/logs/',
            {'limit': 25},
            lambda h: h.search(Host.log_query(limit=25)),
        ),
        Call(
            'search two environments',
            'GET',
            '/logs/',
            {'environment': ['production', 'staging'], 'limit': 40},
            lambda h: h.search(
                Host.log_query(limit=40), ['production', 'staging']
            ),
        ),
        Call(
            'search two environments, one failing',
            'GET',
            '/logs/',
            {'environment': ['production', 'staging']},
            lambda h: h.search(Host.log_query(), ['production', 'staging']),
            before=fail_once,
        ),
        Call(
            'a cursor of another query',
            'GET',
            '/logs/',
            {'environment': 'production', 'level': 'warn', 'cursor': foreign},
            lambda h: h.search(
                Host.log_query(levels=['warn'], cursor=foreign),
                ['production'],
            ),
        ),
        Call(
            'a cursor with two environments',
            'GET',
            '/logs/',
            {'environment': ['production', 'staging'], 'cursor': foreign},
            lambda h: h.search(
                Host.log_query(cursor=foreign), ['production', 'staging']
            ),
        ),
        Call(
            'a regex RE2 refuses',
            'GET',
            '/logs/',
            {'environment': 'production', 'filter': 'message:regex:(?=x)'},
            lambda h: h.search(
                Host.log_query(filters=['message:regex:(?=x)']),
                ['production'],
            ),
        ),
        Call(
            'histogram of one environment',
            'GET',
            '/logs/histogram',
            {'environment': 'production', 'bucket_count': 10},
            lambda h: h.histogram(
                Host.log_query(), ['production'], bucket_count=10
            ),
        ),
        Call(
            'histogram of two environments',
            'GET',
            '/logs/histogram',
            {'environment': ['production', 'staging'], 'bucket_count': 10},
            lambda h: h.histogram(
                Host.log_query(), ['production', 'staging'], bucket_count=10
            ),
        ),
        Call(
            'schema',
            'GET',
            '/logs/schema',
            {'environment': 'production'},
            lambda h: h.schema('production'),
        ),
    ]
    assert _compare(imbi, host, calls) == []


def test_configuration_calls_agree(
    imbi: Imbi, secret_scan: SecretScan
) -> None:
    fake = VaultFake()
    fake.mount('secret', 2)
    secret_scan.add(fake.root_token)
    with fake.serve() as url:
        options = {'url': url, 'mount_path': 'secret', 'timeout_seconds': 5}
        credentials = {'token': fake.root_token}
        imbi.graph.assign(
            'plugin-vault',
            'vault',
            'configuration',
            credentials=credentials,
            plugin_options=options,
        )
        host = Host(
            VaultPlugin,
            plugin_options=options,
            credentials=credentials,
            project=PROJECT,
        )
        value = {'value': 'on', 'data_type': 'string', 'secret': False}
        calls = [
            Call(
                'set a key with a slash',
                'PUT',
                '/configuration/flags/new-ui',
                {},
                lambda h: h.set_value('flags/new-ui', 'on', 'string'),
                body=value,
            ),
            Call(
                'list keys',
                'GET',
                '/configuration/',
                {},
                lambda h: h.list_keys(),
            ),
            Call(
                'fetch every value',
                'POST',
                '/configuration/values:fetch',
                {},
                lambda h: h.get_values(),
                body={},
            ),
            Call(
                'fetch a subset',
                'POST',
                '/configuration/values:fetch',
                {},
                lambda h: h.get_values(['flags/new-ui']),
                body={'keys': ['flags/new-ui']},
            ),
            Call(
                'delete a key',
                'DELETE',
                '/configuration/flags/new-ui',
                {},
                lambda h: h.delete_key('flags/new-ui'),
            ),
            Call(
                'a key the plugin refuses',
                'PUT',
                '/configuration/bad%00key',
                {},
                lambda h: h.set_value('bad\x00key', 'on', 'string'),
                body=value,
            ),
        ]
        assert _compare(imbi, host, calls) == []


def test_deployment_read_calls_agree(
    imbi: Imbi, secret_scan: SecretScan
) -> None:
    from imbi_plugin_github_actions.plugin import GitHubActionsPlugin
    from imbi_plugin_testing.fakes.github import GitHubFake
    from imbi_plugin_testing.fakes.github import actions as gh_actions

    fake = GitHubFake()
    fake.add_user('octocat')
    token = fake.issue_token('octocat', ['repo']).value
    secret_scan.add(token)
    repo = fake.add_repository(
        'acme', 'billing-api', collaborators={'octocat': 'admin'}
    )
    git = gh_actions.seed(fake, repo)
    with fake.serve() as url:
        options = {'api_url': url}
        project_options = {'repository': 'acme/billing-api'}
        credentials = {'token': token}
        imbi.graph.assign(
            'plugin-gha',
            'github-actions',
            'deployment',
            credentials=credentials,
            plugin_options=options,
            project_options=project_options,
        )
        host = Host(
            GitHubActionsPlugin,
            plugin_options=options,
            project_options=project_options,
            credentials=credentials,
            project=PROJECT,
        )
        head = git.resolve('main')
        calls = [
            Call(
                'refs',
                'GET',
                '/deployments/refs',
                {'kind': 'all'},
                lambda h: h.deployment('list_refs', kind='all', query=None),
            ),
            Call(
                'commits of a branch',
                'GET',
                '/deployments/refs/main/commits',
                {'limit': 5},
                lambda h: h.deployment('list_commits', ref='main', limit=5),
            ),
            Call(
                'compare',
                'GET',
                '/deployments/compare',
                {'base': 'v1.0.0', 'head': 'main'},
                lambda h: h.deployment('compare', base='v1.0.0', head='main'),
            ),
            Call(
                'resolve a commit',
                'GET',
                f'/deployments/commits/{head}',
                {},
                lambda h: h.deployment('resolve_committish', committish=head),
            ),
            Call(
                'an unknown ref',
                'GET',
                '/deployments/commits/no-such-ref',
                {},
                lambda h: h.deployment(
                    'resolve_committish', committish='no-such-ref'
                ),
            ),
        ]
        assert _compare(imbi, host, calls) == []
