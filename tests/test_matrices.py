"""Every installed plugin against the same contract, faults and bad input.

Profiles (imbi_plugin_testing.profiles.<slug>) say how to drive each
plugin; these tests hold every plugin to the same cases. Each fault case
ends in the documented outcome inside the host's 10 s limit; each bad
input is refused with a useful message and no upstream request.
"""

import collections.abc
import os
import socket
import time
import typing

import pytest
from imbi_plugin_testing.contract import check_plugin_contract_async
from imbi_plugin_testing.firstparty import first_party
from imbi_plugin_testing.host import HOST_TIMEOUT_SECONDS
from imbi_plugin_testing.profiles import (
    FAULTS,
    MATRIX_BUDGET_SECONDS,
    BadInput,
    Profile,
    UpstreamCall,
    outcome,
    profile_for,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Profiles are named after the v1 slug, on either generation.
SLUGS = [plugin.slug_v1 for plugin in first_party()]
PROFILES = {
    slug: made for slug in SLUGS if (made := profile_for(slug)) is not None
}


def _cases() -> collections.abc.Iterator[typing.Any]:
    for slug, made in PROFILES.items():
        for call in made.calls:
            for fault in FAULTS:
                yield pytest.param(
                    made, call, fault, id=f'{slug}-{call.name}-{fault}'
                )


def _bad_inputs() -> collections.abc.Iterator[typing.Any]:
    for slug, made in PROFILES.items():
        for bad in made.bad_inputs:
            yield pytest.param(made, bad, id=f'{slug}-{bad.name}')


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return f'http://127.0.0.1:{port}'


def test_every_plugin_has_a_profile() -> None:
    assert sorted(PROFILES) == SLUGS


@pytest.mark.parametrize('slug', sorted(PROFILES))
async def test_contract(slug: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # README paths are relative to the repository
    await check_plugin_contract_async(PROFILES[slug].contract())


@pytest.mark.parametrize(('profile', 'call', 'fault'), list(_cases()))
async def test_fault(profile: Profile, call: UpstreamCall, fault: str) -> None:
    expected = call.expected(fault)
    budget = 1 if fault == 'stall' else MATRIX_BUDGET_SECONDS
    with profile.serving() as (fake, url):
        target = _closed_port_url() if fault == 'refused' else url
        host = profile.make_host(fake, target, budget)
        injected = profile.fault(fault, call.target)
        if injected is not None:
            fake.inject(injected)
        started = time.monotonic()
        result = await call.run(host)
        elapsed = time.monotonic() - started
    assert outcome(result) == expected, getattr(result, 'body', result)
    assert elapsed < HOST_TIMEOUT_SECONDS
    if fault == 'stall':
        assert elapsed < budget + 1, f'{elapsed:.2f}s for a {budget}s budget'


@pytest.mark.parametrize(('profile', 'bad'), list(_bad_inputs()))
async def test_bad_input(profile: Profile, bad: BadInput) -> None:
    with profile.serving() as (fake, url):
        host = profile.make_host(fake, url, MATRIX_BUDGET_SECONDS)
        before = len(fake.requests)
        result = await bad.run(host)
        sent = fake.requests[before:]
    assert outcome(result) == bad.error, getattr(result, 'body', result)
    detail = str(
        getattr(result, 'error', None) or getattr(result, 'message', '')
    )
    assert bad.message in detail
    assert sent == [], [r.url_text for r in sent]
