"""Fixtures: a served Vault stand-in with a KV v1 and a KV v2 mount."""

import collections.abc
import dataclasses
import time
import typing

import pytest
from imbi_plugin_testing import Host, SecretScan
from imbi_plugin_testing.fakes.vault import VaultFake
from imbi_plugin_testing.generation import plugin_under_test
from imbi_plugin_vault import _host

#: The project folder of the default context (aweber/billing-api).
FOLDER = 'aweber/billing-api'
MOUNTS = {1: 'kv', 2: 'secret'}
#: Requests to KV paths, not the mount lookup every call starts with.
KV_PATHS = r'^/v1/(?!sys/)'
#: What a 429 raises once the budget allows no more retries: the host's
#: PluginRateLimited (v3, and v1 from 2.11), else PluginUnavailableError.
RATE_LIMIT_ERROR: type[Exception] = (
    _host.optional('PluginRateLimited') or _host.PluginUnavailableError
)
#: The entry-point class on v1 hosts, ``PLUGIN`` on v3.
PLUGIN = plugin_under_test('imbi_plugin_vault')


@dataclasses.dataclass
class Vault:
    """The served stand-in plus what a test needs to call the plugin."""

    fake: VaultFake
    url: str
    kv_version: int

    @property
    def mount(self) -> str:
        return MOUNTS[self.kv_version]

    @property
    def token(self) -> str:
        return self.fake.root_token

    def options(self, **overrides: typing.Any) -> dict[str, typing.Any]:
        options: dict[str, typing.Any] = {
            'url': self.url,
            'mount_path': self.mount,
            'kv_version': str(self.kv_version),
            'timeout_seconds': 3,
        }
        options.update(overrides)
        return options

    def host(self, token: str | None = None, **overrides: typing.Any) -> Host:
        return Host(
            PLUGIN,
            plugin_options=self.options(**overrides),
            credentials={'token': token or self.token},
        )

    def put(
        self,
        key: str,
        data: dict[str, typing.Any],
        custom_metadata: dict[str, str] | None = None,
    ) -> None:
        self.fake.put(
            self.mount,
            f'{FOLDER}/{key}',
            data,
            custom_metadata=custom_metadata,
        )

    def put_imbi(self, key: str, value: str, data_type: str) -> None:
        """A key as Imbi writes it."""
        if self.kv_version == 1:
            self.put(key, {'value': value, 'imbi_data_type': data_type})
        else:
            self.put(key, {'value': value}, {'imbi_data_type': data_type})

    def stored(self, key: str) -> dict[str, typing.Any] | None:
        return self.fake.secret(self.mount, f'{FOLDER}/{key}')


def assert_rate_limited(error: object, retry_in: float) -> None:
    """A rate limit as the host's generation expects it.

    Where the host has PluginRateLimited, ``retry_at`` is the epoch
    ``retry_in`` seconds from now.
    """
    assert isinstance(error, RATE_LIMIT_ERROR), repr(error)
    assert 'rate limit' in str(error)
    assert f'retry in {retry_in:.0f} s' in str(error)
    retry_at = getattr(error, 'retry_at', None)
    if _host.optional('PluginRateLimited') is not None:
        assert isinstance(retry_at, float)
        assert abs(retry_at - (time.time() + retry_in)) < 2
    else:
        assert retry_at is None


@pytest.fixture(autouse=True)
def _scan(secret_scan: SecretScan) -> SecretScan:
    """Every test runs under the secret scan."""
    return secret_scan


@pytest.fixture
def secret_value(secret_scan: SecretScan) -> str:
    """A secret value that must never reach logs or errors."""
    value = 'pa55word-of-the-billing-database'
    secret_scan.add(value)
    return value


@pytest.fixture
def fake(secret_scan: SecretScan) -> VaultFake:
    vault = VaultFake()
    vault.mount('kv', 1)
    vault.mount('secret', 2)
    secret_scan.add(vault.root_token)
    return vault


@pytest.fixture
def served(fake: VaultFake) -> collections.abc.Iterator[str]:
    # One server for the whole run (starting uvicorn per test would
    # dominate the suite); each test plugs its own stand-in in.
    with fake.plugged() as url:
        yield url


@pytest.fixture(params=[1, 2], ids=['kv1', 'kv2'])
def vault(
    request: pytest.FixtureRequest, fake: VaultFake, served: str
) -> Vault:
    """The stand-in, once per KV version."""
    return Vault(fake, served, typing.cast(int, request.param))


@pytest.fixture
def vault2(fake: VaultFake, served: str) -> Vault:
    """KV v2 only."""
    return Vault(fake, served, 2)


@pytest.fixture
def vault1(fake: VaultFake, served: str) -> Vault:
    """KV v1 only."""
    return Vault(fake, served, 1)
