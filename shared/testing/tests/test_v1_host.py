"""The host model answers the way docs/upstreams/host.md says imbi-api does."""

import asyncio
import datetime
import json
import time
import types
import typing

import pytest
import starlette.requests
import starlette.responses
import starlette.routing
import tiny
import tiny_actions
from imbi_common.plugins import (
    LogEntry,
    LogHistogramBucket,
    PluginContext,
    PluginCredentialsMissing,
)
from imbi_common.plugins import base as plugin_base
from imbi_common.plugins import errors as plugin_errors
from imbi_plugin_testing import Host, StandIn
from imbi_plugin_testing.host import sum_histograms

UTC = datetime.UTC
T0 = datetime.datetime(2026, 1, 1, tzinfo=UTC)


class KeysFake(StandIn):
    def routes(self) -> list[starlette.routing.BaseRoute]:
        async def keys(
            request: starlette.requests.Request,
        ) -> starlette.responses.Response:
            return starlette.responses.JSONResponse({'keys': ['a', 'b']})

        return [starlette.routing.Route('/keys', keys)]


def test_options_merge_in_order_and_apply_no_default() -> None:
    host = Host(
        tiny.TinyConfig,
        plugin_options={'url': 'p', 'timeout_seconds': '3', 'x': 1},
        project_type_options={'url': 't'},
        project_options={'x': 2},
    )
    assert host.options() == {'url': 't', 'timeout_seconds': '3', 'x': 2}
    assert 'verify' not in host.options()


async def test_fresh_instance_per_call_and_list_keys_cache() -> None:
    fake = KeysFake()
    with fake.serve() as url:
        host = Host(
            tiny.TinyConfig,
            plugin_options={'url': url},
            credentials={'token': 'tok-123456'},
        )
        first = await host.list_keys()
        second = await host.list_keys()
        assert first.status == second.status == 200
        assert [k['key'] for k in first.body] == ['a', 'b']
        assert len(fake.requests) == 1  # the second answer was cached
        await host.set_value('k', 'v', 'string')
        await host.list_keys()
        assert len(fake.requests) == 2  # writes clear the cache
        await host.delete_key('k')
        assert len(host.instances) == 4
        assert len({id(i) for i in host.instances}) == 4


async def test_set_value_marks_secret_data_types() -> None:
    host = Host(tiny.TinyConfig, credentials={'token': 'tok-123456'})
    response = await host.set_value('db/password', 's3cr3t-value', 'secret')
    assert response.status == 200
    values = await host.get_values(['db/password'])
    assert values.body[0]['value'] == 's3cr3t-value'
    denied = Host(tiny.TinyConfig, read_secrets=False)
    assert (await denied.get_values()).status == 403


async def test_slow_plugin_is_cancelled_and_answered_503() -> None:
    fake = KeysFake()
    fake.latency = 5
    with fake.serve() as url:
        host = Host(
            tiny.TinyConfig,
            plugin_options={'url': url},
            credentials={'token': 'tok-123456'},
            timeout=0.3,
        )
        started = time.monotonic()
        response = await host.list_keys()
    assert time.monotonic() - started < 2
    assert response.status == 503
    assert response.headers == {'Retry-After': '5'}
    assert isinstance(response.error, TimeoutError)


@pytest.mark.parametrize(
    ('error', 'status', 'body'),
    [
        (PluginCredentialsMissing('token'), 503, {'detail': 'token'}),
        # The exception text reaches only the server log.
        (ValueError('bad key'), 500, 'Internal Server Error'),
        (RuntimeError('boom'), 500, 'Internal Server Error'),
    ],
)
def test_exceptions_map_to_http(
    error: Exception, status: int, body: dict[str, str]
) -> None:
    response = Host.error_response(error)
    assert (response.status, response.body) == (status, body)


def test_base_exceptions_are_not_swallowed() -> None:
    with pytest.raises(KeyboardInterrupt):
        Host.error_response(KeyboardInterrupt())


def _entry(minute: int, message: str) -> LogEntry:
    return LogEntry(
        timestamp=T0 + datetime.timedelta(minutes=minute), message=message
    )


@pytest.fixture
def logs() -> typing.Iterator[type[tiny.TinyLogs]]:
    tiny.TinyLogs.entries = {
        'production': [_entry(5, 'p5'), _entry(1, 'p1')],
        'staging': [_entry(3, 's3'), _entry(0, 's0')],
    }
    tiny.TinyLogs.failing = set()
    yield tiny.TinyLogs
    tiny.TinyLogs.entries = {}


async def test_search_one_environment_keeps_cursor(
    logs: type[tiny.TinyLogs],
) -> None:
    host = Host(logs)
    response = await host.search(Host.log_query(limit=10), ['production'])
    assert response.status == 200
    assert response.body['next_cursor'] == 'next'
    assert {e['raw']['environment'] for e in response.body['entries']} == {
        'production'
    }
    expired = await host.search(
        Host.log_query(cursor='expired'), ['production']
    )
    assert expired.status == 409
    assert expired.body['detail']['error'] == 'cursor_expired'


async def test_search_fans_out_merges_and_warns(
    logs: type[tiny.TinyLogs],
) -> None:
    logs.failing = {'testing'}
    host = Host(logs)
    response = await host.search(
        Host.log_query(limit=3), ['production', 'staging', 'testing']
    )
    assert response.status == 200
    assert [e['message'] for e in response.body['entries']] == [
        'p5',
        's3',
        'p1',
    ]
    assert response.body['next_cursor'] is None
    assert response.body['warnings'] == [
        "Search for environment 'testing' failed: testing is down"
    ]
    refused = await host.search(
        Host.log_query(cursor='abc'), ['production', 'staging']
    )
    assert refused.status == 400


def test_log_query_parses_filters_and_defaults() -> None:
    query = Host.log_query(filters=['level:eq:error', 'message:regex:a:b'])
    assert query.filters[1].value == 'a:b'
    assert query.end_time - query.start_time == datetime.timedelta(minutes=30)
    naive = Host.log_query(
        start=datetime.datetime(2026, 1, 1),
        end=datetime.datetime(2026, 1, 2),
    )
    assert naive.start_time.tzinfo is UTC
    assert naive.end_time.tzinfo is UTC
    with pytest.raises(ValueError, match='operator'):
        Host.log_query(filters=['level:like:x'])
    with pytest.raises(ValueError, match='limit'):
        Host.log_query(limit=0)


async def test_histogram_sums_identical_buckets(
    logs: type[tiny.TinyLogs],
) -> None:
    logs.buckets = {
        'production': [
            LogHistogramBucket(timestamp=T0, count=2, levels={'error': 2})
        ],
        'staging': [
            LogHistogramBucket(timestamp=T0, count=3, levels={'error': 1}),
            LogHistogramBucket(
                timestamp=T0 + datetime.timedelta(minutes=1), count=1
            ),
        ],
    }
    host = Host(logs)
    response = await host.histogram(
        Host.log_query(), ['production', 'staging'], bucket_count=2
    )
    assert response.status == 200
    assert [b['count'] for b in response.body] == [5, 1]
    assert response.body[0]['levels'] == {'error': 3}
    # FastAPI's own 422 for the host's Query(ge=1, le=1440).
    too_few = await host.histogram(Host.log_query(), bucket_count=0)
    assert too_few.status == 422
    assert too_few.body['detail'][0]['loc'] == ['query', 'bucket_count']
    assert too_few.body['detail'][0]['ctx'] == {'ge': 1}
    too_many = await host.histogram(Host.log_query(), bucket_count=1441)
    assert too_many.body['detail'][0]['ctx'] == {'le': 1440}
    # Over several environments the host drops a failing one silently;
    # over one, its error is the answer.
    logs.failing = {'staging'}
    partial = await host.histogram(
        Host.log_query(), ['production', 'staging'], bucket_count=2
    )
    assert partial.status == 200
    assert [b['count'] for b in partial.body] == [2]
    failed = await host.histogram(Host.log_query(), ['staging'])
    assert failed.status == 500


async def test_histogram_only_when_supported() -> None:
    class NoHistogram(tiny.TinyLogs):
        manifest = tiny.TinyLogs.manifest.model_copy(
            update={'supports_histogram': False}
        )

    response = await Host(NoHistogram).histogram(Host.log_query())
    assert (response.status, response.body) == (200, [])


async def test_schema_returned_as_is(logs: type[tiny.TinyLogs]) -> None:
    response = await Host(logs).schema()
    assert response.body == [
        {'name': 'message', 'label': 'Message', 'kind': 'message'}
    ]


def test_sum_histograms_keeps_misaligned_buckets_apart() -> None:
    one = LogHistogramBucket(timestamp=T0, count=1)
    other = LogHistogramBucket(
        timestamp=T0 + datetime.timedelta(seconds=1), count=1
    )
    assert [b.count for b in sum_histograms([[one], [other]])] == [1, 1]


async def test_identity_flow_swaps_state_and_returns_verifier() -> None:
    host = Host(
        tiny.TinyIdentity,
        credentials={'client_id': 'abc', 'client_secret': 'shh-secret'},
    )
    start = await host.authorization_request('https://imbi.example/cb')
    url = start.body['authorization_url']
    state = start.body['state']
    assert 'state=mine' not in url
    assert f'state={state}' in url.replace('%2E', '.')
    assert 'scope=read' in url  # manifest default scopes
    assert host.verify_state(state)
    done = await host.exchange_code(
        'the-code', 'https://imbi.example/cb', state
    )
    # The host's callback redirects to the connections page.
    assert done.status == 302
    assert done.headers['Location'] == '/settings/connections'
    assert done.body is None
    assert done.result[0].raw_claims == {'v': 'verifier-e/cb'}
    again = await host.exchange_code('the-code', 'https://x/cb', state)
    assert again.status == 400  # state used once
    forged = await host.exchange_code('c', 'https://x/cb', 'nonce.forged')
    assert forged.status == 400


async def test_identity_errors_and_refresh() -> None:
    host = Host(tiny.TinyIdentity, credentials={'client_id': 'abc'})
    start = await host.authorization_request('https://imbi.example/cb')
    bad = await host.exchange_code(
        'bad', 'https://imbi.example/cb', start.body['state']
    )
    # The callback answers a ValueError with 400 and its text.
    assert bad.status == 400
    assert (
        bad.detail == 'Invalid state: The code passed is incorrect or expired.'
    )
    refreshed = await host.refresh('refresh-1')
    assert refreshed.status == 200
    expired = await host.refresh('dead')
    assert expired.status == 401
    revoked = await host.revoke('access-2')
    assert revoked.status == 204


async def test_deployment_credentials_as_the_host_builds_them() -> None:
    tiny.TinyDeploy.seen = []
    stored = Host(tiny.TinyDeploy, credentials={'token': 'stored-token'})
    assert (await stored.deployment('list_refs')).status == 200
    bound = Host(
        tiny.TinyDeploy,
        credentials={'token': 'stored-token'},
        identity_token='user-token',
    )
    await bound.deployment('list_refs', project_links={'a': 'b'})
    assert tiny.TinyDeploy.seen[0][0] == {'token': 'stored-token'}
    assert tiny.TinyDeploy.seen[1][0] == {'access_token': 'user-token'}
    assert tiny.TinyDeploy.seen[1][1].project_links == {'a': 'b'}
    missing = await Host(tiny.TinyDeploy).deployment('list_refs')
    assert missing.status == 503


async def test_deployment_inputs_status_and_sync() -> None:
    tiny.TinyDeploy.seen = []
    host = Host(tiny.TinyDeploy, credentials={'token': 'stored-token'})
    await host.trigger_deployment(
        'main',
        {'region': 'eu'},
        environment_config={'region': 'us', 'replicas': 3, 'workflow': 'd'},
    )
    assert tiny.TinyDeploy.seen[-1] == (
        'main',
        {'region': 'eu', 'replicas': '3', 'workflow': 'd'},
    )
    status = await host.deployment('get_deployment_status', run_id='1')
    assert status.status == 400
    sync = await host.deployment(
        'list_recent_deployments', environments=['production']
    )
    assert sync.status == 400  # supports_deployment_sync is False


async def test_auth_failure_refreshes_a_bound_identity_once() -> None:
    tiny.TinyDeploy.valid_tokens = {'fresh-token'}
    try:
        host = Host(
            tiny.TinyDeploy,
            identity_token='stale-token',
            refresh_identity=lambda: 'fresh-token',
        )
        assert (await host.deployment('list_refs')).status == 200
        assert host.calls == ['list_refs', 'list_refs']
        unbound = Host(tiny.TinyDeploy, credentials={'token': 'stale-token'})
        assert (await unbound.deployment('list_refs')).status == 500
    finally:
        tiny.TinyDeploy.valid_tokens = set()


@pytest.mark.parametrize(
    ('behaviour', 'event', 'status', 'message'),
    [
        ('ok', 'archived', 'ok', 'archived'),
        ('raise', 'archived', 'failed', 'RuntimeError: GitHub is down'),
        ('not-implemented', 'archived', 'failed', 'NotImplementedError: '),
        (
            'ok',
            'unarchived',
            'skipped',
            'Plugin does not implement on_project_unarchived',
        ),
    ],
)
async def test_lifecycle_results(
    behaviour: str, event: str, status: str, message: str
) -> None:
    tiny.TinyLifecycle.behaviour = behaviour
    host = Host(tiny.TinyLifecycle, credentials={'token': 'stored-token'})
    result = await host.lifecycle(event)  # type: ignore[arg-type]
    assert isinstance(result, plugin_base.LifecycleResult)
    assert result.status == status
    assert (result.message or '').startswith(message)


async def test_webhook_colon_style_calls_run_action() -> None:
    tiny.TinyWebhook.calls = []
    host = Host(tiny.TinyWebhook, credentials={'token': 'hook-token'})
    response = await host.dispatch(
        'tiny-webhook:sync',
        external_identifier='proj',
        action_config={'metric': 'coverage'},
        payload={'a': 1},
    )
    assert response.status == 204
    assert tiny.TinyWebhook.calls == [
        {'id': 'proj', 'config': json.dumps({'metric': 'coverage'})}
    ]
    unknown = await host.dispatch(
        'tiny-webhook:nope',
        external_identifier='p',
        action_config='{}',
        payload=None,
    )
    assert unknown.status == 500
    other = await host.dispatch(
        'other:sync', external_identifier='p', action_config='{}', payload=None
    )
    assert other.status == 404


@pytest.mark.parametrize('keyword', ['payload', 'event'])
async def test_webhook_hash_style_uses_the_catalog(keyword: str) -> None:
    tiny_actions.calls.clear()
    host = Host(tiny.TinyWebhook, credentials={'token': 'hook-token'})
    response = await host.dispatch(
        'tiny-webhook#sync',
        external_identifier='proj',
        action_config='{"metric": "coverage"}',
        payload={'a': 1},
        service_endpoint='https://sonar.example',
        payload_keyword=keyword,  # type: ignore[arg-type]
    )
    assert response.status == 204
    call = tiny_actions.calls[0]
    assert call['action_config'].metric == 'coverage'
    assert call['ctx'].assignment_options['service_endpoint'] == (
        'https://sonar.example'
    )
    if keyword == 'event':
        assert call['event'] == {'payload': {'a': 1}}
    else:
        assert call['payload'] == {'a': 1}


async def test_webhook_hash_style_failures() -> None:
    host = Host(tiny.TinyWebhook, credentials={'token': 'hook-token'})
    invalid = await host.dispatch(
        'tiny-webhook#sync',
        external_identifier='p',
        action_config='{"metric": 1, "extra": true}',
        payload=None,
    )
    assert invalid.status == 422
    unknown = await host.dispatch(
        'tiny-webhook#nope',
        external_identifier='p',
        action_config='{}',
        payload=None,
    )
    assert unknown.status == 404
    boom = await host.dispatch(
        'tiny-webhook#sync',
        external_identifier='boom',
        action_config='{"metric": "x"}',
        payload=None,
    )
    assert boom.status == 500
    no_creds = await Host(tiny.TinyWebhook).dispatch(
        'tiny-webhook#sync',
        external_identifier='p',
        action_config='{"metric": "x"}',
        payload=None,
    )
    assert no_creds.status == 204
    assert no_creds.body == {'detail': 'rule skipped: no credentials stored'}
    other = await host.dispatch(
        'other#sync', external_identifier='p', action_config='{}', payload=None
    )
    assert other.status == 404


async def test_concurrent_calls_each_get_their_own_instance() -> None:
    host = Host(tiny.TinyConfig, credentials={'token': 'tok-123456'})
    await asyncio.gather(*(host.get_values() for _ in range(5)))
    assert len(host.instances) == 5


async def test_webhook_catalog_errors_become_answers() -> None:
    class NoCatalog(tiny.TinyWebhook):
        @classmethod
        def actions(cls) -> list[typing.Any]:
            raise NotImplementedError('this host calls run_action')

    response = await Host(
        NoCatalog, credentials={'token': 'hook-token'}
    ).dispatch(
        'tiny-webhook#sync',
        external_identifier='p',
        action_config='{}',
        payload=None,
    )
    assert response.status == 500
    assert 'run_action' in response.detail


async def test_lifecycle_link_writeback_rewrites_the_stored_link() -> None:
    class Writeback(typing.NamedTuple):
        link_key: str
        new_url: str

    class Context(PluginContext):
        link_writeback: typing.Any = None

    class Mover(tiny.TinyLifecycle):
        async def on_project_archived(
            self, ctx: PluginContext, credentials: dict[str, str]
        ) -> plugin_base.LifecycleResult:
            ctx.link_writeback = Writeback(  # type: ignore[attr-defined]
                'github-repository', 'https://github.example/attic/app'
            )
            return plugin_base.LifecycleResult(status='ok')

    host = Host(
        Mover,
        credentials={'token': 'stored-token'},
        project={'project_links': {'github-repository': 'https://old'}},
    )
    ctx = Context(**host.context('lifecycle').model_dump())
    assert ctx.project_links == {'github-repository': 'https://old'}
    result = await host.lifecycle('archived', ctx=ctx)
    assert result.status == 'ok'
    assert host.project['project_links'] == {
        'github-repository': 'https://github.example/attic/app'
    }
    assert len(host.link_writebacks) == 1
    tiny.TinyLifecycle.behaviour = 'ok'
    plain = Host(tiny.TinyLifecycle, credentials={'token': 'stored-token'})
    assert (await plain.lifecycle('archived')).status == 'ok'
    assert plain.link_writebacks == []


def test_identity_context_has_no_project_and_plugin_options_only() -> None:
    host = Host(
        tiny.TinyIdentity,
        plugin_options={'github_url': 'https://ghe.example'},
        project_type_options={'x': 1},
        project_options={'y': 2},
        project={'project_id': 'p1', 'environment': 'prod'},
    )
    ctx = host.context('identity')
    assert (ctx.project_id, ctx.environment) == ('', None)
    assert ctx.assignment_options == {'github_url': 'https://ghe.example'}


@pytest.mark.parametrize(
    ('error', 'status'),
    [
        (plugin_errors.IdentityAuthorizationPending('waiting'), 202),
        (plugin_errors.IdentityAuthorizationExpired('expired'), 410),
    ],
)
def test_device_flow_answers(error: Exception, status: int) -> None:
    assert Host.error_response(error).status == status


async def test_histogram_query_has_no_levels(
    logs: type[tiny.TinyLogs],
) -> None:
    seen: list[typing.Any] = []

    class Recording(logs):  # type: ignore[valid-type,misc]
        async def histogram(
            self,
            ctx: PluginContext,
            credentials: dict[str, str],
            query: typing.Any,
            bucket_count: int = 60,
        ) -> list[LogHistogramBucket]:
            seen.append(query)
            return []

    query = Host.log_query(
        filters=['level:eq:x'], levels=['error'], limit=7, cursor='c'
    )
    await Host(Recording).histogram(query)
    assert seen[0].levels == []
    assert (seen[0].cursor, seen[0].limit) == (None, 100)
    assert seen[0].filters == query.filters


async def test_a_timed_out_environment_still_has_a_warning(
    logs: type[tiny.TinyLogs],
) -> None:
    class Slow(logs):  # type: ignore[valid-type,misc]
        async def search(
            self, *args: typing.Any, **kw: typing.Any
        ) -> typing.Any:
            await asyncio.sleep(5)

    host = Host(Slow, timeout=0.1)
    response = await host.search(Host.log_query(), ['production', 'staging'])
    assert response.body['warnings'] == [
        "Search for environment 'production' failed: 503: Plugin timed out",
        "Search for environment 'staging' failed: 503: Plugin timed out",
    ]


async def test_deployment_link_writeback_is_applied() -> None:
    class Context(PluginContext):
        link_writeback: typing.Any = None

    class Renamed(tiny.TinyDeploy):
        async def list_refs(
            self,
            ctx: PluginContext,
            credentials: dict[str, str],
            *a: typing.Any,
            **k: typing.Any,
        ) -> list[plugin_base.Ref]:
            ctx.link_writeback = types.SimpleNamespace(  # type: ignore[attr-defined]
                link_key='github-repository', new_url='https://new'
            )
            return []

    host = Host(Renamed, credentials={'token': 'stored-token'})
    original = host.context
    host.context = lambda kind, **f: Context(  # type: ignore[method-assign]
        **original(kind, **f).model_dump()
    )
    assert (await host.deployment('list_refs')).status == 200
    assert host.project['project_links'] == {
        'github-repository': 'https://new'
    }


async def test_no_environment_is_none_in_ctx_and_in_raw(
    logs: type[tiny.TinyLogs],
) -> None:
    """imbi-api passes ctx.environment None when the request names none,
    and stamps raw['environment'] only with an environment and only when
    the plugin left the key out."""
    logs.entries = {
        '': [_entry(2, 'any')],
        'production': [
            LogEntry(timestamp=T0, message='own', raw={'environment': ''}),
            _entry(1, 'p1'),
        ],
    }
    host = Host(logs)
    plain = await host.search(Host.log_query())
    assert [e['message'] for e in plain.body['entries']] == ['any']
    assert 'environment' not in plain.body['entries'][0]['raw']
    named = await host.search(Host.log_query(), ['production'])
    assert [e['raw'].get('environment') for e in named.body['entries']] == [
        '',
        'production',
    ]
    assert (await host.schema()).status == 200


async def test_multi_environment_total_and_cursor(
    logs: type[tiny.TinyLogs],
) -> None:
    host = Host(logs)
    response = await host.search(Host.log_query(), ['production', 'staging'])
    assert response.body['total'] is None
    assert response.body['next_cursor'] is None
    refused = await host.search(
        Host.log_query(cursor='next'), ['production', 'staging']
    )
    assert refused.status == 400
    assert refused.detail.startswith('Pagination is only supported')
    expired = await host.search(Host.log_query(cursor='expired'))
    assert expired.body == {
        'detail': {'error': 'cursor_expired', 'message': 'cursor expired'}
    }


def test_redirect_uri_from_imbi_api_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv('IMBI_API_URL', 'https://imbi.example.org/api/')
    assert Host(tiny.TinyLogs).redirect_uri('p1') == (
        'https://imbi.example.org/api/me/identities/p1/callback'
    )
    monkeypatch.delenv('IMBI_API_URL')
    assert (
        Host(tiny.TinyLogs)
        .redirect_uri('p1')
        .endswith('/me/identities/p1/callback')
    )


class _Promotable(tiny.TinyDeploy):
    """create_tag fails, create_release works, trigger as told."""

    trigger_fails: typing.ClassVar[bool] = False

    async def create_tag(
        self,
        ctx: typing.Any,
        credentials: dict[str, str],
        sha: str,
        tag: str,
        message: str,
    ) -> typing.Any:
        raise RuntimeError('tag refused: internals')

    async def create_release(
        self,
        ctx: typing.Any,
        credentials: dict[str, str],
        tag: str,
        name: str,
        body_markdown: str,
        prerelease: bool = False,
    ) -> typing.Any:
        from imbi_common.plugins.base import ReleaseInfo

        return ReleaseInfo(id='9', tag=tag, url=f'https://r.example/{tag}')

    async def trigger_deployment(
        self,
        ctx: typing.Any,
        credentials: dict[str, str],
        ref_or_sha: str,
        inputs: dict[str, str] | None = None,
    ) -> typing.Any:
        if self.trigger_fails:
            raise ValueError('no workflow')
        return await super().trigger_deployment(
            ctx, credentials, ref_or_sha, inputs
        )


async def test_deploy_and_promote_answer_as_the_hosts_route() -> None:
    tiny.TinyDeploy.seen = []
    host = Host(
        tiny.TinyDeploy,
        credentials={'token': 'stored-token'},
        environments={'production'},
        plugin_id='plugin-tiny',
    )
    deployed = await host.deploy('production', 'abc1234')
    assert deployed.status == 202
    assert deployed.body['run']['run_id'] == '1'
    assert deployed.body['plugin_id'] == 'plugin-tiny'
    assert deployed.body['recorded'] is False
    assert (await host.deploy('qa', 'abc1234')).body == {
        'detail': "Environment 'qa' not found"
    }
    assert (await host.promote('staging', 'qa', 'abc1234', 'v1')).status == 404
    # No create_tag: the host refuses the promote.
    refused = await host.promote('staging', 'production', 'abc1234', 'v1')
    assert refused.status == 400
    assert 'does not support creating tags' in refused.body['detail']

    promotable = Host(_Promotable, credentials={'token': 'stored-token'})
    promoted = await promotable.promote(
        'staging', 'production', 'abc1234', 'v1', environment_config={'w': 1}
    )
    assert promoted.status == 202
    assert promoted.body['recorded'] is True
    assert promoted.body['tag'] == 'v1'
    assert promoted.body['release_url'] == 'https://r.example/v1'
    # The step and the exception class, never the exception's text.
    assert promoted.body['warning'] == (
        'create_tag failed (RuntimeError); see server logs.'
    )
    assert tiny.TinyDeploy.seen[-1] == ('v1', {'w': '1'})
    _Promotable.trigger_fails = True
    try:
        failed = await promotable.promote(
            'staging', 'production', 'abc1234', 'v1'
        )
    finally:
        _Promotable.trigger_fails = False
    assert failed.status == 202
    assert failed.body['recorded'] is False
    assert failed.body['run']['run_id'] == ''
    assert failed.body['warning'].endswith(
        'trigger_deployment failed (ValueError); see server logs.'
    )
