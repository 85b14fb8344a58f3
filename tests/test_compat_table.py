"""scripts/compat_table.py: README's compatibility table from the records."""

import importlib.util
import json
import pathlib
import subprocess
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / 'scripts' / 'compat_table.py'


def _load() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location('compat_table', SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compat_table = _load()


def _record(
    host: str, plugin: str, check: str, passed: bool = True
) -> dict[str, object]:
    common = host.split(' ', 1)[1] if host.startswith('imbi-common') else ''
    return {
        'host': host,
        'imbi_common': common or '2.41.0',
        'plugin': plugin,
        'check': check,
        'passed': passed,
        'commit': 'abc1234',
        'at': '2026-12-02T12:00:00+00:00',
    }


RECORDS = [
    _record('imbi-common 2.41.0', 'vault', 'wheels'),
    _record('imbi-common 2.41.0', 'vault', 'tests'),
    _record('imbi-common 2.41.0', 'loki', 'wheels', passed=False),
    _record('imbi-common 2.3.0', 'vault', 'cross'),
    _record('imbi-common 2.12.0', 'loki', 'alone'),
    _record('imbi-api 2.41.0', 'loki', 'host'),
]
README = (
    'intro\n<!-- compat-table:start -->\nold\n'
    '<!-- compat-table:end -->\nrest\n'
)


def test_rows_columns_and_cells() -> None:
    table = compat_table.render(RECORDS)
    lines = table.splitlines()
    assert lines[0] == '| host | API | `loki` | `vault` | run |'
    rows = [line.split(' | ') for line in lines[2:6]]
    # imbi-common by version (2.12 after 2.3), then the real hosts.
    assert [row[0].lstrip('| ') for row in rows] == [
        'imbi-common 2.3.0',
        'imbi-common 2.12.0',
        'imbi-common 2.41.0',
        'imbi-api 2.41.0',
    ]
    assert [row[1] for row in rows] == ['v1', 'v3', 'v3', 'v3']
    # The checks in a fixed order; a failed one marked; none: empty.
    assert rows[2][2:4] == ['✗W', 'T W']
    assert rows[0][2] == ''
    assert rows[3][2] == 'H'
    assert 'abc1234 2026-12-02' in lines[2]
    assert 'Checks: T ' in table


def test_nothing_recorded() -> None:
    assert 'No session has recorded' in compat_table.render([])


def test_write_then_check(tmp_path: pathlib.Path) -> None:
    results = tmp_path / 'compat.json'
    results.write_text(json.dumps(RECORDS))
    readme = tmp_path / 'README.md'
    readme.write_text(README)
    args = ['--results', str(results), '--readme', str(readme)]
    assert compat_table.main([*args, '--check']) == 1
    assert compat_table.main(args) == 0
    text = readme.read_text()
    assert text.startswith('intro\n<!-- compat-table:start -->\n| host')
    assert text.endswith('<!-- compat-table:end -->\nrest\n')
    assert 'old' not in text
    assert compat_table.main([*args, '--check']) == 0
    # A new run's record makes the README stale again.
    results.write_text(
        json.dumps([*RECORDS, _record('imbi-api 2.5.1', 'vault', 'host')])
    )
    assert compat_table.main([*args, '--check']) == 1


def test_markers_are_required(tmp_path: pathlib.Path) -> None:
    readme = tmp_path / 'README.md'
    readme.write_text('no table here\n')
    with pytest.raises(ValueError, match='markers'):
        compat_table.main(
            ['--readme', str(readme), '--results', str(tmp_path / 'none.json')]
        )


def test_the_script_runs_as_a_command(tmp_path: pathlib.Path) -> None:
    readme = tmp_path / 'README.md'
    readme.write_text(README)
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            '--readme',
            str(readme),
            '--results',
            str(tmp_path / 'none.json'),
            '--check',
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert 'compatibility table is not what' in done.stderr
