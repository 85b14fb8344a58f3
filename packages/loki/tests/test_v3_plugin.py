"""v3 only: the real v3 registry loads PLUGIN; what the 2.41 hosts read.

Run on imbi-common 2.12+ (the harness collects test_v3_* files only
there).
"""

import datetime
import subprocess
import sys
import time
import typing

import httpx
import pytest
import respx
from imbi_plugin_loki import _host, spec
from imbi_plugin_loki.handler import LokiHandler

if typing.TYPE_CHECKING:
    from conftest import Loki

URL = 'https://loki.example.com'
TOKEN = 'loki-bearer-0f9e8d7c6b5a4'
NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def api() -> typing.Any:
    return _host.api()


@pytest.fixture
def plugin() -> typing.Any:
    import imbi_plugin_loki

    return imbi_plugin_loki.PLUGIN


def test_the_convention_scan_loads_it(
    api: typing.Any, plugin: typing.Any
) -> None:
    result = api.registry.load_plugins()
    assert 'loki' in result.loaded
    assert 'imbi_plugin_loki' not in result.errors
    handler = api.registry.get_capability('loki', 'logs')
    assert issubclass(handler, api.LogsCapability)
    assert issubclass(handler, LokiHandler)
    entry = api.registry.get_plugin('loki')
    assert entry.plugin_cls is plugin
    # The registry names the distribution as the metadata spells it.
    assert entry.package_name in ('imbi-plugin-loki', 'imbi_plugin_loki')


def test_imbi_plugins_names_it_explicitly(
    api: typing.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.registry, '_discover_convention', dict)
    monkeypatch.setenv('IMBI_PLUGINS', 'imbi_plugin_loki:PLUGIN')
    result = api.registry.load_plugins()
    assert result.loaded == ['loki']
    assert result.errors == {}
    if api.__name__ != 'imbi.common.plugins':
        return  # IMBI_PLUGINS_DISABLED arrived with 2.17
    monkeypatch.setenv('IMBI_PLUGINS_DISABLED', 'loki')
    result = api.registry.load_plugins()
    assert (result.loaded, result.skipped) == ([], ['imbi_plugin_loki:PLUGIN'])


def test_the_v3_manifest(api: typing.Any, plugin: typing.Any) -> None:
    manifest = plugin.manifest
    assert issubclass(plugin, api.Plugin)
    assert (manifest.slug, manifest.name, manifest.api_version) == (
        'loki',
        'Grafana Loki',
        2,
    )
    assert manifest.auth_type == 'api_token'
    assert [o.name for o in manifest.options] == [
        'url',
        'tenant',
        'timeout_seconds',
        'verify_tls',
        'allow_plain_http',
    ]
    (capability,) = manifest.capabilities
    assert capability.kind == 'logs'
    assert capability.hints == {'supports_histogram': True}
    assert [o.name for o in capability.options] == [
        'selector_template',
        'line_format',
        'level_field',
        'message_field',
        'pipeline',
    ]
    defaults = {
        o.name: o.default
        for o in [*manifest.options, *capability.options]
        if o.default is not None
    }
    assert defaults == {
        o['name']: o['default'] for o in spec.options() if 'default' in o
    }
    credentials = {c.name: c for c in manifest.credentials}
    assert list(credentials) == ['username', 'password', 'token', 'auth_mode']
    # The form asks for auth_mode; the other three depend on it.
    assert [n for n, c in credentials.items() if c.required] == ['auth_mode']
    if 'secret' in api.CredentialField.model_fields:  # 2.12.2 and later
        assert [n for n, c in credentials.items() if not c.secret] == [
            'auth_mode'
        ]


def test_the_host_calls_histogram(api: typing.Any, plugin: typing.Any) -> None:
    """The host calls histogram only with the hint, and the base's
    default answers []: the capability must override it."""
    handler = plugin.manifest.capabilities[0].handler
    assert handler.histogram is not api.LogsCapability.histogram
    assert handler.histogram is LokiHandler.histogram


def test_host_path(api: typing.Any) -> None:
    assert _host.generation() == 3
    if 'imbi.common' in sys.modules:
        assert api.__name__ == 'imbi.common.plugins'
        assert 'imbi_common' not in sys.modules
    else:
        assert api.__name__ == 'imbi_common.plugins'


def test_a_v3_host_imports_no_v1_code() -> None:
    code = (
        'import sys, imbi_plugin_loki as m; m.PLUGIN; '
        "print('imbi_plugin_loki.plugin' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == 'False'


def _ctx(api: typing.Any, **fields: typing.Any) -> typing.Any:
    return api.PluginContext(
        project_id='p1',
        project_slug='billing-api',
        org_slug='acme',
        environment='production',
        **fields,
    )


def _query(api: typing.Any) -> typing.Any:
    return api.LogQuery(
        start_time=NOW - datetime.timedelta(minutes=5), end_time=NOW
    )


def _streams(*lines: tuple[int, str]) -> dict[str, typing.Any]:
    return {
        'status': 'success',
        'data': {
            'resultType': 'streams',
            'result': [
                {
                    'stream': {'service_name': 'billing-api'},
                    'values': [[str(ns), line] for ns, line in lines],
                }
            ],
        },
    }


@respx.mock
async def test_options_come_from_integration_and_capability(
    api: typing.Any, plugin: typing.Any
) -> None:
    """As imbi-api 2.41 passes them: Integration options and the layered
    capability options, not merged, assignment_options = capability's."""
    route = respx.get(f'{URL}/loki/api/v1/query_range').mock(
        return_value=httpx.Response(
            200, json=_streams((int(NOW.timestamp() * 1e9) - 1, 'hello'))
        )
    )
    capability = {'selector_template': '{app="${project_slug}"}'}
    ctx = _ctx(
        api,
        integration_options={'url': URL, 'tenant': 'team-a'},
        capability_options=capability,
        assignment_options=capability,
    )
    handler = plugin.manifest.capabilities[0].handler()
    result = await handler.search(ctx, {'auth_mode': 'none'}, _query(api))
    assert isinstance(result, api.LogResult)
    assert [e.message for e in result.entries] == ['hello']
    request = route.calls.last.request
    assert request.headers['x-scope-orgid'] == 'team-a'
    assert 'authorization' not in request.headers
    assert request.url.params['query'] == '{app="billing-api"}'
    # The gateway and identity flows leave assignment_options empty.
    ctx = _ctx(
        api,
        integration_options={'url': URL, 'tenant': 'team-a'},
        capability_options=capability,
    )
    await handler.search(ctx, {'token': TOKEN}, _query(api))
    request = route.calls.last.request
    assert request.url.params['query'] == '{app="billing-api"}'
    assert request.headers['authorization'] == f'Bearer {TOKEN}'


async def test_errors_are_the_hosts_classes(
    api: typing.Any, plugin: typing.Any
) -> None:
    handler = plugin.manifest.capabilities[0].handler()
    ctx = _ctx(api, integration_options={'url': URL})
    with pytest.raises(api.PluginCredentialsMissing, match='auth_mode'):
        await handler.search(ctx, {'auth_mode': 'bearer'}, _query(api))


@respx.mock
async def test_rate_limited_carries_retry_at(
    api: typing.Any, plugin: typing.Any
) -> None:
    respx.get(f'{URL}/loki/api/v1/query_range').mock(
        return_value=httpx.Response(
            429, headers={'Retry-After': '30'}, text='slow down'
        )
    )
    handler = plugin.manifest.capabilities[0].handler()
    ctx = _ctx(api, integration_options={'url': URL})
    before = time.time()
    with pytest.raises(api.PluginRateLimited) as caught:
        await handler.search(ctx, {'auth_mode': 'none'}, _query(api))
    assert before + 30 <= caught.value.retry_at <= time.time() + 30
    assert 'HTTP 429: slow down' in str(caught.value)


@respx.mock
async def test_histogram_through_the_capability(
    api: typing.Any, plugin: typing.Any
) -> None:
    respx.get(f'{URL}/loki/api/v1/query_range').mock(
        return_value=httpx.Response(
            200,
            json={
                'status': 'success',
                'data': {'resultType': 'matrix', 'result': []},
            },
        )
    )
    handler = plugin.manifest.capabilities[0].handler()
    ctx = _ctx(api, integration_options={'url': URL})
    buckets = await handler.histogram(
        ctx, {'auth_mode': 'none'}, _query(api), bucket_count=5
    )
    assert len(buckets) == 5
    assert all(isinstance(b, api.LogHistogramBucket) for b in buckets)
    assert [b.count for b in buckets] == [0] * 5


async def test_an_open_loki_needs_auth_mode_on_a_v3_host(loki: Loki) -> None:
    """imbi-api 2.41 refuses logs calls whose Integration credentials are
    empty (503), whichever fields are required: auth_mode is what an
    open Loki stores."""
    loki.fake.auth_enabled = False
    loki.push([(loki.now_ns - 1, 'open')])
    refused = await loki.host(credentials={}).search(loki.query())
    assert refused.status == 503
    assert loki.fake.requests == []
    served = await loki.host(credentials={'auth_mode': 'none'}).search(
        loki.query()
    )
    assert served.status == 200, served.body
    assert [e.message for e in served.result.entries] == ['open']


@pytest.mark.parametrize(
    ('credentials', 'header'),
    [
        ({'username': 'u', 'password': 'p'}, 'Basic dTpw'),
        # A blank value is what the host's form sends: it stores none.
        ({'username': 'u', 'password': 'p', 'auth_mode': ''}, 'Basic dTpw'),
        ({'token': TOKEN}, f'Bearer {TOKEN}'),
    ],
)
async def test_an_integration_saved_before_auth_mode_was_required(
    loki: Loki, credentials: dict[str, str], header: str
) -> None:
    """imbi-api 2.41 checks no required credential when it saves an
    Integration or calls logs, so one saved while auth_mode was optional
    reaches the plugin without it: the credentials set decide, as on v1.
    """
    loki.fake.auth_enabled = False
    loki.push([(loki.now_ns - 1, 'kept')])
    response = await loki.host(credentials=credentials).search(loki.query())
    assert response.status == 200, response.body
    assert [e.message for e in response.result.entries] == ['kept']
    (request,) = loki.fake.requests
    assert request.headers['authorization'] == header
