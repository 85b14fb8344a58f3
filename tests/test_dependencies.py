"""Every third-party module a plugin imports is a declared dependency.

imbi-api 2.41 installs plugins with ``--no-deps`` and operators install
what each README's pip line names, which follows pyproject.toml: a
module imported but only pulled in by another dependency would be
missing where that dependency changes.
"""

import ast
import collections.abc
import importlib.metadata
import pathlib
import re
import sys
import tomllib

import pytest

PACKAGES = sorted(
    path.parent
    for path in (pathlib.Path(__file__).parent.parent / 'packages').glob(
        '*/pyproject.toml'
    )
)
#: The host's plugin API (imbi-common, or imbi.common on 2.17+) and the
#: pydantic models it is made of: every plugin depends on imbi-common.
HOST = frozenset({'imbi_common', 'imbi', 'pydantic'})


def _normal(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def _requirements(package: pathlib.Path) -> list[str]:
    text = (package / 'pyproject.toml').read_text()
    return list(tomllib.loads(text)['project']['dependencies'])


def _module(package: pathlib.Path) -> pathlib.Path:
    (found,) = (package / 'src').glob('imbi_plugin_*')
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    name = test.attr if isinstance(test, ast.Attribute) else None
    if isinstance(test, ast.Name):
        name = test.id
    return name == 'TYPE_CHECKING'


def _runtime_imports(tree: ast.AST) -> collections.abc.Iterator[str]:
    """Top-level names of the absolute imports that run: an ``if
    TYPE_CHECKING:`` body is the type checker's (type stubs are
    development dependencies), its ``else:`` runs."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                yield from _runtime_imports(ast.Module([child], []))
            continue
        if isinstance(node, ast.Import):
            yield from (a.name.partition('.')[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield str(node.module).partition('.')[0]
        else:
            yield from _runtime_imports(node)


def _imported(package: pathlib.Path) -> set[str]:
    module = _module(package)
    found: set[str] = set()
    for path in module.rglob('*.py'):
        found.update(_runtime_imports(ast.parse(path.read_text())))
    return found - set(sys.stdlib_module_names) - HOST - {module.name}


def _declared(package: pathlib.Path) -> set[str]:
    names = (re.match(r'[A-Za-z0-9._-]+', r) for r in _requirements(package))
    return {_normal(name[0]) for name in names if name is not None}


def _readme_line(package: pathlib.Path) -> str:
    """The pip line of "Installing into imbi-api 2.41"."""
    readme = (package / 'README.md').read_text()
    section = readme.partition('Installing into imbi-api 2.41')[2]
    return next(
        line
        for line in section.splitlines()
        if line.startswith('pip install ')
    )


@pytest.mark.parametrize('package', PACKAGES, ids=lambda p: p.name)
def test_every_import_is_declared(package: pathlib.Path) -> None:
    distributions = importlib.metadata.packages_distributions()
    declared = _declared(package)
    undeclared = sorted(
        module
        for module in _imported(package)
        if not declared & {_normal(d) for d in distributions.get(module, [])}
    )
    assert undeclared == []


@pytest.mark.parametrize('package', PACKAGES, ids=lambda p: p.name)
def test_the_readme_pip_line_names_every_dependency(
    package: pathlib.Path,
) -> None:
    line = _readme_line(package)
    # imbi-common is the host's own: the line must not change it.
    missing = [
        r
        for r in _requirements(package)
        if not r.startswith('imbi-common') and f"'{r}'" not in line
    ]
    assert missing == []
