"""Host start-up with our seven plugins and without them.

Each run is a fresh interpreter (as a host process starts), on whichever
imbi-common is installed; 15 runs of each mode, interleaved, medians
compared. Target: the plugins add at most 5 %. Where imbi-api is
installed, a run is imbi-api's own start-up (its application, then the
registry, which loads imbi-api's first-party plugins in every mode);
elsewhere the plugin API's import and load_plugins().

v1 (2.3-2.11): "none" hides the imbi.plugins entry points.

v3 (2.12+): "none" hides the top-level ``imbi_plugin_*`` modules from the
registry's convention scan; in "all" the scan finds our seven plugins; the
harness's own ``imbi_plugin_testing`` is hidden in every mode, as no host
has it installed. A third mode, "floor", loads seven minimal plugins (a
class and a manifest each, nothing imported): what the v3 registry costs
per convention plugin whatever the plugin holds. That cost is the
registry's ``_package_metadata()``, which calls
``importlib.metadata.packages_distributions()`` (a read of every installed
distribution's metadata) once per plugin; no layout of ours avoids it
while 2.12-2.16 find plugins only by that scan. Each run also reports the
time spent in those scans (the real function, timed, not replaced), so
the comparison with the floor is not lost in their noise. Printed: all vs
none (the whole added start-up) and all vs floor with the scans taken
out (what our code adds beyond what any seven plugins cost), the latter
held to the target.
"""

import importlib.metadata
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 15
TARGET_PERCENT = 5.0
_SCRIPT = """
import importlib, importlib.metadata, pkgutil, sys, time
scans = [0.0]
real_scan = importlib.metadata.packages_distributions


def timed_scan():
    started = time.perf_counter()
    try:
        return real_scan()
    finally:
        scans[0] += time.perf_counter() - started


importlib.metadata.packages_distributions = timed_scan
try:
    plugins = importlib.import_module('imbi_common.plugins')
except ModuleNotFoundError:
    plugins = importlib.import_module('imbi.common.plugins')
v3 = hasattr(plugins, 'CapabilityHandler')
# A host has no harness installed: the v3 scan must not import it (it
# pulls in starlette, uvicorn, rich...), in any mode. The floor's modules
# are on sys.path in every mode (one more path entry for every lookup)
# and found only in "floor".
shown = {
    'none': lambda name: False,
    'floor': lambda name: name.startswith('imbi_plugin_floor'),
    'all': lambda name: not name.startswith(
        ('imbi_plugin_floor', 'imbi_plugin_testing')),
}[sys.argv[1]]
if v3:
    real_iter = pkgutil.iter_modules
    pkgutil.iter_modules = lambda *a, **kw: [
        m for m in real_iter(*a, **kw)
        if a or kw or not m.name.startswith('imbi_plugin_')
        or shown(m.name)]
elif sys.argv[1] == 'none':
    real = importlib.metadata.entry_points
    importlib.metadata.entry_points = lambda **kw: (
        [] if kw.get('group') == 'imbi.plugins' else real(**kw))
if sys.argv[2] == 'imbi-api':
    # imbi-api's own start-up: its application, then (in its lifespan)
    # the registry, which loads its first-party plugins too.
    from imbi.api import app
    app.create_app()
result = plugins.load_plugins()
errors = {k: v for k, v in result.errors.items()
          if k != 'imbi_plugin_testing'}
assert not errors, errors
if sys.argv[1] != 'none':
    assert len(result.loaded) >= 7, result.loaded
print(scans[0])
"""

# One minimal v3 plugin (with a distribution's metadata beside it, see
# write_floor_plugin): a logs capability whose handler is never called
# (the registry checks the class, it does not instantiate it).
_FLOOR_PLUGIN = """
try:
    from imbi.common import plugins as p
except ModuleNotFoundError:
    from imbi_common import plugins as p


class Handler(p.LogsCapability):
    pass


class PLUGIN(p.Plugin):
    manifest = p.PluginManifest(
        slug='floor-{n}',
        name='Floor {n}',
        capabilities=[
            p.Capability(kind='logs', label='Logs', handler=Handler)
        ],
    )
"""


def write_floor_plugin(where: pathlib.Path, n: int) -> None:
    """A minimal plugin, installed as a distribution as ours are: the
    registry looks up each plugin's distribution and version."""
    module = f'imbi_plugin_floor{n}'
    (where / f'{module}.py').write_text(_FLOOR_PLUGIN.format(n=n))
    info = where / f'imbi_plugin_floor{n}-1.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(
        f'Metadata-Version: 2.1\nName: imbi-plugin-floor{n}\nVersion: 1.0\n'
    )
    (info / 'RECORD').write_text(
        f'{module}.py,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n'
    )


def host() -> str:
    """``imbi-api`` where it is installed (its whole start-up is
    measured), else ``registry`` (the plugin API and load_plugins())."""
    try:
        importlib.metadata.version('imbi-api')
    except importlib.metadata.PackageNotFoundError:
        return 'registry'
    return 'imbi-api'


def run_once(mode: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall time of one host start-up, and the part in metadata scans."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, '-c', _SCRIPT, mode, host()],
        check=True,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - started
    return wall, float(done.stdout.split()[-1])


def is_v3() -> bool:
    return int(importlib.metadata.version('imbi-common').split('.')[1]) >= 12


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> None:
    env_note = os.environ.get('UV_COMPILE_BYTECODE', 'unset')
    v3 = is_v3()
    modes = ('none', 'floor', 'all') if v3 else ('none', 'all')
    walls: dict[str, list[float]] = {mode: [] for mode in modes}
    scans: dict[str, list[float]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory() as floor_dir:
        for n in range(1, 8):
            write_floor_plugin(pathlib.Path(floor_dir), n)
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            filter(None, [floor_dir, env.get('PYTHONPATH')])
        )
        for mode in modes:  # warm the OS caches and .pyc files
            run_once(mode, env)
        for _ in range(RUNS):
            for mode in modes:
                wall, scan = run_once(mode, env)
                walls[mode].append(wall)
                scans[mode].append(scan)
    none = median_ms(walls['none'])
    everything = median_ms(walls['all'])
    overhead = (everything - none) / none * 100
    version = importlib.metadata.version('imbi-common')
    label = f'imbi-common {version}'
    if host() == 'imbi-api':
        label = f'imbi-api {importlib.metadata.version("imbi-api")}, {label}'
    print(f'host start-up ({label}), median of {RUNS} fresh processes each')
    print(f'  without ours      : {none:7.1f} ms')
    record: dict[str, object] = {
        'runs': RUNS,
        'median_none_ms': round(none, 1),
        'median_all_ms': round(everything, 1),
        'overhead_percent': round(overhead, 2),
    }
    held = overhead
    if v3:
        floor = median_ms(walls['floor'])
        scan_floor, scan_all = (
            median_ms(scans['floor']),
            median_ms(scans['all']),
        )
        beyond = median_ms(
            [w - s for w, s in zip(walls['all'], scans['all'], strict=True)]
        ) - median_ms(
            [
                w - s
                for w, s in zip(walls['floor'], scans['floor'], strict=True)
            ]
        )
        held = beyond / none * 100
        print(
            f'  7 minimal plugins : {floor:7.1f} ms '
            f'(registry metadata scans {scan_floor:.1f} ms)'
        )
        print(
            f'  all seven plugins : {everything:7.1f} ms '
            f'(registry metadata scans {scan_all:.1f} ms)'
        )
        print(f'  all vs none : {overhead:+.1f} %')
        print(
            f'  all vs floor, scans out: {beyond:+.1f} ms, {held:+.1f} % '
            'of the start-up without ours (our code, beyond what the '
            'registry costs any seven plugins)'
        )
        record.update(
            median_floor_ms=round(floor, 1),
            median_scan_floor_ms=round(scan_floor, 1),
            median_scan_all_ms=round(scan_all, 1),
            beyond_floor_ms=round(beyond, 1),
        )
    else:
        print(f'  all seven plugins : {everything:7.1f} ms')
        print(f'  all vs none : {overhead:+.1f} %')
    record.update(
        held_percent=round(held, 2),
        target_percent=TARGET_PERCENT,
        uv_compile_bytecode=env_note,
    )
    verdict = 'ok' if held <= TARGET_PERCENT else 'OVER TARGET'
    print(f'  target <= {TARGET_PERCENT} %: {verdict}')
    results = os.environ.get('IMBI_BENCH_RESULTS')
    if results:
        path = pathlib.Path(results)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[f'host-startup-{host()}-{version}'] = record
        path.write_text(json.dumps(data, indent=2))
    if held > TARGET_PERCENT:
        sys.exit(f'plugins add {held:.1f} %, over the target')


if __name__ == '__main__':
    main()
