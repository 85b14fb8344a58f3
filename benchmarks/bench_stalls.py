"""The longest event-loop stall of each plugin, first call included.

Work on the event loop blocks every other request of the host: importing
boto3 or hvac on a plugin's first call, a regular expression over a long
line, parsing a large body. A stall the watchdog ends is reported as
20 s (at least). Per plugin, in a fresh interpreter (as a
host process starts): its profile's calls against the stand-in, the
first one with its imports, then each hostile-upstream case at the
largest size (imbi_plugin_testing.hostile). Prints and records the worst
stall per plugin and the first call's (target: under 1 s everywhere), and
the peak memory (tracemalloc) of a call meeting the oversized answer (the
stand-in streams it: the peak is the plugin's reading, bounded by its
cap on one answer where it has one).
"""

import asyncio
import importlib.metadata
import json
import os
import pathlib
import subprocess
import sys

from imbi_plugin_testing import hostile

TARGET_SECONDS = 1.0

_CHILD = """
import asyncio, json, sys, tracemalloc
from imbi_plugin_testing import hostile
from imbi_plugin_testing.profiles import MATRIX_BUDGET_SECONDS, profile_for
from imbi_plugin_testing.stall import LoopStalled, StallMeter, watchdog

LIMIT = 20.0

async def measure(profile, call, case):
    meter = StallMeter()
    with profile.serving() as (fake, url):
        host = profile.make_host(fake, url, MATRIX_BUDGET_SECONDS)
        if case is not None:
            fake.inject(hostile.fault(case, hostile.LARGE))
        try:
            with watchdog(LIMIT):
                async with meter:
                    await call.run(host)
        except LoopStalled:
            return LIMIT  # at least: the watchdog ended it
    return meter.longest

async def main(slug):
    profile = profile_for(slug)
    stalls = {}
    for index, call in enumerate(profile.calls):
        stalls[f'{index}:{call.name}'] = await measure(profile, call, None)
    for case in hostile.CASES:
        stalls[f'hostile:{case}'] = await measure(
            profile, profile.calls[0], case)
    # Memory the oversized answer costs the plugin.
    tracemalloc.start()
    await measure(profile, profile.calls[0], 'oversized')
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({'stalls': stalls, 'oversized_peak': peak}))

asyncio.run(main(sys.argv[1]))
"""


def slugs() -> list[str]:
    return sorted(
        ep.name
        for ep in importlib.metadata.entry_points(group='imbi.plugins')
        if ep.dist is not None and ep.dist.name.startswith('imbi-plugin-')
    )


def measure(slug: str) -> tuple[dict[str, float], int] | str:
    done = subprocess.run(
        [sys.executable, '-c', _CHILD, slug],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ['failed'])[-1]
    found = json.loads(done.stdout.splitlines()[-1])
    return found['stalls'], found['oversized_peak']


def main() -> None:
    report: dict[str, object] = {}
    print('longest event-loop stall per plugin (fresh process each)')
    for slug in slugs():
        measured = measure(slug)
        if isinstance(measured, str):
            print(f'  {slug:15} FAILED: {measured}')
            report[slug] = {'error': measured}
            continue
        stalls, peak = measured
        worst_name, worst = max(stalls.items(), key=lambda item: item[1])
        first = next(iter(stalls.values()))
        verdict = 'ok' if worst < TARGET_SECONDS else 'OVER TARGET'
        print(
            f'  {slug:15} worst {worst * 1000:7.1f} ms ({worst_name}), '
            f'first call {first * 1000:7.1f} ms: {verdict}; '
            f'{hostile.OVERSIZED >> 20} MiB answer: peak '
            f'{peak / 2**20:.0f} MiB'
        )
        report[slug] = {
            'worst_ms': round(worst * 1000, 1),
            'worst_at': worst_name,
            'first_call_ms': round(first * 1000, 1),
            'target_ms': TARGET_SECONDS * 1000,
            'all_ms': {k: round(v * 1000, 1) for k, v in stalls.items()},
            'oversized_answer_peak_mib': round(peak / 2**20, 1),
        }
    results = os.environ.get('IMBI_BENCH_RESULTS')
    if results:
        path = pathlib.Path(results)
        data = json.loads(path.read_text()) if path.exists() else {}
        data['event-loop-stalls'] = report
        path.write_text(json.dumps(data, indent=2))


if __name__ == '__main__':
    asyncio.run(asyncio.sleep(0))  # the event loop policy imports, warmed
    main()
