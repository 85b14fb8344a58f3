"""Every third-party module the package imports is a declared dependency.

imbi-api 2.41 installs plugins with ``--no-deps`` and operators install
what the README's pip line names, which follows pyproject.toml: a module
imported but only pulled in by another dependency would be missing
where that dependency changes.
"""

import ast
import importlib.metadata
import pathlib
import re
import sys
import tomllib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent
MODULE = 'imbi_plugin_archiver'
#: The host's plugin API (imbi-common, or imbi.common on 2.17+) and the
#: pydantic models it is made of: a plugin depends on imbi-common.
HOST = frozenset({'imbi_common', 'imbi', 'pydantic'})


def _normal(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def _imported() -> set[str]:
    """Top-level modules of every absolute import, ``TYPE_CHECKING``
    ones included (mypy needs them installed too)."""
    found: set[str] = set()
    for path in (PACKAGE / 'src' / MODULE).rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name.partition('.')[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                found.add(str(node.module).partition('.')[0])
    return found - set(sys.stdlib_module_names) - HOST - {MODULE}


def _declared() -> set[str]:
    text = (PACKAGE / 'pyproject.toml').read_text()
    requirements = tomllib.loads(text)['project']['dependencies']
    names = (re.match(r'[A-Za-z0-9._-]+', r) for r in requirements)
    return {_normal(name[0]) for name in names if name is not None}


def _readme_line() -> str:
    """The pip line of "Installing into imbi-api 2.41"."""
    readme = (PACKAGE / 'README.md').read_text()
    section = readme.partition('Installing into imbi-api 2.41')[2]
    return next(
        line
        for line in section.splitlines()
        if line.startswith('pip install ')
    )


def test_every_import_is_declared() -> None:
    distributions = importlib.metadata.packages_distributions()
    declared = _declared()
    undeclared = sorted(
        module
        for module in _imported()
        if not declared & {_normal(d) for d in distributions.get(module, [])}
    )
    assert undeclared == []


def test_the_readme_pip_line_names_every_dependency() -> None:
    text = (PACKAGE / 'pyproject.toml').read_text()
    requirements = tomllib.loads(text)['project']['dependencies']
    line = _readme_line()
    # imbi-common is the host's own: the line must not change it.
    missing = [
        r
        for r in requirements
        if not r.startswith('imbi-common') and f"'{r}'" not in line
    ]
    assert missing == []
