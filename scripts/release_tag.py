"""Check a release tag against the package it names.

``python scripts/release_tag.py imbi-plugin-vault-v0.1.0 --main origin/main``
prints ``path=...``, ``session=...``, ``distribution=...`` and
``version=...`` lines (for ``$GITHUB_OUTPUT``) when all of these hold, and
exits 1 with the reason otherwise:

- the tag is ``imbi-plugin-<name>-v<version>`` and names a plugin package of
  ``packages/`` (the harness, imbi-plugin-testing, is never published);
- the package's version is exactly the tag's;
- its CHANGELOG has a dated ``## [<version>] - YYYY-MM-DD`` entry and an
  empty ``## [Unreleased]`` section (else the release would carry changes
  its entry does not list);
- with ``--main REF``: the checked-out commit (the tag's) is on ``REF``, so
  only reviewed, merged code is published.
"""

import pathlib
import re
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
HARNESS = 'imbi-plugin-testing'
_TAG = re.compile(
    r'^(?P<dist>imbi-plugin-[a-z0-9][a-z0-9-]*)-v(?P<version>\S+)$'
)
_HEADING = re.compile(r'^## \[(?P<name>[^\]]+)\](?P<rest>.*)$', re.MULTILINE)
_DATE = re.compile(r'^ - \d{4}-\d{2}-\d{2}\s*$')


class ReleaseError(Exception):
    """The tag cannot release a package."""


def package_dirs(root: pathlib.Path) -> dict[str, pathlib.Path]:
    """Distribution name -> folder, for every plugin package."""
    found = {}
    for folder in sorted(root.glob('packages/*')):
        pyproject = folder / 'pyproject.toml'
        if pyproject.is_file():
            project = tomllib.loads(pyproject.read_text())['project']
            found[project['name']] = folder
    return found


def check_changelog(path: pathlib.Path, version: str) -> None:
    """A dated entry for ``version`` and nothing left under Unreleased."""
    if not path.is_file():
        raise ReleaseError(f'{path.name} is missing')
    text = path.read_text()
    headings = list(_HEADING.finditer(text))
    entry = next((h for h in headings if h['name'] == version), None)
    if entry is None:
        raise ReleaseError(f'{path.name} has no entry ## [{version}]')
    if not _DATE.match(entry['rest']):
        raise ReleaseError(
            f'{path.name} entry ## [{version}] is not dated '
            f'(## [{version}] - YYYY-MM-DD)'
        )
    for index, heading in enumerate(headings):
        if heading['name'] != 'Unreleased':
            continue
        end = (
            headings[index + 1].start()
            if index + 1 < len(headings)
            else len(text)
        )
        if text[heading.end() : end].strip():
            raise ReleaseError(
                f'{path.name} still lists changes under ## [Unreleased]: '
                f'move them into ## [{version}]'
            )


def check_on_main(root: pathlib.Path, main_ref: str) -> None:
    """The checked-out commit is an ancestor of (or is) ``main_ref``."""
    result = subprocess.run(  # noqa: S603 - fixed git arguments
        ['git', 'merge-base', '--is-ancestor', 'HEAD', main_ref],  # noqa: S607
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 1:
        raise ReleaseError(
            f'the tagged commit is not on {main_ref}: merge it first'
        )
    if result.returncode != 0:
        raise ReleaseError(
            f'cannot tell whether the tagged commit is on {main_ref}: '
            + (result.stderr.strip().splitlines() or ['git failed'])[-1]
        )


def resolve(
    tag: str, root: pathlib.Path = ROOT, main_ref: str | None = None
) -> dict[str, str]:
    """The package a tag releases, after every check."""
    match = _TAG.match(tag)
    if match is None:
        raise ReleaseError(
            f'{tag!r} is not a release tag (imbi-plugin-<name>-v<version>)'
        )
    distribution = match['dist']
    if distribution == HARNESS:
        raise ReleaseError(
            f'{HARNESS} is not published: the test harness ships with the '
            'repository only'
        )
    packages = package_dirs(root)
    if distribution not in packages:
        raise ReleaseError(
            f'no package {distribution!r}; known: '
            + ', '.join(sorted(packages))
        )
    folder = packages[distribution]
    version = tomllib.loads((folder / 'pyproject.toml').read_text())[
        'project'
    ]['version']
    if version != match['version']:
        raise ReleaseError(
            f'tag version {match["version"]} does not match '
            f'{distribution} {version} in {folder.relative_to(root)}'
        )
    check_changelog(folder / 'CHANGELOG.md', version)
    if main_ref is not None:
        check_on_main(root, main_ref)
    return {
        'path': str(folder.relative_to(root)),
        'session': folder.name,
        'distribution': distribution,
        'version': version,
    }


def main(argv: list[str]) -> int:
    main_ref = None
    if len(argv) == 3 and argv[1] == '--main':
        main_ref = argv[2]
        argv = argv[:1]
    if len(argv) != 1:
        print('usage: release_tag.py TAG [--main REF]', file=sys.stderr)
        return 2
    try:
        outputs = resolve(argv[0], main_ref=main_ref)
    except ReleaseError as exc:
        print(f'release_tag: {exc}', file=sys.stderr)
        return 1
    for key, value in outputs.items():
        print(f'{key}={value}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
