"""Every plugin against hostile upstream data (imbi_plugin_testing.hostile).

Each plugin's first upstream call meets every case at a small and at the
largest legal size: it must end inside its budget with a result or a
clear error, and the longest event-loop stall it causes must stay short
and must not grow with the input (work on upstream text that runs on the
loop blocks every other request of the host, and no timeout stops it).
"""

import collections.abc
import importlib.metadata
import time
import typing

import pytest
from imbi_plugin_testing import hostile
from imbi_plugin_testing.host import HOST_TIMEOUT_SECONDS
from imbi_plugin_testing.profiles import (
    MATRIX_BUDGET_SECONDS,
    Profile,
    outcome,
    profile_for,
)
from imbi_plugin_testing.stall import StallMeter, watchdog

PROFILES = {
    ep.name: made
    for ep in importlib.metadata.entry_points(group='imbi.plugins')
    if ep.dist is not None
    and ep.dist.name.startswith('imbi-plugin-')
    and (made := profile_for(ep.name)) is not None
}

#: What a call may end in: an answer, or the upstream named unusable.
CLEAR = {'ok', 'completed', 'skipped', 'PluginUnavailableError'}
#: A stall this long at the largest size fails whatever the baseline.
MAX_STALL_SECONDS = 1.0
#: Below this a stall is scheduling noise on a loaded machine.
NOISE_SECONDS = 0.25
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
