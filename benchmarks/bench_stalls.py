"""The longest event-loop stall of each plugin, first call included.

Work on the event loop blocks every other request of the host: importing
boto3 or hvac on a plugin's first call, a regular expression over a long
line, parsing a large body. A stall the watchdog ends is reported as
20 s (at least). Per plugin, in a fresh interpreter (as a
host process starts): its profile's calls against the stand-in, the
first one with its imports, then each hostile-upstream case at the
largest size (imbi_plugin_testing.hostile). Prints and records the worst
stall per plugin and the first call's. Target: under 1 s everywhere.
"""

import asyncio
import importlib.metadata
import json
import os
import pathlib
import subprocess
import sys

TARGET_SECONDS = 1.0

_CHILD = """
import asyncio, json, sys
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
    print(json.dumps(stalls))

asyncio.run(main(sys.argv[1]))
"""


def slugs() -> list[str]:
    return sorted(
        ep.name
        for ep in importlib.metadata.entry_points(group='imbi.plugins')
        if ep.dist is not None and ep.dist.name.startswith('imbi-plugin-')
    )


def measure(slug: str) -> dict[str, float] | str:
    done = subprocess.run(
        [sys.executable, '-c', _CHILD, slug],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ['failed'])[-1]
    stalls: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return stalls


def main() -> None:
    report: dict[str, object] = {}
    print('longest event-loop stall per plugin (fresh process each)')
    for slug in slugs():
        stalls = measure(slug)
        if isinstance(stalls, str):
            print(f'  {slug:15} FAILED: {stalls}')
            report[slug] = {'error': stalls}
            continue
        worst_name, worst = max(stalls.items(), key=lambda item: item[1])
        first = next(iter(stalls.values()))
        verdict = 'ok' if worst < TARGET_SECONDS else 'OVER TARGET'
        print(
            f'  {slug:15} worst {worst * 1000:7.1f} ms ({worst_name}), '
            f'first call {first * 1000:7.1f} ms: {verdict}'
        )
        report[slug] = {
            'worst_ms': round(worst * 1000, 1),
            'worst_at': worst_name,
            'first_call_ms': round(first * 1000, 1),
            'target_ms': TARGET_SECONDS * 1000,
            'all_ms': {k: round(v * 1000, 1) for k, v in stalls.items()},
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
