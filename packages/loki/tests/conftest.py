"""Fixtures: a served Loki stand-in and a Host pointed at it."""

import collections.abc
import dataclasses
import datetime
import typing
import urllib.parse

import pytest
from imbi_plugin_loki._host import LogQuery
from imbi_plugin_testing import Host, SecretScan
from imbi_plugin_testing.fakes.loki import LokiFake
from imbi_plugin_testing.generation import V3, plugin_under_test

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)
NOW_NS = int(NOW.timestamp()) * 1_000_000_000
SECOND = 1_000_000_000
TENANT = 'team-a'
USERNAME = '918273'
PASSWORD = 'glc_eyJvIjoiMTIzIiwibiI6InN0YWNr-secret'
TOKEN = 'loki-bearer-0f9e8d7c6b5a4'
STREAM = {'service_name': 'billing-api', 'env': 'production'}


@dataclasses.dataclass
class Loki:
    """The served stand-in plus what a test needs to call the plugin."""

    fake: LokiFake
    url: str
    now: typing.ClassVar[datetime.datetime] = NOW
    now_ns: typing.ClassVar[int] = NOW_NS

    def options(self, **overrides: typing.Any) -> dict[str, typing.Any]:
        options: dict[str, typing.Any] = {
            'url': self.url,
            'tenant': TENANT,
            'timeout_seconds': 3,
        }
        options.update(overrides)
        return {k: v for k, v in options.items() if v is not None}

    def host(
        self,
        credentials: dict[str, str] | None = None,
        **overrides: typing.Any,
    ) -> Host:
        if credentials is None:
            # What an operator stores for an open Loki: nothing on v1;
            # on v3 auth_mode, since v3 hosts refuse an empty blob.
            credentials = {'auth_mode': 'none'} if V3 else {}
        return Host(
            plugin_under_test('imbi_plugin_loki'),
            plugin_options=self.options(**overrides),
            credentials=credentials,
            # Not a secret (v3 declares it secret=False): it names a mode.
            public_credentials=('auth_mode',),
        )

    def push(
        self,
        entries: collections.abc.Iterable[tuple[int, str]],
        tenant: str = TENANT,
        **labels: str,
    ) -> None:
        self.fake.push({**STREAM, **labels}, entries, tenant=tenant)

    @staticmethod
    def query(**fields: typing.Any) -> LogQuery:
        """A LogQuery over the five minutes before NOW, as the host builds."""
        fields.setdefault('start', NOW - datetime.timedelta(minutes=5))
        fields.setdefault('end', NOW)
        return Host.log_query(**fields)

    def queries(self) -> list[dict[str, str]]:
        """Parameters of every query_range request, in order."""
        return [
            dict(urllib.parse.parse_qsl(r.query))
            for r in self.fake.requests_to('/query_range$')
        ]


@pytest.fixture(autouse=True)
def _secrets(secret_scan: SecretScan) -> SecretScan:
    secret_scan.add(PASSWORD, TOKEN)
    return secret_scan


@pytest.fixture(scope='session')
def _served() -> collections.abc.Iterator[Loki]:
    fake = LokiFake()
    with fake.serve() as url:
        yield Loki(fake, url)


@pytest.fixture
def loki(_served: Loki) -> Loki:
    """The served stand-in, emptied for this test; "now" is NOW."""
    _served.fake.reset()
    _served.fake.auth_enabled = True
    _served.fake.now_ns = NOW_NS
    return _served
