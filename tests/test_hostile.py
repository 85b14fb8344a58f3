"""Every plugin against hostile upstream data (imbi_plugin_testing.hostile).

Each plugin's first upstream call meets every case at a small and at the
largest legal size: it must end inside its budget with a result or a
clear error, and the longest event-loop stall it causes must stay short
and must not grow with the input (work on upstream text that runs on the
loop blocks every other request of the host, and no timeout stops it).

An answer over a plugin's documented cap on one response (its
``MAX_RESPONSE_BYTES``) ends in a ``PluginUnavailableError`` naming the
cap, and the call's peak memory (tracemalloc, the stand-in included)
stays within a few times the cap whatever the answer's size.
"""

import collections.abc
import importlib
import time
import tracemalloc
import typing

import pytest
from imbi_plugin_testing import hostile
from imbi_plugin_testing.firstparty import first_party
from imbi_plugin_testing.host import HOST_TIMEOUT_SECONDS
from imbi_plugin_testing.profiles import (
    MATRIX_BUDGET_SECONDS,
    Profile,
    outcome,
    profile_for,
)
from imbi_plugin_testing.stall import StallMeter, watchdog

#: Profiles are named after the v1 slug, on either generation.
PROFILES = {
    plugin.slug_v1: made
    for plugin in first_party()
    if (made := profile_for(plugin.slug_v1)) is not None
}

#: Where each plugin keeps its cap on one answer. cloudwatch has none:
#: botocore reads each answer whole and AWS bounds them (its README).
CAPS = {
    'archiver': 'imbi_plugin_archiver.client',
    'github-actions': 'imbi_plugin_github_actions.client',
    'github': 'imbi_plugin_github_identity.client',
    'loki': 'imbi_plugin_loki.client',
    'sonarqube': 'imbi_plugin_sonarqube_sync.client',
    'vault': 'imbi_plugin_vault.transport',
}
#: How much memory a call over the cap may take, in caps.
MEMORY_CAPS = 4

#: What a call may end in: an answer, or the upstream named unusable.
CLEAR = {'ok', 'completed', 'skipped', 'PluginUnavailableError'}
#: A stall this long at the largest size fails whatever the baseline.
MAX_STALL_SECONDS = 1.0
#: Below this a stall is not held to the growth rule: reading a largest-
#: size answer (megabytes of escaped text) is linear work, and its time
#: on this 2-core machine varies with load and coverage tracing (0.05 to
#: 0.37 s seen for the same case). What the rule is for, work that grows
#: faster than the input (a backtracking pattern), takes far longer at
#: 64 times the input and still fails here or at MAX_STALL_SECONDS.
NOISE_SECONDS = 0.5
#: How much longer than at the small size a stall may be at the large.
GROWTH = 4.0


def _cases() -> collections.abc.Iterator[typing.Any]:
    for slug, made in PROFILES.items():
        for case in hostile.CASES:
            yield pytest.param(made, case, id=f'{slug}-{case}')


async def _run(profile: Profile, case: str, size: int) -> tuple[str, float]:
    """The outcome and the longest stall of one call; asserts the budget."""
    call = profile.calls[0]
    with profile.serving() as (fake, url):
        host = profile.make_host(fake, url, MATRIX_BUDGET_SECONDS)
        fake.inject(hostile.fault(case, size))
        started = time.monotonic()
        # A runaway regular expression holds the loop: only a signal
        # ends it, and the call then reports LoopStalled.
        with watchdog(HOST_TIMEOUT_SECONDS + 5):
            async with StallMeter() as meter:
                result = await call.run(host)
        elapsed = time.monotonic() - started
    ended = outcome(result)
    detail = getattr(result, 'body', None) or getattr(result, 'message', '')
    assert ended in CLEAR, f'{case} at {size}: {ended} {detail}'
    assert elapsed < MATRIX_BUDGET_SECONDS + 1, (
        f'{case} at {size}: {elapsed:.2f}s, the loop stalled up to '
        f'{meter.longest:.2f}s'
    )
    return ended, meter.longest


@pytest.mark.parametrize(('profile', 'case'), list(_cases()))
async def test_hostile_upstream(profile: Profile, case: str) -> None:
    if not hostile.CASES[case]:
        _, stall = await _run(profile, case, hostile.LARGE)
        assert stall < MAX_STALL_SECONDS, f'loop stalled {stall:.2f}s'
        return
    _, small = await _run(profile, case, hostile.SMALL)
    _, large = await _run(profile, case, hostile.LARGE)
    assert large < MAX_STALL_SECONDS, (
        f'loop stalled {large:.2f}s at {hostile.LARGE} characters'
    )
    assert large < NOISE_SECONDS or large < GROWTH * small, (
        f'the stall grows with the input: {small:.3f}s at '
        f'{hostile.SMALL}, {large:.3f}s at {hostile.LARGE}'
    )


def _capped() -> collections.abc.Iterator[typing.Any]:
    for slug, made in PROFILES.items():
        if slug in CAPS:
            cap = importlib.import_module(CAPS[slug]).MAX_RESPONSE_BYTES
            yield pytest.param(made, cap, id=slug)


@pytest.mark.parametrize(('profile', 'cap'), list(_capped()))
async def test_an_answer_over_the_cap_is_refused_in_bounded_memory(
    profile: Profile, cap: int
) -> None:
    call = profile.calls[0]
    with profile.serving() as (fake, url):
        # Memory, not time, is measured here: tracemalloc slows every
        # allocation, so the budget is the host's, not the matrix's.
        host = profile.make_host(fake, url, int(HOST_TIMEOUT_SECONDS))
        fake.inject(hostile.oversized(2 * cap))
        tracemalloc.start()
        try:
            result = await call.run(host)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    detail = ' '.join(
        str(part)[:500]
        for part in (
            getattr(result, 'error', None),
            getattr(result, 'body', None),
            getattr(result, 'message', None),
        )
        if part
    )
    assert outcome(result) == 'PluginUnavailableError', detail
    assert f'{cap // 2**20} MiB' in detail, detail
    assert peak < MEMORY_CAPS * cap, (
        f'peak {peak / 2**20:.1f} MiB for a cap of {cap / 2**20:g} MiB'
    )
