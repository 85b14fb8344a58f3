"""Fixtures: served SonarQube and Imbi API stand-ins, tokens, the host."""

import collections.abc
import pathlib
import sys
import typing

import pytest
from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.fakes.imbi_api import ImbiApiFake
from imbi_plugin_testing.fakes.sonarqube import SonarQubeFake
from imbi_plugin_testing.standin import serve_app
from starlette.types import ASGIApp, Receive, Scope, Send

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from sonarqube_helpers import KEY, ORG, PROJECT_ID, STYLES, Tokens, World


@pytest.fixture(autouse=True)
def _no_secret_leaks(secret_scan: SecretScan) -> SecretScan:
    """Every test runs under the secret scan (tokens registered below)."""
    return secret_scan


@pytest.fixture
def sonarqube() -> SonarQubeFake:
    fake = SonarQubeFake()
    fake.add_project(KEY, 'Billing API')
    fake.set_measures(
        KEY,
        coverage='87.4',
        bugs='3',
        ncloc='5230',
        reliability_rating='1.0',
        security_rating='2.0',
        alert_status='OK',
        sqale_index='125',
        gate='OK',
        period={'new_coverage': '91.0', 'new_bugs': '0'},
    )
    fake.set_measures(
        KEY,
        branch='release',
        coverage='80.0',
        bugs='5',
        ncloc='5100',
        reliability_rating='3.0',
        security_rating='1.0',
        alert_status='ERROR',
        gate='ERROR',
        period={'new_coverage': '40.0'},
    )
    fake.set_measures(
        KEY, pull_request='42', coverage='50.0', bugs='9', gate='ERROR'
    )
    return fake


@pytest.fixture
def imbi() -> ImbiApiFake:
    fake = ImbiApiFake()
    fake.add_project(ORG, PROJECT_ID, name='Billing API', slug='billing-api')
    return fake


class _Slot:
    """An ASGI app that forwards to whichever stand-in the test set.

    Served once per session: starting and stopping uvicorn for every
    test would cost more than the tests themselves.
    """

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send
    ) -> None:
        assert self.app is not None, 'no stand-in for this request'
        await self.app(scope, receive, send)


@pytest.fixture(scope='session')
def _served() -> collections.abc.Iterator[tuple[_Slot, str, _Slot, str]]:
    sonar, imbi = _Slot(), _Slot()
    with serve_app(sonar) as sonar_url, serve_app(imbi) as imbi_url:
        # localhost, not 127.0.0.1: never a prefix of the SonarQube URL.
        yield (
            sonar,
            sonar_url,
            imbi,
            imbi_url.replace('127.0.0.1', 'localhost'),
        )


@pytest.fixture
def sonar_url(
    _served: tuple[_Slot, str, _Slot, str], sonarqube: SonarQubeFake
) -> collections.abc.Iterator[str]:
    _served[0].app = sonarqube.app
    yield _served[1]
    _served[0].app = None


@pytest.fixture
def imbi_url(
    _served: tuple[_Slot, str, _Slot, str], imbi: ImbiApiFake
) -> collections.abc.Iterator[str]:
    _served[2].app = imbi.app
    yield _served[3]
    _served[2].app = None


@pytest.fixture
def tokens(
    sonarqube: SonarQubeFake, imbi: ImbiApiFake, secret_scan: SecretScan
) -> Tokens:
    made = Tokens(sonarqube.issue_token('imbi'), imbi.issue_api_key())
    secret_scan.add(made.api_token, made.imbi_api_key)
    return made


@pytest.fixture
def world(
    sonarqube: SonarQubeFake,
    imbi: ImbiApiFake,
    sonar_url: str,
    imbi_url: str,
    tokens: Tokens,
    secret_scan: SecretScan,
) -> World:
    return World(sonarqube, imbi, sonar_url, imbi_url, tokens, secret_scan)


@pytest.fixture(params=STYLES)
def style(request: pytest.FixtureRequest) -> str:
    return typing.cast(str, request.param)
