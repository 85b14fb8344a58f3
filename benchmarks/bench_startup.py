"""Host start-up: import the plugin API and load_plugins(), all vs none.

Each run is a fresh interpreter (as a host process starts), on whichever
imbi-common is installed. v1 (2.3-2.11): "none" hides the imbi.plugins
entry points. v3 (2.12+): "none" hides the top-level ``imbi_plugin_*``
modules from the registry's convention scan; in "all" the scan finds our
seven plugins; the harness's own ``imbi_plugin_testing`` is hidden from
the scan in both modes, as no host has it installed. 15 runs each,
interleaved, medians compared. Target: the plugins add at most 5 %.
"""

import importlib.metadata
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

RUNS = 15
TARGET_PERCENT = 5.0
_SCRIPT = """
import importlib, importlib.metadata, pkgutil, sys
try:
    plugins = importlib.import_module('imbi_common.plugins')
except ModuleNotFoundError:
    plugins = importlib.import_module('imbi.common.plugins')
v3 = hasattr(plugins, 'CapabilityHandler')
# A host has no harness installed: the v3 scan must not import it (it
# pulls in starlette, uvicorn, rich...), in either mode.
hidden = 'imbi_plugin_' if sys.argv[1] == 'none' else 'imbi_plugin_testing'
if v3:
    real_iter = pkgutil.iter_modules
    pkgutil.iter_modules = lambda *a, **kw: [
        m for m in real_iter(*a, **kw)
        if a or kw or not m.name.startswith(hidden)]
elif sys.argv[1] == 'none':
    real = importlib.metadata.entry_points
    importlib.metadata.entry_points = lambda **kw: (
        [] if kw.get('group') == 'imbi.plugins' else real(**kw))
result = plugins.load_plugins()
errors = {k: v for k, v in result.errors.items()
          if k != 'imbi_plugin_testing'}
assert not errors, errors
if sys.argv[1] == 'all':
    assert len(result.loaded) >= 7, result.loaded
"""


def run_once(mode: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, '-c', _SCRIPT, mode], check=True)
    return time.perf_counter() - started


def main() -> None:
    env_note = os.environ.get('UV_COMPILE_BYTECODE', 'unset')
    for mode in ('none', 'all'):  # warm the OS caches and .pyc files
        run_once(mode)
    timings: dict[str, list[float]] = {'none': [], 'all': []}
    for _ in range(RUNS):
        for mode in ('none', 'all'):
            timings[mode].append(run_once(mode))
    none = statistics.median(timings['none'])
    everything = statistics.median(timings['all'])
    overhead = (everything - none) / none * 100
    version = importlib.metadata.version('imbi-common')
    print(
        f'host start-up (imbi-common {version}), median of {RUNS} fresh '
        'processes each'
    )
    print(f'  no plugins : {none * 1000:7.1f} ms')
    print(f'  all plugins: {everything * 1000:7.1f} ms')
    verdict = 'ok' if overhead <= TARGET_PERCENT else 'OVER TARGET'
    print(
        f'  plugins add {overhead:+.1f} % '
        f'(target <= {TARGET_PERCENT} %): {verdict}'
    )
    results = os.environ.get('IMBI_BENCH_RESULTS')
    if results:
        path = pathlib.Path(results)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[f'host-startup-{version}'] = {
            'runs': RUNS,
            'median_none_ms': round(none * 1000, 1),
            'median_all_ms': round(everything * 1000, 1),
            'overhead_percent': round(overhead, 2),
            'target_percent': TARGET_PERCENT,
            'uv_compile_bytecode': env_note,
        }
        path.write_text(json.dumps(data, indent=2))
    if overhead > TARGET_PERCENT:
        sys.exit(f'plugins add {overhead:.1f} %, over the target')


if __name__ == '__main__':
    main()
