"""Option coercion and defaults (the host applies none)."""

import typing

import pytest
from imbi_plugin_github_identity.options import (
    Options,
    is_http_url,
    read_options,
)


def test_defaults() -> None:
    assert read_options({}) == Options(
        github_url='https://github.com',
        api_url='https://api.github.com',
        use_pkce=True,
        allow_signup=False,
        include_organizations=True,
        timeout_seconds=8,
    )


@pytest.mark.parametrize(
    ('github_url', 'api_url'),
    [
        ('https://github.com', 'https://api.github.com'),
        ('https://github.example.com/', 'https://github.example.com/api/v3'),
        ('http://127.0.0.1:8080', 'http://127.0.0.1:8080/api/v3'),
        ('https://acme.ghe.com', 'https://api.acme.ghe.com'),
    ],
)
def test_api_url_is_derived(github_url: str, api_url: str) -> None:
    assert read_options({'github_url': github_url}).api_url == api_url


def test_api_url_can_be_set() -> None:
    options = read_options(
        {'github_url': 'https://g.example.com', 'api_url': 'https://api.g/'}
    )
    assert options.api_url == 'https://api.g'


@pytest.mark.parametrize(
    ('value', 'expected'),
    [(True, True), (0, False), (1, True), ('Yes', True), ('off', False)],
)
def test_booleans(value: object, expected: bool) -> None:
    assert read_options({'allow_signup': value}).allow_signup is expected


@pytest.mark.parametrize(('value', 'expected'), [(3, 3), ('12', 12), ('', 8)])
def test_timeout(value: object, expected: int) -> None:
    assert read_options({'timeout_seconds': value}).timeout_seconds == expected


@pytest.mark.parametrize(
    ('raw', 'name'),
    [
        ({'allow_signup': 2}, 'allow_signup'),
        ({'include_organizations': 'sometimes'}, 'include_organizations'),
        ({'timeout_seconds': 0}, 'timeout_seconds'),
        ({'timeout_seconds': 301}, 'from 1 to 300'),
        ({'timeout_seconds': True}, 'timeout_seconds'),
        ({'timeout_seconds': '1.5'}, 'timeout_seconds'),
        ({'github_url': 42}, 'github_url'),
        ({'github_url': 'https://github.example.com/?x=1'}, 'github_url'),
        # Not RFC 3986 URLs, though urlsplit() accepts them.
        ({'github_url': 'https://github.example.com/${org}'}, 'github_url'),
        ({'github_url': 'https://github.example.com:99999'}, 'github_url'),
        ({'github_url': 'https://github.example.com:0'}, 'github_url'),
        ({'github_url': 'https://git\nhub.example.com'}, 'github_url'),
        ({'api_url': 'https://`api`.example.com'}, 'api_url'),
        ({'api_url': 'https://api.example.com/a b'}, 'api_url'),
        ({'api_url': 'https://api.example.com/%zz'}, 'api_url'),
    ],
)
def test_invalid(raw: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        read_options(raw)


@pytest.mark.parametrize(
    'url',
    [
        'http://[::1]:8080',
        'https://github.example.com:8443/ghes',
        'https://imbi.example.com/cb?next=%2Fprojects&x=1',
    ],
)
def test_valid_urls(url: str) -> None:
    assert is_http_url(url)


@pytest.mark.parametrize('name', ['github_url', 'api_url'])
@pytest.mark.parametrize(
    'netloc',
    [
        'x:s3cret@github.example.com',
        's3cret@github.example.com',
        'x:s3cret@github.example.com:8443',
        ':s3cret@github.example.com',
        '@github.example.com',
    ],
)
def test_credentials_in_urls_are_rejected(name: str, netloc: str) -> None:
    # They would reach the Options repr, the authorize URL the browser is
    # sent to, and every log line with a request URL.
    with pytest.raises(ValueError, match='username or password') as caught:
        read_options({name: f'https://{netloc}/api'})
    assert name in str(caught.value)
    assert 's3cret' not in str(caught.value)


def test_an_at_sign_in_the_path_is_fine() -> None:
    options = read_options({'github_url': 'https://github.example.com/@x'})
    assert options.github_url == 'https://github.example.com/@x'


@pytest.mark.parametrize('name', ['github_url', 'api_url'])
@pytest.mark.parametrize(
    'value',
    [
        'https://github.example.com/s3cret token',
        'https://github.example.com:99999/s3cret',
        'ftp://s3cret@github.example.com',
        'https://github.example.com/?token=s3cret',
        'https://github.example.com/#s3cret',
        'https://x:s3cret@github.example.com',
        b'https://x:s3cret@github.example.com',
        ['https://x:s3cret@github.example.com'],
    ],
)
def test_a_rejected_url_is_not_echoed(name: str, value: typing.Any) -> None:
    with pytest.raises(ValueError, match=name) as caught:
        read_options({name: value})
    assert 's3cret' not in str(caught.value)


@pytest.mark.parametrize('name', ['github_url', 'api_url'])
def test_plain_http_is_refused_unless_allowed(name: str) -> None:
    with pytest.raises(ValueError, match="set option 'allow_plain_http'"):
        read_options({name: 'http://10.0.0.5:8080'})
    allowed = read_options(
        {name: 'http://10.0.0.5:8080', 'allow_plain_http': 'true'}
    )
    assert getattr(allowed, name).startswith('http://10.0.0.5:8080')


def test_plain_http_to_loopback_is_allowed() -> None:
    read_options({'github_url': 'http://localhost:8080'})
    read_options({'api_url': 'http://[::1]:8080'})
