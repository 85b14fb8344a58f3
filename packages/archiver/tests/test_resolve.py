"""Which repository: option, link, single candidate; bad input sends
nothing upstream."""

import typing

import pytest
from imbi_plugin_archiver.links import Target, Unresolved, resolve
from imbi_plugin_archiver.options import (
    OptionError,
    Options,
    read_options,
    split_repository,
)

if typing.TYPE_CHECKING:
    from conftest import World


def _options(**values: typing.Any) -> Options:
    return read_options({'api_url': 'https://api.github.com', **values})


async def test_no_link_is_skipped_without_a_request(world: World) -> None:
    result = await world.archive({'docs': 'https://docs.example.com/x'})

    assert result.status == 'skipped'
    assert result.message is not None
    assert result.message.startswith(
        'no GitHub repository linked to this project'
    )
    assert world.fake.requests == []


async def test_several_candidates_fail_listing_them(world: World) -> None:
    links = {
        'code': f'{world.url}/acme/billing-api',
        'mirror': f'{world.url}/acme/billing-api.git',
        'infra': f'{world.url}/acme/billing-infra/tree/main',
    }

    result = await world.archive(links)

    assert result.status == 'failed'
    assert result.message is not None
    assert 'code, mirror -> acme/billing-api' in result.message
    assert 'infra -> acme/billing-infra' in result.message
    assert "set the 'repository' option" in result.message
    assert world.fake.requests == []


async def test_single_candidate_link_is_used(world: World) -> None:
    links = {
        'source': f'{world.url}/acme/billing-api/',
        'elsewhere': 'https://gitlab.example.com/acme/other',
        'org': f'{world.url}/orgs/acme',
    }

    result = await world.archive(links)

    assert result.status == 'ok', result.message
    assert world.calls()[0] == 'GET /repos/acme/billing-api'


async def test_github_repository_link_wins(world: World) -> None:
    links = {
        **world.link(),
        'other': f'{world.url}/acme/billing-infra',
    }

    result = await world.archive(links)

    assert result.status == 'ok', result.message


async def test_repository_option_wins_over_links(world: World) -> None:
    world.fake.add_repository(
        'acme', 'payments', collaborators={'alice': 'admin'}
    )

    result = await world.archive(options={'repository': 'acme/payments'})

    assert result.status == 'ok', result.message
    assert result.artifacts['repository'] == 'acme/payments'
    assert not world.repo.archived


async def test_github_repository_link_on_another_host_fails(
    world: World,
) -> None:
    result = await world.archive(
        {'github-repository': 'https://github.com/acme/billing-api'}
    )

    assert result.status == 'failed'
    assert result.message is not None
    assert 'is not a repository URL on 127.0.0.1' in result.message
    assert world.fake.requests == []


@pytest.mark.parametrize(
    ('options', 'named'),
    [
        ({'repository': 'acme'}, 'repository'),
        ({'repository': 'acme/billing/api'}, 'repository'),
        ({'repository': '-acme/x'}, 'repository'),
        ({'archive_owner': 'acme archive'}, 'archive_owner'),
        ({'archive_owner': 7}, 'archive_owner'),
        ({'timeout_seconds': 0}, 'timeout_seconds'),
        ({'timeout_seconds': 'soon'}, 'timeout_seconds'),
        ({'timeout_seconds': True}, 'timeout_seconds'),
        ({'timeout_seconds': 3600}, 'timeout_seconds'),
        ({'api_url': 'ftp://github.example.com'}, 'api_url'),
        ({'api_url': 'https://user:pw@github.example.com'}, 'api_url'),
        ({'api_url': 'https://github.example.com/api/v3?x=1'}, 'api_url'),
        # Regression: these reached httpx (InvalidURL, ValueError, an
        # ExceptionGroup) or DNS instead of naming the option.
        ({'repository': 'acme\n/billing-api'}, 'repository'),
        ({'repository': 'acme/billing-api\n.git'}, 'repository'),
        ({'archive_owner': 'acme-archive\nx'}, 'archive_owner'),
        ({'api_url': 'https://github.example.com:ghes'}, 'api_url'),
        ({'api_url': 'https://github.example.com:99999'}, 'api_url'),
        ({'api_url': 'https://github.example.com:0'}, 'api_url'),
        ({'api_url': 'https://[::1/api/v3'}, 'api_url'),
        ({'api_url': 'https://github example.com'}, 'api_url'),
        ({'api_url': 'https://-github.example.com'}, 'api_url'),
        ({'api_url': 'https://github.example.com/api\x00/v3'}, 'api_url'),
        ({'api_url': 'https://github.example.com/api\tv3'}, 'api_url'),
    ],
)
async def test_invalid_option_fails_without_a_request(
    world: World, options: dict[str, typing.Any], named: str
) -> None:
    result = await world.archive(options=options)

    assert result.status == 'failed'
    assert f'option {named!r}' in (result.message or '')
    assert world.fake.requests == []


def test_defaults_are_applied() -> None:
    options = read_options({'timeout_seconds': ' ', 'repository': ''})

    assert options == Options(
        api_url='https://api.github.com',
        repository=None,
        archive_owner=None,
        timeout_seconds=8,
    )
    assert options.web_host == 'github.com'


def test_options_are_coerced() -> None:
    options = read_options(
        {
            'api_url': 'https://ghe.example.com/api/v3/',
            'timeout_seconds': '5',
            'repository': ' acme/billing-api ',
            'archive_owner': 'acme-archive',
        }
    )

    assert options.api_url == 'https://ghe.example.com/api/v3'
    assert options.web_host == 'ghe.example.com'
    assert options.timeout_seconds == 5
    assert options.repository == ('acme', 'billing-api')
    assert options.archive_owner == 'acme-archive'


@pytest.mark.parametrize(
    'url',
    [
        'http://127.0.0.1/api/v3',
        'http://[::1]:8080/api/v3',
        'https://[2001:db8::1]:8443/api/v3',
        'https://github.example.com.:443/api/v3',
    ],
)
def test_api_url_hosts_and_ports(url: str) -> None:
    assert _options(api_url=url).api_url == url


def test_plain_http_is_refused_unless_allowed() -> None:
    with pytest.raises(ValueError, match="'allow_plain_http' to true"):
        _options(api_url='HTTP://10.0.0.5/api/v3')
    with pytest.raises(ValueError, match='true or false'):
        _options(api_url='http://10.0.0.5/api/v3', allow_plain_http='maybe')
    allowed = _options(api_url='http://10.0.0.5/api/v3', allow_plain_http='1')
    assert allowed.api_url == 'http://10.0.0.5/api/v3'


def test_api_url_is_not_echoed() -> None:
    with pytest.raises(OptionError) as caught:
        read_options({'api_url': 'https://octo:s3cr3t@ghe.example.com'})

    assert 's3cr3t' not in str(caught.value)


def test_ghe_com_api_subdomain() -> None:
    options = _options(api_url='https://api.octo.ghe.com')

    assert options.web_host == 'octo.ghe.com'


def test_option_must_be_text() -> None:
    with pytest.raises(OptionError, match="option 'repository'"):
        read_options({'repository': 12})


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('acme/billing-api', ('acme', 'billing-api')),
        ('acme/billing-api.git', ('acme', 'billing-api')),
        ('acme/..', None),
        ('acme/', None),
        ('/billing-api', None),
        ('ac_me/x', None),
        ('acme\n/x', None),
        ('acme/x\n.git', None),
    ],
)
def test_split_repository(text: str, expected: tuple[str, str] | None) -> None:
    assert split_repository(text) == expected


def test_links_only_count_on_the_api_host() -> None:
    options = _options()
    links = {
        'a': 'https://www.github.com/acme/one',
        'b': 'https://ghe.example.com/acme/two',
        'c': 'ssh://github.com/acme/three',
        'd': 'https://github.com/acme',
    }

    assert resolve(options, links) == Target('acme', 'one', link_key='a')


def test_nothing_linked() -> None:
    found = resolve(_options(), {})

    assert isinstance(found, Unresolved)
    assert found.status == 'skipped'
