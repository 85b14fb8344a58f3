"""The release tag check used by .github/workflows/release.yml."""

import importlib.util
import pathlib
import subprocess
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / 'scripts' / 'release_tag.py'


def _load() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location('release_tag', SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release_tag = _load()

RELEASED = """# Changelog

## [Unreleased]

## [{version}] - 2026-11-25
### Added
- Everything.
"""


def _package(
    root: pathlib.Path,
    folder: str,
    name: str,
    version: str,
    changelog: str | None = None,
) -> pathlib.Path:
    path = root / folder
    path.mkdir(parents=True)
    (path / 'pyproject.toml').write_text(
        f"[project]\nname = '{name}'\nversion = '{version}'\n"
    )
    if changelog is None:
        changelog = RELEASED.format(version=version)
    (path / 'CHANGELOG.md').write_text(changelog)
    return path


@pytest.fixture
def repo(tmp_path: pathlib.Path) -> pathlib.Path:
    _package(tmp_path, 'packages/vault', 'imbi-plugin-vault', '1.2.0')
    _package(
        tmp_path,
        'packages/github-identity',
        'imbi-plugin-github-identity',
        '0.1.0',
    )
    _package(tmp_path, 'shared/testing', 'imbi-plugin-testing', '0.3.0')
    return tmp_path


def _git(root: pathlib.Path, *args: str) -> str:
    return subprocess.run(
        ['git', '-c', 'user.name=t', '-c', 'user.email=t@example.com', *args],  # noqa: S607
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.mark.parametrize(
    ('tag', 'path', 'session'),
    [
        ('imbi-plugin-vault-v1.2.0', 'packages/vault', 'vault'),
        (
            'imbi-plugin-github-identity-v0.1.0',
            'packages/github-identity',
            'github-identity',
        ),
    ],
)
def test_a_matching_tag_names_its_package(
    repo: pathlib.Path, tag: str, path: str, session: str
) -> None:
    outputs = release_tag.resolve(tag, repo)
    assert outputs['path'] == path
    assert outputs['session'] == session


@pytest.mark.parametrize(
    ('tag', 'message'),
    [
        ('v1.2.0', 'is not a release tag'),
        ('imbi-plugin-vault-1.2.0', 'is not a release tag'),
        ('imbi-plugin-vault-v1.2.1', 'does not match imbi-plugin-vault 1.2.0'),
        ('imbi-plugin-nope-v1.0.0', "no package 'imbi-plugin-nope'"),
        ('imbi-plugin-testing-v0.3.0', 'imbi-plugin-testing is not published'),
    ],
)
def test_other_tags_are_refused(
    repo: pathlib.Path, tag: str, message: str
) -> None:
    with pytest.raises(release_tag.ReleaseError, match=message):
        release_tag.resolve(tag, repo)


@pytest.mark.parametrize(
    ('changelog', 'message'),
    [
        (None, 'CHANGELOG.md is missing'),
        (
            '# Changelog\n\n## [Unreleased]\n### Added\n- New.\n',
            r'no entry ## \[2.0.0\]',
        ),
        (
            '# Changelog\n\n## [2.0.0]\n### Added\n- New.\n',
            r'## \[2.0.0\] is not dated',
        ),
        (
            '# Changelog\n\n## [2.0.0] - soon\n### Added\n- New.\n',
            r'## \[2.0.0\] is not dated',
        ),
        (
            '# Changelog\n\n## [Unreleased]\n### Fixed\n- Late.\n\n'
            '## [2.0.0] - 2026-12-01\n### Added\n- New.\n',
            r'still lists changes under ## \[Unreleased\]',
        ),
        (
            '# Changelog\n\n## [2.0.0] - 2026-12-01\n### Added\n- New.\n\n'
            '## [Unreleased]\n- Misplaced, last in the file.\n',
            r'still lists changes under ## \[Unreleased\]',
        ),
    ],
    ids=[
        'missing',
        'no-entry',
        'undated',
        'bad-date',
        'unreleased-not-empty',
        'unreleased-last',
    ],
)
def test_the_changelog_must_release_the_version(
    tmp_path: pathlib.Path, changelog: str | None, message: str
) -> None:
    path = _package(
        tmp_path, 'packages/loki', 'imbi-plugin-loki', '2.0.0', changelog=''
    )
    if changelog is None:
        (path / 'CHANGELOG.md').unlink()
    else:
        (path / 'CHANGELOG.md').write_text(changelog)
    with pytest.raises(release_tag.ReleaseError, match=message):
        release_tag.resolve('imbi-plugin-loki-v2.0.0', tmp_path)


def test_a_changelog_without_unreleased_section_is_accepted(
    tmp_path: pathlib.Path,
) -> None:
    _package(
        tmp_path,
        'packages/loki',
        'imbi-plugin-loki',
        '2.0.0',
        changelog='# Changelog\n\n## [2.0.0] - 2026-12-01\n- New.\n',
    )
    assert release_tag.resolve('imbi-plugin-loki-v2.0.0', tmp_path)


def test_the_tagged_commit_must_be_on_main(repo: pathlib.Path) -> None:
    _git(repo, 'init', '--quiet', '--initial-branch=main')
    _git(repo, 'add', '-A')
    _git(repo, 'commit', '--quiet', '-m', 'release')
    tag = 'imbi-plugin-vault-v1.2.0'
    assert release_tag.resolve(tag, repo, main_ref='main')['session'] == (
        'vault'
    )
    # A commit only on a branch (the tag pushed before merging).
    _git(repo, 'checkout', '--quiet', '-b', 'feature')
    (repo / 'packages/vault/README.md').write_text('unmerged\n')
    _git(repo, 'add', '-A')
    _git(repo, 'commit', '--quiet', '-m', 'unmerged')
    with pytest.raises(release_tag.ReleaseError, match='not on main'):
        release_tag.resolve(tag, repo, main_ref='main')
    with pytest.raises(release_tag.ReleaseError, match='cannot tell'):
        release_tag.resolve(tag, repo, main_ref='origin/nope')


def test_command_line_on_this_repository() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args],
            capture_output=True,
            text=True,
            check=False,
        )

    assert run().returncode == 2
    bad = run('bad')
    assert bad.returncode == 1
    assert bad.stderr.startswith('release_tag: ')
    assert 'is not a release tag' in bad.stderr
    assert 'Traceback' not in bad.stderr
    harness = run('imbi-plugin-testing-v0.1.0')
    assert harness.returncode == 1
    assert 'not published' in harness.stderr
    packages = release_tag.package_dirs(release_tag.ROOT)
    assert 'imbi-plugin-vault' in packages
    assert 'imbi-plugin-testing' not in packages


def test_every_package_changelog_has_the_expected_headings() -> None:
    # Each released version of each package has a dated entry the check
    # accepts once [Unreleased] is emptied (the format stays checkable).
    for folder in release_tag.package_dirs(release_tag.ROOT).values():
        text = (folder / 'CHANGELOG.md').read_text()
        version = release_tag.tomllib.loads(
            (folder / 'pyproject.toml').read_text()
        )['project']['version']
        assert f'## [{version}] - ' in text, folder.name
