"""Matrix profile of the archiver plugin (lifecycle, GitHub repositories).

The stand-in holds three repositories of ``acme``, whose admin ``alice``
owns the token: ``billing-api`` (active: archived in place or moved to
``acme-archive`` first), ``ledger`` (archived: unarchived in place) and
``reports``, already moved to ``acme-archive`` and archived, whose old
address redirects (unarchived and moved back). Calls go through
``Host.lifecycle`` as imbi-api dispatches the events; a raised exception
is the host's ``failed: <Type>: ...`` result, which ``outcome()`` names.
"""

import pathlib
import typing

from imbi_plugin_testing.contract import ContractSpec
from imbi_plugin_testing.fakes.github import GitHubFake
from imbi_plugin_testing.fakes.github.core import DOCS, RATE_LIMIT_DOCS
from imbi_plugin_testing.fakes.github.repos import (
    ADMIN_REQUIRED,
    move_repository,
    settings,
)
from imbi_plugin_testing.host import Host
from imbi_plugin_testing.profiles import BadInput, Profile, UpstreamCall
from imbi_plugin_testing.standin import Fault, StandIn

LINK = 'github-repository'
ADMIN = 'alice'
ARCHIVE_OWNER = 'acme-archive'


def _fake() -> StandIn:
    fake = GitHubFake()
    fake.add_user(ADMIN, orgs=['acme', ARCHIVE_OWNER])
    fake.issue_token(ADMIN, ['repo'])
    admins = {ADMIN: 'admin'}
    fake.add_repository('acme', 'billing-api', collaborators=dict(admins))
    fake.add_repository(
        'acme', 'ledger', archived=True, collaborators=dict(admins)
    )
    reports = fake.add_repository(
        'acme', 'reports', archived=True, collaborators=dict(admins)
    )
    move_repository(fake, reports, owner=ARCHIVE_OWNER)
    # Transfers complete after a 202, as on GitHub: the plugin polls.
    settings(fake).transfer_delay = 0.2
    return fake


def _token(fake: StandIn) -> str:
    assert isinstance(fake, GitHubFake)  # noqa: S101 - made by _fake
    return next(t.value for t in fake.tokens.values() if t.user_login == ADMIN)


def _links(api_url: str, full_name: str) -> dict[str, str]:
    # The stand-in serves the REST API at its root (github.com shape),
    # and the plugin takes that host as the web host of project links.
    return {LINK: f'{api_url}/{full_name}'}


def _host(fake: StandIn, url: str, budget: int) -> Host:
    from imbi_plugin_testing.generation import plugin_under_test

    ArchiverPlugin = plugin_under_test('imbi_plugin_archiver')

    return Host(
        ArchiverPlugin,
        plugin_options={'api_url': url, 'timeout_seconds': budget},
        credentials={'token': _token(fake)},
        project={'project_links': _links(url, 'acme/billing-api')},
    )


def _with(host: Host, **options: str) -> Host:
    host.project_options.update(options)
    return host


def _linked(host: Host, full_name: str) -> Host:
    """The project linked to ``full_name`` on the host's GitHub."""
    url = host.options()['api_url']
    host.project['project_links'] = _links(url, full_name)
    return host


def _contract() -> ContractSpec:
    from imbi_plugin_testing.generation import plugin_under_test

    ArchiverPlugin = plugin_under_test('imbi_plugin_archiver')

    return ContractSpec(
        plugin=ArchiverPlugin,
        readme=pathlib.Path('packages/archiver/README.md'),
        credentials={'token': 'ghp_contract0000000000000000000000000'},
        options=lambda url: {
            'api_url': url,
            'repository': 'acme/billing-api',
        },
        call=lambda plugin, ctx, creds: plugin.on_project_archived(ctx, creds),
        context_kind='lifecycle',
        missing_credentials=[{}, {'token': ''}, {'access_token': ''}],
    )


#: The issue's result table wins over the policy table (issue 10): a
#: repository GitHub answers 404 for is gone or invisible to the token,
#: nothing to act on -> ``skipped``; a 403 (no admin rights, "Resource
#: not accessible by integration", SSO) is a refusal the operator acts
#: on -> a returned ``failed`` result naming the permission, not an
#: exception. 401 still raises PluginAuthenticationFailed (so the host
#: can refresh a bound identity), unavailability and the budget raise.
_LIFECYCLE = {'404': 'skipped', '403': 'failed'}


def _calls() -> list[UpstreamCall]:
    return [
        UpstreamCall(
            'on_project_archived',
            lambda h: h.lifecycle('archived'),
            dict(_LIFECYCLE),
        ),
        UpstreamCall(
            'on_project_unarchived',
            lambda h: _linked(h, 'acme/ledger').lifecycle('unarchived'),
            dict(_LIFECYCLE),
        ),
        # With archive_owner: transfer (202, polled) then archive ...
        UpstreamCall(
            'on_project_archived-archive_owner',
            lambda h: _with(h, archive_owner=ARCHIVE_OWNER).lifecycle(
                'archived'
            ),
            dict(_LIFECYCLE),
        ),
        # ... and unarchive through the old address (301), then move back.
        UpstreamCall(
            'on_project_unarchived-archive_owner',
            lambda h: _linked(
                _with(h, archive_owner=ARCHIVE_OWNER), 'acme/reports'
            ).lifecycle('unarchived'),
            dict(_LIFECYCLE),
        ),
        # Faults at a later step: the archive write itself ...
        # A 404 after the repository was just read is not "gone": the
        # result is failed, saying what was and was not done.
        UpstreamCall(
            'on_project_archived-patch_step',
            lambda h: h.lifecycle('archived'),
            {**_LIFECYCLE, '404': 'failed'},
            target=Fault(method='PATCH'),
        ),
        # ... and the transfer to archive_owner after a good read.
        UpstreamCall(
            'on_project_archived-transfer_step',
            lambda h: _with(h, archive_owner=ARCHIVE_OWNER).lifecycle(
                'archived'
            ),
            {**_LIFECYCLE, '404': 'failed'},
            target=Fault(path=r'/transfer$', method='POST'),
        ),
    ]


def _bad(
    name: str,
    options: dict[str, str],
    message: str,
    links: dict[str, str] | None = None,
    event: typing.Literal['archived', 'unarchived'] = 'archived',
) -> BadInput:
    """An input the plugin answers with a ``failed`` result, unsent.

    A lifecycle plugin reports what the operator must fix as a result
    (README: "an invalid value gives a `failed` result naming the
    option, and no request is made").
    """

    async def run(host: Host) -> typing.Any:
        _with(host, **options)
        if links is not None:
            url = host.plugin_options['api_url']
            host.project['project_links'] = {
                key: link.replace('URL', url) for key, link in links.items()
            }
        return await host.lifecycle(event)

    return BadInput(name, run, 'failed', message)


def _bad_inputs() -> list[BadInput]:
    return [
        _bad(
            'repository not owner/name',
            {'repository': 'billing-api'},
            "option 'repository' must be owner/name",
        ),
        _bad(
            'repository with a ../ segment',
            {'repository': 'acme/../admin/billing-api'},
            "option 'repository' must be owner/name",
        ),
        _bad(
            'repository with a newline',
            {'repository': 'acme\n/billing-api'},
            "option 'repository' must be owner/name",
        ),
        _bad(
            'repository with quotes, braces and backticks',
            {'repository': 'acme/"{billing}`api`'},
            "option 'repository' must be owner/name",
            event='unarchived',
        ),
        _bad(
            'archive_owner with a newline',
            {'archive_owner': 'acme\narchive'},
            "option 'archive_owner' must be a GitHub organization login",
        ),
        _bad(
            'archive_owner shaped like JSON',
            {'archive_owner': 'acme", "new_name": "x'},
            "option 'archive_owner' must be a GitHub organization login",
        ),
        _bad(
            'non-numeric timeout_seconds',
            {'timeout_seconds': 'ten'},
            "option 'timeout_seconds' must be a whole number",
        ),
        _bad(
            'timeout_seconds beyond the limit',
            {'timeout_seconds': '301'},
            'from 1 to 300',
        ),
        _bad(
            'api_url without a scheme',
            {'api_url': 'api.github.com/'},
            "option 'api_url' must be an http(s) URL",
        ),
        _bad(
            'api_url with a port that is not a number',
            {'api_url': 'https://github.example.com:ghes/api/v3'},
            "option 'api_url' must be an http(s) URL",
        ),
        _bad(
            'api_url with an unclosed IPv6 bracket',
            {'api_url': 'https://[::1/api/v3'},
            "option 'api_url' must be an http(s) URL",
        ),
        _bad(
            'api_url with credentials',
            {'api_url': 'https://user:pass@api.github.com'},
            "option 'api_url' must be an http(s) URL",
        ),
        _bad(
            'several candidate links',
            {},
            "set the 'repository' option",
            links={
                'source': 'URL/acme/billing-api',
                'docs': 'URL/acme/ledger/tree/main',
            },
        ),
        _bad(
            'github-repository link with an encoded newline',
            {},
            'is not a repository URL',
            links={LINK: 'URL/acme%0A/billing-api'},
        ),
        _bad(
            'github-repository link with a ../ segment',
            {},
            'is not a repository URL',
            links={LINK: 'URL/../acme/billing-api'},
        ),
    ]


def profile() -> Profile:
    return Profile(
        slug='archiver',
        folder='archiver',
        make_fake=_fake,
        make_host=_host,
        calls=_calls(),
        bad_inputs=_bad_inputs(),
        contract=_contract,
        error_bodies=_error_bodies(),
    )


def _error_bodies() -> dict[str, Fault]:
    """GitHub's own error shapes (docs/upstreams/github.md, the stand-in).

    4xx answers carry the rate-limit headers with quota left, as GitHub's
    do, so a 403 or 429 is told apart from an exhausted primary limit by
    its message (the 429 is the secondary limit, with Retry-After: 1).
    """
    headers = {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '4999',
        'x-ratelimit-used': '1',
        'x-ratelimit-resource': 'core',
    }
    return {
        '401': Fault(
            body={'message': 'Bad credentials', 'documentation_url': DOCS},
        ),
        '403': Fault(
            body={'message': ADMIN_REQUIRED, 'documentation_url': DOCS},
            headers=headers,
        ),
        '404': Fault(
            body={'message': 'Not Found', 'documentation_url': DOCS},
            headers=headers,
        ),
        '429': Fault(
            body={
                'message': 'You have exceeded a secondary rate limit. '
                'Please wait a few minutes before you try again.',
                'documentation_url': RATE_LIMIT_DOCS,
            },
            headers=headers,
        ),
        '500': Fault(body={'message': 'Server Error'}),
        '503': Fault(
            body={
                'message': 'Service Unavailable',
                'documentation_url': DOCS,
            },
        ),
    }
