"""Fixtures: the CloudWatch Logs/STS stand-in served on 127.0.0.1, its
keys registered with the secret scan, and ``cw``: helpers that point a
Host at it. (Test modules cannot import each other under pytest's
importlib mode, so shared helpers travel as the ``cw`` fixture.)"""

import collections.abc
import dataclasses
import datetime
import typing

import pytest
from imbi_plugin_cloudwatch._host import LogQuery
from imbi_plugin_testing import Host, SecretScan
from imbi_plugin_testing.fakes.cloudwatch import CloudWatchFake, Key
from imbi_plugin_testing.generation import plugin_under_test

GROUP = '/aweber/billing-api'
#: A fixed "now" for searches: cursors are bound to the time range.
END = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)


@dataclasses.dataclass
class CloudWatchEnv:
    fake: CloudWatchFake
    key: Key
    url: str
    group: str = GROUP
    end: datetime.datetime = END
    start: datetime.datetime = END - datetime.timedelta(minutes=30)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)

    def at(self, seconds_before_end: float) -> int:
        """Epoch ms ``seconds_before_end`` before ``end``."""
        return self.end_ms - int(seconds_before_end * 1000)

    def credentials(self, key: Key | None = None) -> dict[str, str]:
        key = key or self.key
        values = {
            'access_key_id': key.access_key_id,
            'secret_access_key': key.secret_access_key,
        }
        if key.session_token:
            values['session_token'] = key.session_token
        return values

    def options(self, **extra: typing.Any) -> dict[str, typing.Any]:
        return {
            'region': 'us-east-1',
            'endpoint_url': self.url,
            'sts_endpoint_url': self.url,
            **extra,
        }

    def host(
        self,
        credentials: dict[str, str] | None = None,
        **extra: typing.Any,
    ) -> Host:
        return Host(
            plugin_under_test('imbi_plugin_cloudwatch'),
            plugin_options=self.options(**extra),
            credentials=self.credentials()
            if credentials is None
            else credentials,
            # Not a secret (v3 declares it secret=False): it names a mode.
            public_credentials=('auth_mode',),
        )

    def query(self, **fields: typing.Any) -> LogQuery:
        fields.setdefault('start', self.start)
        fields.setdefault('end', self.end)
        return Host.log_query(**fields)

    def put(
        self, seconds_before_end: float, message: str | dict[str, typing.Any]
    ) -> None:
        self.fake.put(
            self.group, 'web-1', self.at(seconds_before_end), message
        )


def _start_from_head_in_model() -> bool:
    from imbi_plugin_cloudwatch import client

    return client.filter_sorts_newest_first()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        'markers',
        'filter_log_events: needs the FilterLogEvents path, which a '
        'botocore older than 1.44.0 (no startFromHead) never takes',
    )


@pytest.fixture(autouse=True)
def _filter_path_available(request: pytest.FixtureRequest) -> None:
    """On a botocore without ``startFromHead`` (the compat session's
    boto3 floor run) searches go to Logs Insights: tests of the
    FilterLogEvents path do not apply there (test_older_botocore covers
    what happens instead)."""
    if (
        request.node.get_closest_marker('filter_log_events')
        and not _start_from_head_in_model()
    ):
        pytest.skip('this botocore has no FilterLogEvents startFromHead')


@pytest.fixture
def fake() -> CloudWatchFake:
    stand_in = CloudWatchFake()
    stand_in.add_group(GROUP)
    # Answer at once: the Insights life cycle has tests of its own.
    stand_in.polls_scheduled = 0
    stand_in.polls_running = 0
    return stand_in


@pytest.fixture
def cw(fake: CloudWatchFake) -> collections.abc.Iterator[CloudWatchEnv]:
    key = fake.add_key()
    with fake.serve() as url:
        yield CloudWatchEnv(fake=fake, key=key, url=url)


@pytest.fixture(autouse=True)
def _scan_secrets(
    secret_scan: SecretScan, fake: CloudWatchFake
) -> collections.abc.Iterator[None]:
    """Every key the stand-in knows (assumed roles too) must not leak."""
    yield
    for known in fake.keys.values():
        secret_scan.add(
            known.access_key_id,
            known.secret_access_key,
            known.session_token,
        )
