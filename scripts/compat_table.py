"""README.md's compatibility table, from what the sessions recorded.

The compat, compat_v3, wheels and host sessions record each check they
ran (host version, plugin, check, passed, commit, time) in
``.nox-results/compat.json`` (git-ignored; noxfile.py ``record``). This
script renders them as a markdown table between README.md's markers::

    python scripts/compat_table.py            # rewrite README.md's table
    python scripts/compat_table.py --check    # exit 1 if it differs

A cell lists the checks that ran for that host and plugin, a failed one
marked; a check that never ran is not listed, so an empty cell means
nothing was run there. Nothing is inferred: only recorded runs count.
"""

import argparse
import collections
import json
import pathlib
import re
import sys
import typing

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / '.nox-results' / 'compat.json'
README = ROOT / 'README.md'
START = '<!-- compat-table:start -->'
END = '<!-- compat-table:end -->'
#: check -> (letter, what it is); the order cells list them in.
CHECKS = {
    'tests': ('T', "the package's own test suite"),
    'cross': (
        'X',
        'harness and cross-package tests (real registry, contract, '
        'faults, bad input, hostile data, CLI)',
    ),
    'wheels': ('W', 'the built wheels together, loaded by the real registry'),
    'alone': ('A', "the plugin's wheel alone with imbi-common, loaded"),
    'host': (
        'H',
        'a real imbi-api / imbi-gateway release (hosts/) with the plugin '
        "installed: the host's tests name it (its registry loads it; its "
        'routes call it where that host serves its kind)',
    ),
}
FAILED = '✗'

Record = dict[str, typing.Any]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r'\d+', text))


def generation(imbi_common: str) -> str:
    """v1 for imbi-common 2.3-2.11 (entry points), v3 from 2.12."""
    return 'v3' if _version(imbi_common)[:2] >= (2, 12) else 'v1'


def _host_order(host: str) -> tuple[int, str, tuple[int, ...]]:
    product, _, version = host.partition(' ')
    rank = {'imbi-common': 0, 'imbi-api': 1, 'imbi-gateway': 2}
    return rank.get(product, 3), product, _version(version)


def render(records: list[Record]) -> str:
    """The markdown between the markers (no trailing newline)."""
    if not records:
        return '_No session has recorded a run yet._'
    plugins = sorted({r['plugin'] for r in records})
    hosts = sorted({r['host'] for r in records}, key=_host_order)
    cells: dict[tuple[str, str], dict[str, bool]] = collections.defaultdict(
        dict
    )
    common: dict[str, str] = {}
    commits: dict[str, set[str]] = collections.defaultdict(set)
    for r in records:
        cells[r['host'], r['plugin']][r['check']] = bool(r['passed'])
        common[r['host']] = r['imbi_common']
        commits[r['host']].add(f'{r["commit"]} {r["at"][:10]}')
    lines = [
        '| host | API | ' + ' | '.join(f'`{p}`' for p in plugins) + ' | run |',
        '|---|---|' + '---|' * len(plugins) + '---|',
    ]
    for host in hosts:
        row = [host, generation(common[host])]
        for plugin in plugins:
            ran = cells.get((host, plugin), {})
            row.append(
                ' '.join(
                    letter if ran[check] else f'{FAILED}{letter}'
                    for check, (letter, _) in CHECKS.items()
                    if check in ran
                )
            )
        row.append(', '.join(sorted(commits[host])))
        lines.append('| ' + ' | '.join(row) + ' |')
    lines.append('')
    lines.append(
        'Checks: '
        + '; '.join(f'{letter} {text}' for letter, text in CHECKS.values())
        + f'. {FAILED} marks a check that failed; a check not listed did '
        'not run there. "run": the commit and day of the recorded runs.'
    )
    return '\n'.join(lines)


def load(path: pathlib.Path) -> list[Record]:
    if not path.exists():
        return []
    found: list[Record] = json.loads(path.read_text())
    return found


def replace(readme: str, table: str) -> str:
    """README text with the table between the markers replaced."""
    before, start, rest = readme.partition(START)
    _, end, after = rest.partition(END)
    if not start or not end:
        raise ValueError(f'README.md has no {START} ... {END} markers')
    return f'{before}{START}\n{table}\n{END}{after}'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--check',
        action='store_true',
        help="exit 1 if README.md's table is not what the records give",
    )
    parser.add_argument('--results', type=pathlib.Path, default=RESULTS)
    parser.add_argument('--readme', type=pathlib.Path, default=README)
    args = parser.parse_args(argv)
    text = args.readme.read_text()
    wanted = replace(text, render(load(args.results)))
    if args.check:
        if wanted != text:
            print(
                f'{args.readme}: the compatibility table is not what '
                f'{args.results} records; run scripts/compat_table.py',
                file=sys.stderr,
            )
            return 1
        return 0
    if wanted != text:
        args.readme.write_text(wanted)
        print(f'{args.readme}: compatibility table updated')
    return 0


if __name__ == '__main__':
    sys.exit(main())
