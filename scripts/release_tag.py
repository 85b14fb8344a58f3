"""Check a release tag against the package it names.

``python scripts/release_tag.py imbi-plugin-vault-v0.1.0`` prints
``path=...``, ``distribution=...`` and ``version=...`` lines (for
``$GITHUB_OUTPUT``) when the tag names a package of this repository whose
version is exactly the tag's, and exits 1 with the reason otherwise.
"""

import pathlib
import re
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
_TAG = re.compile(
    r'^(?P<dist>imbi-plugin-[a-z0-9][a-z0-9-]*)-v(?P<version>\S+)$'
)


class ReleaseError(Exception):
    """The tag cannot release a package."""


def package_dirs(root: pathlib.Path) -> dict[str, pathlib.Path]:
    """Distribution name -> folder, for every package of the repository."""
    found = {}
    for folder in [*sorted(root.glob('packages/*')), root / 'shared/testing']:
        pyproject = folder / 'pyproject.toml'
        if pyproject.is_file():
            project = tomllib.loads(pyproject.read_text())['project']
            found[project['name']] = folder
    return found


def resolve(tag: str, root: pathlib.Path = ROOT) -> dict[str, str]:
    """The package a tag releases, after checking its version."""
    match = _TAG.match(tag)
    if match is None:
        raise ReleaseError(
            f'{tag!r} is not a release tag (imbi-plugin-<name>-v<version>)'
        )
    packages = package_dirs(root)
    distribution = match['dist']
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
    return {
        'path': str(folder.relative_to(root)),
        'distribution': distribution,
        'version': version,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print('usage: release_tag.py TAG', file=sys.stderr)
        return 2
    try:
        outputs = resolve(argv[0])
    except ReleaseError as exc:
        print(f'release_tag: {exc}', file=sys.stderr)
        return 1
    for key, value in outputs.items():
        print(f'{key}={value}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
