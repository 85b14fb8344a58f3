"""Fixtures: a served GitHub stand-in with one repository and its admin."""

import collections.abc
import dataclasses
import typing

import httpx
import jwt
import pydantic
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from imbi_plugin_archiver._host import PluginContext
from imbi_plugin_testing import _host as testing_host
from imbi_plugin_testing.fakes.github import GitHubFake, Repository
from imbi_plugin_testing.fakes.github.repos import settings
from imbi_plugin_testing.generation import (
    handler_under_test,
    plugin_under_test,
)
from imbi_plugin_testing.host import Host
from imbi_plugin_testing.secrets import SecretScan

LINK = 'github-repository'
MODULE = 'imbi_plugin_archiver'


@dataclasses.dataclass
class World:
    """The stand-in, its URL and the admin's token."""

    fake: GitHubFake
    url: str
    token: str
    repo: Repository
    scan: SecretScan

    def link(self, full_name: str = 'acme/billing-api') -> dict[str, str]:
        return {LINK: f'{self.url}/{full_name}'}

    def host(
        self,
        options: dict[str, typing.Any] | None = None,
        credentials: dict[str, str] | None = None,
        **fields: typing.Any,
    ) -> Host:
        return Host(
            plugin_under_test(MODULE),
            plugin_options={'api_url': self.url, **(options or {})},
            credentials={'token': self.token}
            if credentials is None
            else credentials,
            # A GitHub App's ID is public (GitHub's own installation
            # objects carry it; secret=False on v3): messages may name it.
            **{'public_credentials': ('app_id',), **fields},
        )

    async def archive(
        self,
        links: dict[str, str] | None = None,
        **host_fields: typing.Any,
    ) -> typing.Any:
        host = self.host(**host_fields)
        return await host.lifecycle(
            'archived', project_links=self.link() if links is None else links
        )

    async def unarchive(
        self,
        links: dict[str, str] | None = None,
        **host_fields: typing.Any,
    ) -> typing.Any:
        host = self.host(**host_fields)
        return await host.lifecycle(
            'unarchived',
            project_links=self.link() if links is None else links,
        )

    async def call(
        self,
        event: str = 'archived',
        credentials: dict[str, str] | None = None,
        options: dict[str, typing.Any] | None = None,
    ) -> typing.Any:
        """The hook called directly, as a host would: exceptions raise.

        For credentials the host model refuses before the plugin (a v1
        host passes only a token or a bound identity).
        """
        host = self.host(options, credentials)
        ctx = host.context('lifecycle', project_links=self.link())
        hook = getattr(handler_under_test(MODULE)(), f'on_project_{event}')
        try:
            return await hook(ctx, host.credentials)
        except Exception as exc:
            # What a host would log or report: the secret scan reads it.
            self.scan.record_exception(exc)
            raise

    def calls(self) -> list[str]:
        """Method and path of every request the stand-in received."""
        return [f'{r.method} {r.path}' for r in self.fake.requests]

    def new_token(self, login: str = 'alice', **fields: typing.Any) -> str:
        scopes = fields.pop('scopes', ['repo'])
        token = self.fake.issue_token(login, scopes, **fields).value
        self.scan.add(token)
        return token


@pytest.fixture(autouse=True)
def _secrets(secret_scan: SecretScan) -> SecretScan:
    """Every test runs under the secret scan."""
    return secret_scan


@pytest.fixture
def world(secret_scan: SecretScan) -> collections.abc.Iterator[World]:
    fake = GitHubFake()
    fake.add_user('alice', orgs=['acme', 'acme-archive'])
    fake.add_user('bob', orgs=['acme'])
    token = fake.issue_token('alice', ['repo']).value
    secret_scan.add(token)
    repo = fake.add_repository(
        'acme',
        'billing-api',
        collaborators={'alice': 'admin', 'bob': 'write'},
    )
    settings(fake).transfer_delay = 0.0
    with fake.serve() as url:
        yield World(fake, url, token, repo, secret_scan)


class _LinkWriteback(pydantic.BaseModel):
    """imbi-common 2.11's LinkWriteback, for hosts older than that."""

    link_key: str
    new_url: str
    old_owner_repo: str | None = None
    new_owner_repo: str | None = None


class _HealingContext(PluginContext):
    link_writeback: _LinkWriteback | None = None


Healing = collections.abc.Callable[[Host, dict[str, str]], PluginContext]


@pytest.fixture
def healing(monkeypatch: pytest.MonkeyPatch) -> Healing:
    """Build a ctx with ``link_writeback``: 2.11's, else a stand-in model."""

    def build(host: Host, links: dict[str, str]) -> PluginContext:
        ctx = host.context('lifecycle', project_links=links)
        if 'link_writeback' in PluginContext.model_fields:
            return ctx
        monkeypatch.setattr(
            testing_host.api().base,
            'LinkWriteback',
            _LinkWriteback,
            raising=False,
        )
        return _HealingContext(**ctx.model_dump())

    return build


APP_ID = 424242
INSTALLATION = 9001
BOT = 'imbi-archiver[bot]'


def pem_of(key: typing.Any) -> str:
    return typing.cast(
        bytes,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
    ).decode()


@pytest.fixture(scope='module')
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclasses.dataclass
class GitHubApp:
    """respx routes of GitHub's App endpoints and what they saw."""

    world: World
    key: rsa.RSAPrivateKey
    app_id: int
    installation_id: int
    pem: str
    router: respx.MockRouter
    installation: respx.Route
    #: The lookup where GitHub redirects it for a renamed or
    #: transferred repository (``/repositories/{id}/installation``).
    moved_installation: respx.Route
    access_tokens: respx.Route
    issued: list[str] = dataclasses.field(default_factory=list)

    @property
    def credentials(self) -> dict[str, str]:
        return {'app_id': str(self.app_id), 'private_key': self.pem}

    def jwts(self) -> list[str]:
        """The JWT each App request carried."""
        sent = []
        for route in (
            self.installation,
            self.moved_installation,
            self.access_tokens,
        ):
            for call in route.calls:
                auth = call.request.headers['authorization']
                sent.append(auth.removeprefix('Bearer '))
        return sent

    def claims(self) -> dict[str, typing.Any]:
        (first, *_) = self.jwts()
        header = jwt.get_unverified_header(first)
        assert header['alg'] == 'RS256'
        return jwt.decode(
            first,
            self.key.public_key(),
            algorithms=['RS256'],
            options={'verify_iat': False},
        )


@pytest.fixture
def github_app(
    world: World, rsa_key: rsa.RSAPrivateKey, secret_scan: SecretScan
) -> collections.abc.Iterator[GitHubApp]:
    pem = pem_of(rsa_key)
    secret_scan.add(pem)
    # The stand-in checks any token's rights through its user's role on
    # the repository; the App's bot stands in as an admin collaborator.
    world.repo.collaborators[BOT] = 'admin'
    answer = {
        'id': INSTALLATION,
        'app_id': APP_ID,
        'account': {'login': 'acme'},
    }
    with respx.mock(assert_all_called=False) as router:
        installation = router.get(
            f'{world.url}/repos/acme/billing-api/installation'
        ).respond(200, json=answer)
        moved = router.get(
            f'{world.url}/repositories/{world.repo.id}/installation'
        ).respond(200, json=answer)
        found = GitHubApp(
            world,
            rsa_key,
            APP_ID,
            INSTALLATION,
            pem,
            router,
            installation,
            moved,
            installation,
        )

        def create(request: httpx.Request) -> httpx.Response:
            token = world.fake.issue_token(
                BOT,
                prefix='ghs_',
                kind='installation',
                permissions={'administration': 'write', 'metadata': 'read'},
            ).value
            secret_scan.add(token)
            found.issued.append(token)
            return httpx.Response(
                201,
                json={
                    'token': token,
                    'expires_at': '2030-01-01T00:00:00Z',
                    'permissions': {'administration': 'write'},
                    'repository_selection': 'all',
                },
            )

        found.access_tokens = router.post(
            f'{world.url}/app/installations/{INSTALLATION}/access_tokens'
        ).mock(side_effect=create)
        router.route().pass_through()
        yield found
    for sent in found.jwts():
        secret_scan.add(sent)
