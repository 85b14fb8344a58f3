"""The release tag check used by .github/workflows/release.yml."""

import importlib.util
import pathlib
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _load() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        'release_tag', ROOT / 'scripts' / 'release_tag.py'
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release_tag = _load()


@pytest.fixture
def repo(tmp_path: pathlib.Path) -> pathlib.Path:
    for folder, name, version in [
        ('packages/vault', 'imbi-plugin-vault', '1.2.0'),
        ('packages/github-identity', 'imbi-plugin-github-identity', '0.1.0'),
        ('shared/testing', 'imbi-plugin-testing', '0.3.0'),
    ]:
        path = tmp_path / folder
        path.mkdir(parents=True)
        (path / 'pyproject.toml').write_text(
            f"[project]\nname = '{name}'\nversion = '{version}'\n"
        )
    return tmp_path


@pytest.mark.parametrize(
    ('tag', 'path'),
    [
        ('imbi-plugin-vault-v1.2.0', 'packages/vault'),
        ('imbi-plugin-github-identity-v0.1.0', 'packages/github-identity'),
        ('imbi-plugin-testing-v0.3.0', 'shared/testing'),
    ],
)
def test_a_matching_tag_names_its_package(
    repo: pathlib.Path, tag: str, path: str
) -> None:
    assert release_tag.resolve(tag, repo)['path'] == path


@pytest.mark.parametrize(
    ('tag', 'message'),
    [
        ('v1.2.0', 'is not a release tag'),
        ('imbi-plugin-vault-1.2.0', 'is not a release tag'),
        ('imbi-plugin-vault-v1.2.1', 'does not match imbi-plugin-vault 1.2.0'),
        ('imbi-plugin-nope-v1.0.0', "no package 'imbi-plugin-nope'"),
    ],
)
def test_other_tags_are_refused(
    repo: pathlib.Path, tag: str, message: str
) -> None:
    with pytest.raises(release_tag.ReleaseError, match=message):
        release_tag.resolve(tag, repo)


def test_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    version = release_tag.package_dirs(release_tag.ROOT)
    assert 'imbi-plugin-testing' in version
    assert release_tag.main([]) == 2
    assert release_tag.main(['bad']) == 1
    assert 'is not a release tag' in capsys.readouterr().err
    testing = (release_tag.ROOT / 'shared/testing/pyproject.toml').read_text()
    current = testing.split("version = '", 1)[1].split("'", 1)[0]
    assert release_tag.main([f'imbi-plugin-testing-v{current}']) == 0
    assert 'path=shared/testing' in capsys.readouterr().out
