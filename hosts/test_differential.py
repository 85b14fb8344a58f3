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
# Long enough not to turn up inside a nanosecond timestamp by chance
# (the scan registers it: it is a credential).
USER = '918273645501732'
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
    #: The whole body must agree, not only its shape.
    exact: bool = False


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
        if call.exact:
            got, expected = (got, _body(real)), (expected, model.body)
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
            'histogram with an out-of-range bucket_count',
            'GET',
            '/logs/histogram',
            {'environment': 'production', 'bucket_count': 0},
            lambda h: h.histogram(
                Host.log_query(), ['production'], bucket_count=0
            ),
            exact=True,
        ),
        Call(
            'histogram with a bucket_count over 1440',
            'GET',
            '/logs/histogram',
            {'environment': 'production', 'bucket_count': 1441},
            lambda h: h.histogram(
                Host.log_query(), ['production'], bucket_count=1441
            ),
            exact=True,
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


def _step(response: typing.Any) -> tuple[int, typing.Any]:
    """A real answer as (status, body shape)."""
    return response.status_code, shape(_body(response))


def test_identity_calls_agree(imbi: Imbi, secret_scan: SecretScan) -> None:
    """Start, consent on the stand-in, callback, the same code again:
    the host's /me/identities routes and the model, step by step."""
    import urllib.parse

    from imbi_plugin_github_identity.plugin import GitHubIdentityPlugin
    from imbi_plugin_testing.fakes.github import GitHubFake
    from imbi_plugin_testing.fakes.github import oauth as fake_oauth

    plugin_id = 'plugin-github'
    fake = GitHubFake()
    fake.add_user(
        'octocat',
        emails=[
            {
                'email': 'octocat@example.com',
                'primary': True,
                'verified': True,
                'visibility': 'private',
            }
        ],
    )
    with fake.serve() as url:
        host = Host(GitHubIdentityPlugin, project=PROJECT)
        callback = host.redirect_uri(plugin_id)
        app = fake.add_oauth_app(callback_urls=[callback])
        secret_scan.add(app.client_secret)
        options = {'github_url': url, 'api_url': url}
        imbi.graph.add_identity_plugin(
            plugin_id,
            'github',
            client_id=app.client_id,
            client_secret=app.client_secret,
            options=options,
        )
        host = Host(
            GitHubIdentityPlugin,
            plugin_options=options,
            credentials={
                'client_id': app.client_id,
                'client_secret': app.client_secret,
            },
            project=PROJECT,
        )

        def approve(authorization_url: str) -> dict[str, str]:
            back = fake_oauth.approve(fake, authorization_url, 'octocat')
            query = urllib.parse.urlsplit(back).query
            return dict(urllib.parse.parse_qsl(query))

        path = f'/api/me/identities/{plugin_id}'
        started = imbi.client.post(f'{path}/start', json={})
        query = approve(started.json()['authorization_url'])
        done = imbi.client.get(
            f'{path}/callback', params=query, follow_redirects=False
        )
        again = imbi.client.get(
            f'{path}/callback', params=query, follow_redirects=False
        )
        real = [_step(started), _step(done), _step(again)]

        m_started = asyncio.run(host.authorization_request(callback))
        m_query = approve(m_started.body['authorization_url'])
        m_done = asyncio.run(
            host.exchange_code(m_query['code'], callback, m_query['state'])
        )
        m_again = asyncio.run(
            host.exchange_code(m_query['code'], callback, m_query['state'])
        )
        model = [
            (r.status, shape(r.body)) for r in (m_started, m_done, m_again)
        ]
        for token in fake.tokens:
            secret_scan.add(token)
        assert real == model
        assert done.headers['location'] == m_done.headers['Location']


def test_deployment_write_calls_agree(
    imbi: Imbi, secret_scan: SecretScan
) -> None:
    """Deploy, run status, an unknown environment, an unknown commit,
    promote twice: the host's POST /deployments and the model's
    ``deploy``/``promote``, against the same GitHub stand-in (the
    model's promote meets the tag and release the host's created)."""
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
    config = {'workflow': 'deploy.yml'}
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
        imbi.graph.env_payloads = {'production': config}
        host = Host(
            GitHubActionsPlugin,
            plugin_options=options,
            project_options=project_options,
            credentials=credentials,
            project=PROJECT,
            environments=imbi.graph.environments,
            plugin_id='plugin-gha',
        )
        head = git.resolve('main')
        assert head is not None
        unknown = 'f' * 40

        def deploy(environment: str, committish: str) -> Call:
            return Call(
                f'deploy {committish[:7]} to {environment}',
                'POST',
                '/deployments',
                {},
                lambda h: h.deploy(
                    environment,
                    committish,
                    environment_config=config
                    if environment == 'production'
                    else None,
                ),
                body={
                    'action': 'deploy',
                    'environment': environment,
                    'committish': committish,
                },
            )

        promote = Call(
            'promote',
            'POST',
            '/deployments',
            {},
            lambda h: h.promote(
                'staging',
                'production',
                head,
                'v2.0.0',
                release_name='Release v2.0.0',
                environment_config=config,
            ),
            body={
                'action': 'promote',
                'from_environment': 'staging',
                'to_environment': 'production',
                'from_committish': head,
                'tag': 'v2.0.0',
                'release_name': 'Release v2.0.0',
            },
        )
        calls = [
            deploy('production', head),
            deploy('qa', head),
            deploy('production', unknown),
            promote,
            promote,
        ]
        assert _compare(imbi, host, calls) == []
        # Deploy and promote both ways: two runs each, the second
        # promote finding the tag and release in place.
        assert len(git.runs) == 6
        assert list(git.releases) == ['v2.0.0']
        run_id = str(min(git.runs))
        status = Call(
            'run status',
            'GET',
            f'/deployments/runs/{run_id}',
            {},
            lambda h: h.deployment('get_deployment_status', run_id=run_id),
        )
        assert _compare(imbi, host, [status]) == []


def test_lifecycle_calls_agree(imbi: Imbi, secret_scan: SecretScan) -> None:
    """Archive, unarchive, a refused token: the host's own
    ``dispatch_lifecycle`` (as its archive routes call it) and the
    model's ``lifecycle`` give the same status and message."""
    from imbi_api.plugins.lifecycle_dispatch import dispatch_lifecycle
    from imbi_plugin_archiver.plugin import ArchiverPlugin
    from imbi_plugin_testing.fakes.github import GitHubFake

    fake = GitHubFake()
    fake.add_user('alice', orgs=['acme'])
    token = fake.issue_token('alice', ['repo']).value
    secret_scan.add(token)
    refused = 'ghp_not-a-known-token-000000000000000'
    secret_scan.add(refused)
    fake.add_repository(
        'acme', 'billing-api', collaborators={'alice': 'admin'}
    )
    with fake.serve() as url:
        links = {'github-repository': f'{url}/acme/billing-api'}
        options = {'api_url': url}
        imbi.graph.links = links
        imbi.graph.assign(
            'plugin-archiver',
            'archiver',
            'lifecycle',
            credentials={'token': token},
            plugin_options=options,
        )
        auth = imbi.run(imbi.current_user)

        def real(event: str) -> tuple[str, str | None]:
            (result,) = imbi.run(
                dispatch_lifecycle,
                imbi.graph,
                PROJECT['project_id'],
                PROJECT['org_slug'],
                event,
                auth,
            )
            return result.status, result.message

        def model(
            event: typing.Literal['archived', 'unarchived'], secret: str
        ) -> tuple[str, str | None]:
            host = Host(
                ArchiverPlugin,
                plugin_options=options,
                credentials={'token': secret},
                project=PROJECT,
            )
            result = asyncio.run(host.lifecycle(event, project_links=links))
            return result.status, result.message

        got = [real('archived'), real('archived'), real('unarchived')]
        expected = [
            model('archived', token),
            model('archived', token),
            model('unarchived', token),
        ]
        imbi.graph.store_credentials('plugin-archiver', {'token': refused})
        got.append(real('archived'))
        expected.append(model('archived', refused))
        assert got == expected
