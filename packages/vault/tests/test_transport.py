"""The transport: headers, redirects, proxies from the environment, TLS."""

import base64
import collections.abc
import contextlib
import http.server
import pathlib
import threading
import typing

import pytest
import urllib3
from imbi_plugin_testing import (
    Fault,
    Host,
    SecretScan,
    ServerTLS,
    make_server_tls,
)
from imbi_plugin_testing.fakes.vault import VaultFake
from imbi_plugin_vault import options as vault_options
from imbi_plugin_vault import transport
from imbi_plugin_vault._host import PluginTimeoutError, PluginUnavailableError

from .conftest import FOLDER, PLUGIN, Vault

_PROXY_VARIABLES = (
    'HTTP_PROXY',
    'HTTPS_PROXY',
    'ALL_PROXY',
    'NO_PROXY',
    'http_proxy',
    'https_proxy',
    'all_proxy',
    'no_proxy',
)


@pytest.fixture(autouse=True)
def _no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _options(**overrides: typing.Any) -> vault_options.VaultOptions:
    values: dict[str, typing.Any] = {
        'url': 'https://vault.example.com:8200',
        'mount_path': 'secret',
        'kv_version': 2,
        'path_template': '${org_slug}/${project_slug}',
        'namespace': None,
        'delete_mode': 'soft',
        'max_concurrency': 8,
        'timeout_seconds': 8,
        'verify_tls': True,
    }
    values.update(overrides)
    return vault_options.VaultOptions(**values)


class _Proxy(http.server.ThreadingHTTPServer):
    """A forward proxy for http:// URLs that records what it was sent."""

    def __init__(self) -> None:
        super().__init__(('127.0.0.1', 0), _ProxyHandler)
        self.seen: list[tuple[str, str, str | None]] = []
        self.upstream = urllib3.PoolManager()

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.server_address[1]}'


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: _Proxy

    def _forward(self) -> None:
        self.server.seen.append(
            (
                self.command,
                self.path,
                self.headers.get('Proxy-Authorization'),
            )
        )
        length = int(self.headers.get('Content-Length') or 0)
        headers = {
            name: value
            for name, value in self.headers.items()
            if not name.lower().startswith('proxy-')
        }
        answer = self.server.upstream.request(
            self.command,
            self.path,  # absolute-form: the proxy's whole job
            body=self.rfile.read(length) if length else None,
            headers=headers,
            redirect=False,
        )
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            if name.lower() not in ('connection', 'transfer-encoding'):
                self.send_header(name, value)
        self.send_header('Content-Length', str(len(answer.data)))
        self.end_headers()
        self.wfile.write(answer.data)

    do_GET = do_POST = do_DELETE = _forward

    def log_message(self, format: str, *args: typing.Any) -> None:
        """Quiet: the test reads ``seen``."""


@contextlib.contextmanager
def _standby(
    vault2: Vault, path: str, method: str | None = None
) -> collections.abc.Iterator[tuple[VaultFake, str]]:
    """An active node, served; the stand-in answers 307 to it for path.

    A standby without request forwarding answers so.
    """
    active = VaultFake(vault2.token)
    active.mount('secret', 2)
    with active.serve() as active_url:
        vault2.fake.inject(
            Fault(
                path=f'^{path}$',
                method=method,
                status=307,
                headers={'Location': f'{active_url}{path}'},
            )
        )
        yield active, active_url


@pytest.fixture
def proxy() -> collections.abc.Iterator[_Proxy]:
    server = _Proxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


async def test_requests_name_the_plugin_and_ask_for_vault(
    vault2: Vault,
) -> None:
    vault2.put_imbi('k', 'v', 'string')
    assert (await vault2.host().get_values()).ok
    headers = vault2.fake.requests[-1].headers
    assert headers['user-agent'] == transport.USER_AGENT
    assert transport.USER_AGENT.startswith('imbi-plugin-vault/')
    assert headers['x-vault-request'] == 'true'


def _node(url: str) -> str:
    return url.split('//', 1)[1]


async def test_standby_redirect_is_followed_with_the_token(
    vault2: Vault, secret_scan: SecretScan
) -> None:
    # The token must follow (it is not an Authorization header) to a
    # node the operator listed.
    read = f'/v1/secret/data/{FOLDER}/k'
    with _standby(vault2, read) as (active, active_url):
        active.put('secret', f'{FOLDER}/k', {'value': 'v'})
        response = await vault2.host(
            redirect_hosts=f'vault-b.example:8200, {_node(active_url)}'
        ).get_values(['k'])
    assert response.ok, response.error
    assert [(v['key'], v['value']) for v in response.body] == [('k', 'v')]
    assert [r.path for r in active.requests] == [read]
    assert active.requests[0].headers['x-vault-token'] == vault2.token


async def test_a_redirected_write_keeps_its_method_and_body(
    vault2: Vault,
) -> None:
    write = f'/v1/secret/data/{FOLDER}/k'
    with _standby(vault2, write, 'POST') as (active, active_url):
        response = await vault2.host(
            redirect_hosts=_node(active_url)
        ).set_value('k', 'v', 'string')
    assert response.ok, response.error
    posted = [r for r in active.requests if r.method == 'POST']
    assert posted[0].path == write
    assert active.secret('secret', f'{FOLDER}/k') == {'value': 'v'}


async def test_a_redirect_loop_is_unavailable(vault2: Vault) -> None:
    listing = f'/v1/secret/metadata/{FOLDER}'
    vault2.fake.inject(
        Fault(
            path=f'^{listing}$',
            times=None,
            status=307,
            headers={'Location': f'{vault2.url}{listing}?list=true'},
        )
    )
    response = await vault2.host().list_keys()
    assert isinstance(response.error, PluginUnavailableError)
    assert 'cannot reach Vault' in str(response.error)
    assert 'TooManyRedirects' in str(response.error)
    assert len(vault2.fake.requests_to(listing)) == transport.MAX_REDIRECTS + 1


async def test_a_303_turns_a_write_into_a_read(vault2: Vault) -> None:
    write = f'/v1/secret/data/{FOLDER}/k'
    vault2.fake.inject(
        Fault(
            path=f'^{write}$',
            method='POST',
            status=303,
            headers={'Location': f'/v1/secret/data/{FOLDER}/other'},
        )
    )
    response = await vault2.host().set_value('k', 'v', 'string')
    # The GET that follows finds nothing: the write did not happen.
    assert isinstance(response.error, ValueError)
    assert vault2.stored('k') is None
    followed = vault2.fake.requests[-1]
    assert (followed.method, followed.path) == (
        'GET',
        f'/v1/secret/data/{FOLDER}/other',
    )
    assert 'content-type' not in followed.headers


@pytest.mark.parametrize(
    'location', ['http://:8200/v1/x', 'http://%5B::1%5D:8200/v1/x']
)
async def test_a_redirect_that_names_no_host_is_refused(
    vault2: Vault, location: str
) -> None:
    vault2.fake.inject(Fault(status=307, headers={'Location': location}))
    response = await vault2.host().list_keys()
    assert isinstance(response.error, PluginUnavailableError)
    assert 'names no host' in str(response.error)


async def test_a_redirect_to_a_host_not_listed_is_refused(
    vault2: Vault,
) -> None:
    read = f'/v1/secret/data/{FOLDER}/k'
    with _standby(vault2, read) as (active, active_url):
        response = await vault2.host(
            redirect_hosts='vault-b.example:8200'
        ).get_values(['k'])
    assert isinstance(response.error, PluginUnavailableError)
    text = str(response.error)
    assert f'redirected to {_node(active_url)}' in text
    assert "'redirect_hosts'" in text
    assert active.requests == []  # the token stayed home


@pytest.mark.parametrize(
    'authority',
    [
        # Python's urlsplit reads the host after the last '@' (url's
        # node, with an empty user name); urllib3, which connects, ends
        # the authority at the backslash and reads the other node.
        ':x@{other}\\@{home}',
        ':@{other}\\@{home}',
        # Userinfo of any kind, even to url's own node.
        ':x@{home}',
    ],
)
async def test_a_redirect_the_parsers_read_differently_is_refused(
    vault2: Vault, authority: str
) -> None:
    read = f'/v1/secret/data/{FOLDER}/k'
    other = VaultFake(vault2.token)
    other.mount('secret', 2)
    with other.serve() as other_url:
        location = 'http://' + authority.format(
            other=_node(other_url), home=_node(vault2.url)
        )
        vault2.fake.inject(
            Fault(
                path=f'^{read}$',
                status=307,
                headers={'Location': f'{location}{read}'},
            )
        )
        response = await vault2.host().get_values(['k'])
    assert isinstance(response.error, PluginUnavailableError)
    assert other.requests == []  # the token stayed home
    assert 'x@' not in str(response.error)


@pytest.mark.usefixtures('no_ca_bundle')
async def test_a_redirect_from_https_to_http_is_refused(
    fake: VaultFake, tls: ServerTLS, secret_scan: SecretScan
) -> None:
    # Even to a listed node: the token would cross the network in clear.
    plain = VaultFake(fake.root_token)
    plain.mount('secret', 2)
    with plain.serve() as plain_url, fake.serve(tls) as url:
        fake.inject(
            Fault(
                path='/v1/secret/metadata/',
                status=307,
                headers={'Location': f'{plain_url}/v1/secret/metadata/x'},
            )
        )
        response = await _https_host(
            fake,
            url,
            verify_tls='false',
            redirect_hosts=_node(plain_url),
        ).list_keys()
    assert isinstance(response.error, PluginUnavailableError)
    assert 'from https to http' in str(response.error)
    assert plain.requests == []


async def test_requests_go_through_the_environments_proxy(
    vault2: Vault,
    proxy: _Proxy,
    monkeypatch: pytest.MonkeyPatch,
    secret_scan: SecretScan,
) -> None:
    secret_scan.add('pr0xy-pa55')
    monkeypatch.setenv(
        'HTTP_PROXY', proxy.url.replace('//', '//ops:pr0xy-pa55@')
    )
    vault2.put_imbi('k', 'v', 'string')
    response = await vault2.host().get_values()
    assert response.ok, response.error
    assert [(v['key'], v['value']) for v in response.body] == [('k', 'v')]
    methods = [(method, url) for method, url, _ in proxy.seen]
    assert ('GET', f'{vault2.url}/v1/secret/data/{FOLDER}/k') in methods
    expected = 'Basic ' + base64.b64encode(b'ops:pr0xy-pa55').decode()
    assert {auth for _, _, auth in proxy.seen} == {expected}


async def test_a_redirect_through_the_proxy_names_the_new_host(
    vault2: Vault, proxy: _Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('HTTP_PROXY', proxy.url)
    read = f'/v1/secret/data/{FOLDER}/k'
    with _standby(vault2, read) as (active, active_url):
        active.put('secret', f'{FOLDER}/k', {'value': 'v'})
        response = await vault2.host(
            redirect_hosts=_node(active_url)
        ).get_values(['k'])
    assert response.ok, response.error
    assert [url for _, url, _ in proxy.seen] == [
        f'{vault2.url}/v1/sys/internal/ui/mounts/secret',
        f'{vault2.url}{read}',
        f'{active_url}{read}',
    ]
    assert active.requests[0].headers['host'] == active_url.split('//')[1]


async def test_a_proxy_without_credentials_gets_no_proxy_auth(
    vault2: Vault, proxy: _Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('http_proxy', proxy.url)
    assert (await vault2.host().list_keys()).ok
    assert [auth for _, _, auth in proxy.seen] == [None, None]


async def test_no_proxy_sends_directly(
    vault2: Vault, proxy: _Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('HTTP_PROXY', proxy.url)
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    assert (await vault2.host().list_keys()).ok
    assert proxy.seen == []


def test_a_proxy_scheme_urllib3_lacks_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv('HTTPS_PROXY', 'socks5://ops:pr0xy-pa55@proxy:1080')
    with pytest.raises(PluginUnavailableError, match="'socks5'") as caught:
        transport.new_pool(_options())
    assert 'pr0xy-pa55' not in str(caught.value)


def test_tls_uses_the_ca_bundle_of_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: typing.Any
) -> None:
    bundle = tmp_path / 'ca.pem'
    bundle.write_text('')
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(bundle))
    settings = transport.new_pool(_options()).connection_pool_kw
    assert settings['cert_reqs'] == 'CERT_REQUIRED'
    assert settings['ca_certs'] == str(bundle)
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(tmp_path))
    settings = transport.new_pool(_options()).connection_pool_kw
    assert settings['ca_cert_dir'] == str(tmp_path)


def test_tls_defaults_to_certifi_like_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import certifi

    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)
    settings = transport.new_pool(_options()).connection_pool_kw
    assert settings['ca_certs'] == certifi.where()


def test_verify_tls_false_skips_verification() -> None:
    settings = transport.new_pool(
        _options(verify_tls=False)
    ).connection_pool_kw
    assert settings['cert_reqs'] == 'CERT_NONE'
    assert settings['assert_hostname'] is False


def test_pool_size_is_the_calls_concurrency() -> None:
    pool = transport.new_pool(_options(max_concurrency=3))
    assert pool.connection_pool_kw['maxsize'] == 3


@pytest.mark.parametrize('proxy', ['proxy.corp:3128', '10.0.0.1:3128'])
def test_a_proxy_without_a_scheme_is_http(
    monkeypatch: pytest.MonkeyPatch, proxy: str
) -> None:
    # requests reads it so; operators' environments rely on it.
    monkeypatch.setenv('HTTPS_PROXY', proxy)
    pool = transport.new_pool(_options())
    assert isinstance(pool, urllib3.ProxyManager)
    assert pool.proxy is not None
    assert pool.proxy.url == f'http://{proxy}'


@pytest.fixture
def adapter() -> transport.Adapter:
    """An adapter that is never asked to reach Vault."""
    return transport.Adapter(
        'http://127.0.0.1:8200',
        'token',
        None,
        pool=urllib3.PoolManager(),
        deadline=transport.Deadline(1),
    )


def test_the_adapter_does_not_log_in(adapter: transport.Adapter) -> None:
    with pytest.raises(NotImplementedError):
        adapter.get_login_token({})


def test_the_adapter_refuses_arguments_it_would_ignore(
    adapter: transport.Adapter,
) -> None:
    with pytest.raises(TypeError, match='wrap_ttl'):
        adapter.get('/v1/secret/data/k', wrap_ttl='5m')


async def test_a_write_vault_never_answers_is_a_timeout(
    vault2: Vault,
) -> None:
    # urllib3 re-raises a read timeout of a non-idempotent request as is
    # (no retry wrapper): it must still be a timeout, not unavailable.
    vault2.fake.inject(Fault(method='POST', stall=True, times=None))
    response = await vault2.host(timeout_seconds=1).set_value(
        'k', 'v', 'string'
    )
    assert isinstance(response.error, PluginTimeoutError)


@pytest.fixture
def tls(tmp_path: pathlib.Path) -> ServerTLS:
    return make_server_tls(tmp_path)


@pytest.fixture
def no_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)


def _https_host(fake: VaultFake, url: str, **options: typing.Any) -> Host:
    assert url.startswith('https://')
    return Host(
        PLUGIN,
        plugin_options={'url': url, 'timeout_seconds': 3, **options},
        credentials={'token': fake.root_token},
    )


@pytest.mark.parametrize('variable', ['REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'])
@pytest.mark.usefixtures('no_ca_bundle')
async def test_https_trusts_the_ca_bundle_of_the_environment(
    fake: VaultFake,
    tls: ServerTLS,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    monkeypatch.setenv(variable, str(tls.ca_file))
    with fake.serve(tls) as url:
        response = await _https_host(fake, url).list_keys()
    assert response.ok, response.error


@pytest.mark.usefixtures('no_ca_bundle')
async def test_https_to_an_untrusted_certificate_is_unavailable(
    fake: VaultFake, tls: ServerTLS
) -> None:
    with fake.serve(tls) as url:
        response = await _https_host(fake, url).list_keys()
    assert isinstance(response.error, PluginUnavailableError)
    assert 'SSLError' in str(response.error)
    assert fake.requests == []


@pytest.mark.usefixtures('no_ca_bundle')
async def test_https_with_verify_tls_off_accepts_any_certificate(
    fake: VaultFake, tls: ServerTLS
) -> None:
    with fake.serve(tls) as url:
        response = await _https_host(fake, url, verify_tls='false').list_keys()
    assert response.ok, response.error
