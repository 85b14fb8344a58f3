"""The options accessor: defaults, coercion, validation, the folder."""

import typing

import pytest
from imbi_plugin_testing import make_context
from imbi_plugin_testing.generation import ManifestView
from imbi_plugin_vault import options as plugin_options

from .conftest import PLUGIN

URL = 'https://vault.example.com:8200'


def read(**values: typing.Any) -> plugin_options.VaultOptions:
    return plugin_options.read_options(
        make_context('configuration', options={'url': URL, **values})
    )


def test_defaults_are_the_manifest_defaults() -> None:
    options = read()
    assert options == plugin_options.VaultOptions(
        url=URL,
        mount_path='secret',
        kv_version=None,
        path_template='${org_slug}/${project_slug}',
        namespace=None,
        delete_mode='soft',
        max_concurrency=8,
        timeout_seconds=8,
        verify_tls=True,
        redirect_hosts=frozenset(),
    )
    manifest_defaults = {
        o.name: o.default
        for o in ManifestView(PLUGIN).options
        if o.default is not None
    }
    assert manifest_defaults == plugin_options.DEFAULTS


@pytest.mark.parametrize(
    ('values', 'expected'),
    [
        ({'kv_version': 1}, {'kv_version': 1}),
        ({'kv_version': '1'}, {'kv_version': 1}),
        ({'kv_version': ' 2 '}, {'kv_version': 2}),
        ({'max_concurrency': '16'}, {'max_concurrency': 16}),
        ({'timeout_seconds': 3}, {'timeout_seconds': 3}),
        ({'verify_tls': 'false'}, {'verify_tls': False}),
        ({'verify_tls': 'True'}, {'verify_tls': True}),
        ({'verify_tls': False}, {'verify_tls': False}),
        ({'verify_tls': 0}, {'verify_tls': False}),
        ({'verify_tls': '1'}, {'verify_tls': True}),
        ({'delete_mode': 'destroy'}, {'delete_mode': 'destroy'}),
        ({'delete_mode': ''}, {'delete_mode': 'soft'}),
        ({'namespace': 'team-a/'}, {'namespace': 'team-a'}),
        ({'namespace': '  '}, {'namespace': None}),
        ({'mount_path': '/teams/kv/'}, {'mount_path': 'teams/kv'}),
        ({'url': URL + '/'}, {'url': URL}),
        ({'max_concurrency': None}, {'max_concurrency': 8}),
        ({'kv_version': ''}, {'kv_version': None}),
        (
            {'redirect_hosts': 'b.example:8200, C.example,[::1]:8201'},
            {
                'redirect_hosts': frozenset(
                    {'b.example:8200', 'c.example:443', '[::1]:8201'}
                )
            },
        ),
        (
            {
                'url': 'http://a.example',
                'allow_plain_http': 'true',
                'redirect_hosts': 'b.example',
            },
            {'redirect_hosts': frozenset({'b.example:80'})},
        ),
    ],
)
def test_coercion(
    values: dict[str, typing.Any], expected: dict[str, typing.Any]
) -> None:
    options = read(**values)
    for name, value in expected.items():
        assert getattr(options, name) == value


@pytest.mark.parametrize(
    ('values', 'option'),
    [
        ({'url': ''}, 'url'),
        ({'url': 'vault.example.com'}, 'url'),
        ({'url': 'ftp://vault.example.com'}, 'url'),
        ({'url': 'https://user:pw@vault.example.com'}, 'url'),
        # User information hiding another host: urlsplit reads the host
        # after the last '@', urllib3 (which connects) other.example.
        ({'url': 'https://:@other.example\\@vault.example.com'}, 'url'),
        ({'redirect_hosts': ':@other.example\\@b.example'}, 'redirect_hosts'),
        ({'url': 'https://vault.example.com?token=x'}, 'url'),
        ({'url': 8200}, 'url'),
        ({'mount_path': '../sys'}, 'mount_path'),
        ({'mount_path': 'a//b'}, 'mount_path'),
        ({'mount_path': '/'}, 'mount_path'),
        ({'kv_version': '3'}, 'kv_version'),
        ({'kv_version': True}, 'kv_version'),
        ({'kv_version': 2.0}, 'kv_version'),
        ({'delete_mode': 'purge'}, 'delete_mode'),
        ({'max_concurrency': 0}, 'max_concurrency'),
        ({'max_concurrency': '65'}, 'max_concurrency'),
        ({'max_concurrency': 'many'}, 'max_concurrency'),
        ({'max_concurrency': True}, 'max_concurrency'),
        ({'timeout_seconds': -1}, 'timeout_seconds'),
        ({'timeout_seconds': []}, 'timeout_seconds'),
        ({'verify_tls': 'maybe'}, 'verify_tls'),
        ({'verify_tls': 2}, 'verify_tls'),
        ({'namespace': 5}, 'namespace'),
        ({'namespace': 'team\r\nX-Other: 1'}, 'namespace'),
        ({'namespace': 'équipe'}, 'namespace'),
        ({'path_template': 7}, 'path_template'),
        ({'redirect_hosts': 'b.example/v1'}, 'redirect_hosts'),
        ({'redirect_hosts': 'b.example:port'}, 'redirect_hosts'),
        ({'redirect_hosts': 5}, 'redirect_hosts'),
        ({'path_template': '${org_slug}/${secret}'}, 'path_template'),
    ],
)
def test_invalid_option_names_it(
    values: dict[str, typing.Any], option: str
) -> None:
    with pytest.raises(ValueError, match=f"'{option}'"):
        read(**values)


def test_url_scheme_is_normalised() -> None:
    # Everything downstream (TLS settings, proxies) reads the scheme.
    assert read(url='HTTPS://Vault.example.com:8200/').url == (
        'https://Vault.example.com:8200'
    )


def test_url_is_required() -> None:
    with pytest.raises(ValueError, match="'url' is required"):
        plugin_options.read_options(make_context('configuration'))


@pytest.mark.parametrize(
    ('template', 'fields', 'folder'),
    [
        ('${org_slug}/${project_slug}', {}, 'aweber/billing-api'),
        ('/apps/${project_id}/', {}, 'apps/prj-0001'),
        ('${team_slug}/${environment}', {}, 'payments/production'),
        ('fixed', {}, 'fixed'),
    ],
)
def test_project_folder(
    template: str, fields: dict[str, typing.Any], folder: str
) -> None:
    ctx = make_context(
        'configuration',
        options={'url': URL, 'path_template': template},
        **fields,
    )
    options = plugin_options.read_options(ctx)
    assert plugin_options.project_folder(options, ctx) == folder


@pytest.mark.parametrize(
    ('template', 'fields', 'message'),
    [
        (
            '${org_slug}/${environment}',
            {'environment': None},
            'choose an environment',
        ),
        ('${org_slug}/${team_slug}', {'team_slug': ''}, 'empty'),
        ('${org_slug}/../other', {}, '".."'),
        ('${org_slug}//${project_slug}', {}, 'empty segment'),
        ('${org_slug}/./x', {}, '"."'),
        ('x/${project_slug}', {'project_slug': '..'}, '".."'),
        ('x/\ty', {}, 'control'),
    ],
)
def test_bad_folder(
    template: str, fields: dict[str, typing.Any], message: str
) -> None:
    ctx = make_context(
        'configuration',
        options={'url': URL, 'path_template': template},
        **fields,
    )
    options = plugin_options.read_options(ctx)
    with pytest.raises(ValueError, match="'path_template'") as caught:
        plugin_options.project_folder(options, ctx)
    assert message in str(caught.value)


def test_every_option_and_credential_is_described() -> None:
    # The Imbi UI shows the description next to each field.
    manifest = ManifestView(PLUGIN)
    for option in manifest.options:
        assert option.description, option.name
    for credential in manifest.credentials:
        assert credential.description, credential.name


def test_an_option_with_a_default_is_not_required() -> None:
    for option in ManifestView(PLUGIN).options:
        assert not (option.required and option.default is not None), (
            option.name
        )


def test_plain_http_is_refused_unless_allowed() -> None:
    with pytest.raises(ValueError, match="set option 'allow_plain_http'"):
        read(url='HTTP://vault.example.com:8200')
    allowed = read(url='http://vault.example.com:8200', allow_plain_http='yes')
    assert allowed.url == 'http://vault.example.com:8200'


@pytest.mark.parametrize(
    'url', ['http://127.0.0.1:8200', 'http://localhost:8200', 'http://[::1]:1']
)
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    # A local Vault agent: the token never leaves the machine.
    assert read(url=url).url == url
