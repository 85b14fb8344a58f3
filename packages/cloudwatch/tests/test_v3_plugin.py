"""v3 only: the real v3 registry loads PLUGIN; what the 2.41 hosts read.

Run on imbi-common 2.12+ (the harness collects test_v3_* files only
there).
"""

import subprocess
import sys
import time
import typing

import botocore.exceptions
import pytest
from imbi_plugin_cloudwatch import _host, client, options, spec
from imbi_plugin_cloudwatch.handler import CloudWatchHandler


@pytest.fixture
def api() -> typing.Any:
    return _host.api()


@pytest.fixture
def plugin() -> typing.Any:
    import imbi_plugin_cloudwatch

    return imbi_plugin_cloudwatch.PLUGIN


def test_the_convention_scan_loads_it(
    api: typing.Any, plugin: typing.Any
) -> None:
    result = api.registry.load_plugins()
    assert 'cloudwatch' in result.loaded
    assert 'imbi_plugin_cloudwatch' not in result.errors
    handler = api.registry.get_capability('cloudwatch', 'logs')
    assert issubclass(handler, api.LogsCapability)
    assert issubclass(handler, CloudWatchHandler)
    assert api.registry.get_plugin('cloudwatch').plugin_cls is plugin


def test_imbi_plugins_names_it_explicitly(
    api: typing.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.registry, '_discover_convention', dict)
    monkeypatch.setenv('IMBI_PLUGINS', 'imbi_plugin_cloudwatch:PLUGIN')
    result = api.registry.load_plugins()
    assert result.loaded == ['cloudwatch']
    assert result.errors == {}


def test_the_v3_manifest(api: typing.Any, plugin: typing.Any) -> None:
    manifest = plugin.manifest
    assert issubclass(plugin, api.Plugin)
    assert (manifest.slug, manifest.name, manifest.api_version) == (
        'cloudwatch',
        'AWS CloudWatch Logs',
        2,
    )
    assert manifest.auth_type == 'api_token'
    assert [o.name for o in manifest.options] == [
        'region',
        'role_arn',
        'external_id',
        'endpoint_url',
        'sts_endpoint_url',
        'use_host_credentials',
        'allow_plain_http',
        'timeout_seconds',
    ]
    (capability,) = manifest.capabilities
    assert capability.kind == 'logs'
    assert capability.hints == {'supports_histogram': True}
    assert [o.name for o in capability.options] == [
        'log_group_template',
        'log_stream_prefix_template',
        'message_format',
        'level_field',
        'message_field',
        'query_mode',
        'base_filter',
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
    assert list(credentials) == [
        'access_key_id',
        'secret_access_key',
        'session_token',
        'auth_mode',
    ]
    # The form asks for auth_mode; the keys depend on it.
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
    assert handler.histogram is CloudWatchHandler.histogram


def test_host_path(api: typing.Any) -> None:
    assert _host.generation() == 3
    if 'imbi.common' in sys.modules:
        assert api.__name__ == 'imbi.common.plugins'
        assert 'imbi_common' not in sys.modules
    else:
        assert api.__name__ == 'imbi_common.plugins'


def test_a_v3_host_imports_no_v1_code_and_no_boto3() -> None:
    code = (
        'import sys, imbi_plugin_cloudwatch as m; m.PLUGIN; '
        "print([n for n in ('imbi_plugin_cloudwatch.plugin', 'boto3', "
        "'botocore') if n in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == '[]'


def _ctx(api: typing.Any, **fields: typing.Any) -> typing.Any:
    return api.PluginContext(
        project_id='p1',
        project_slug='billing-api',
        org_slug='acme',
        environment='production',
        **fields,
    )


def test_options_come_from_integration_and_capability(
    api: typing.Any,
) -> None:
    """As imbi-api 2.41 passes them: Integration options and the layered
    capability options, not merged, assignment_options = capability's;
    the gateway leaves assignment_options empty."""
    integration = {'region': 'eu-west-1', 'use_host_credentials': 'true'}
    capability = {'log_group_template': '/${org_slug}/${environment}/app'}
    for assignment in (capability, {}):
        ctx = _ctx(
            api,
            integration_options=integration,
            capability_options=capability,
            assignment_options=assignment,
        )
        opts = options.read_options(ctx)
        assert opts.region == 'eu-west-1'
        assert opts.use_host_credentials is True
        assert opts.log_groups == ('/acme/production/app',)


async def test_errors_are_the_hosts_classes(
    api: typing.Any, plugin: typing.Any
) -> None:
    handler = plugin.manifest.capabilities[0].handler()
    ctx = _ctx(api, integration_options={'region': 'us-east-1'})
    query = api.LogQuery(
        start_time='2026-11-25T11:30:00Z', end_time='2026-11-25T12:00:00Z'
    )
    with pytest.raises(api.PluginCredentialsMissing, match='auth_mode'):
        await handler.search(ctx, {'auth_mode': 'keys'}, query)
    with pytest.raises(api.PluginCredentialsMissing, match='use_host'):
        await handler.schema(ctx, {})


async def test_throttling_is_rate_limited(api: typing.Any) -> None:
    ctx = _ctx(api, integration_options={'region': 'us-east-1'})
    calls = client.Calls(
        options.read_options(ctx), client.AwsKeys('AKIAX', 'secret-x')
    )
    response: typing.Any = {
        'Error': {'Code': 'ThrottlingException', 'Message': 'Rate exceeded'},
        'ResponseMetadata': {
            'HTTPStatusCode': 400,
            'HTTPHeaders': {'retry-after': '20'},
        },
    }
    before = time.time()
    error, retries = calls._classify(
        'FilterLogEvents',
        botocore.exceptions.ClientError(response, 'FilterLogEvents'),
    )
    assert isinstance(error, api.PluginRateLimited)
    assert before + 20 <= error.retry_at <= time.time() + 20
    assert retries == client.MAX_RETRIES


@pytest.mark.filter_log_events
async def test_host_identity_needs_auth_mode_on_a_v3_host(
    cw: typing.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """imbi-api 2.41 refuses logs calls whose Integration credentials are
    empty (503), whichever fields are required: auth_mode is what an
    Integration on the host's identity stores."""
    cw.put(3, 'event one')
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', cw.key.access_key_id)
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', cw.key.secret_access_key)
    query = cw.query(filters=['message:contains:event'])
    refused = await cw.host({}, use_host_credentials=True).search(query)
    assert refused.status == 503
    assert cw.fake.requests == []
    served = await cw.host({'auth_mode': 'ambient'}).search(query)
    assert served.status == 200, served.body
    assert [e['message'] for e in served.body['entries']] == ['event one']


@pytest.mark.filter_log_events
@pytest.mark.parametrize('blank', [{}, {'auth_mode': ''}])
async def test_an_integration_saved_before_auth_mode_was_required(
    cw: typing.Any, blank: dict[str, str]
) -> None:
    """imbi-api 2.41 checks no required credential when it saves an
    Integration or calls logs, so one saved while auth_mode was optional
    reaches the plugin without it (a blank value is stored as none): the
    stored keys decide, as on v1."""
    cw.put(3, 'event one')
    host = cw.host({**cw.credentials(), **blank})
    response = await host.search(cw.query(filters=['message:contains:event']))
    assert response.status == 200, response.body
    assert cw.fake.calls == [('FilterLogEvents', cw.key.access_key_id)]
