"""The repository's docs stand alone.

No code or doc cites a file outside the repository (the team's shared
folder is not part of a clone): upstream facts live in docs/upstreams/,
the design in docs/design.md. Every relative link in a Markdown file
resolves to a file of the repository.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
_SKIP = {'.git', '.venv', '.nox', 'dist', 'node_modules', '__pycache__'}
#: A citation of the shared folder: its reference pages or design doc.
_OUTSIDE = re.compile(
    r'shared/reference|(?<![\w/])reference/[\w-]+\.md|shared/design\.md'
    r'|\.\./shared/(?!toolchain/)'
)
_LINK = re.compile(r'\]\((?!https?:|mailto:|#)([^)\s]+)\)')


def _files(*suffixes: str) -> list[pathlib.Path]:
    return sorted(
        path
        for path in ROOT.rglob('*')
        if path.is_file()
        and path.suffix in suffixes
        and not _SKIP & set(path.relative_to(ROOT).parts)
    )


def test_nothing_cites_files_outside_the_repository() -> None:
    cited = [
        f'{path.relative_to(ROOT)}:{number}: {line.strip()}'
        for path in _files('.py', '.md', '.toml', '.yml', '.txt')
        if path != pathlib.Path(__file__)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _OUTSIDE.search(line)
    ]
    assert cited == []


@pytest.mark.parametrize(
    'document', _files('.md'), ids=lambda p: str(p.relative_to(ROOT))
)
def test_relative_links_resolve(document: pathlib.Path) -> None:
    broken = []
    for target in _LINK.findall(document.read_text()):
        path = target.split('#', 1)[0]
        if path and not (document.parent / path).exists():
            broken.append(target)
    assert broken == []
