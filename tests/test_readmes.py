"""Every plugin README follows one template, and its tables match the manifest.

The template (docs/adding-a-plugin.md, "README"): the `pip install` line,
`## Options` and `## Credentials` tables, the upstream permissions, the
errors with the host's answer, `## Limits` and `## Environments`. The
options table lists exactly the manifest's options with their type,
required flag and default; the credentials table exactly its credentials
with their required flag.
"""

import dataclasses
import pathlib
import re

import pytest
from imbi_plugin_testing.firstparty import first_party
from imbi_plugin_testing.generation import ManifestView, plugin_under_test

ROOT = pathlib.Path(__file__).resolve().parent.parent


@dataclasses.dataclass
class Plugin:
    #: v3: Integration and capability options together, as the
    #: README's one options table lists them.
    manifest: ManifestView
    folder: pathlib.Path

    @property
    def readme(self) -> str:
        return (self.folder / 'README.md').read_text()


def _plugins() -> list[Plugin]:
    return [
        Plugin(
            ManifestView(plugin_under_test(p.module)),
            ROOT / 'packages' / p.folder,
        )
        for p in first_party()
    ]


PLUGINS = _plugins()


def _sections(text: str) -> dict[str, str]:
    """Heading (lower case, any level) -> the text under it."""
    parts = re.split(r'^#{2,3} +(.+)$', text, flags=re.MULTILINE)
    return {
        heading.strip().lower(): body
        for heading, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def _tables(text: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), '']:
        if line.startswith('|'):
            # Cells split on pipes that are not escaped (`a\|b`).
            cells = re.split(r'(?<!\\)\|', line.strip().strip('|'))
            current.append([cell.strip() for cell in cells])
        elif current:
            tables.append(current)
            current = []
    return tables


def _table(section: str, first: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """The section's table whose first column is named one of ``first``."""
    for table in _tables(section):
        header = [cell.lower() for cell in table[0]]
        if header[0] in first:
            return {
                row[0].strip('`'): dict(zip(header, row, strict=False))
                for row in table[2:]
            }
    raise AssertionError(f'no table with a first column {first}')


def _shown(value: object) -> str:
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def _yes(flag: bool) -> str:
    return 'yes' if flag else 'no'


def _problems(plugin: Plugin) -> list[str]:
    """What the README lacks or says differently from the manifest."""
    manifest = plugin.manifest
    text = plugin.readme
    sections = _sections(text)
    problems = []
    install = f'pip install imbi-plugin-{plugin.folder.name}'
    if install not in text:
        problems.append(f'no `{install}` line')
    for needed in ('options', 'credentials', 'limits', 'environments'):
        if needed not in sections:
            problems.append(f'no "## {needed.capitalize()}" section')
    if not any('permission' in h or 'policy' in h for h in sections):
        problems.append('no permissions section')
    errors = sections.get('errors', sections.get('results', ''))
    headers = [
        ' '.join(table[0]).lower() for table in _tables(errors) if table
    ]
    lifecycle = manifest.kind == 'lifecycle'
    if not any(
        'host answer' in h or (lifecycle and 'status' in h) for h in headers
    ):
        problems.append('no errors table with a "host answer" column')
    if 'options' in sections:
        options = _table(sections['options'], ('option', 'name'))
        if set(options) != {o.name for o in manifest.options}:
            problems.append(
                f'options table {sorted(options)} is not the manifest '
                f'{sorted(o.name for o in manifest.options)}'
            )
        for option in manifest.options:
            row = options.get(option.name)
            if row is None:
                continue
            if row.get('default', '').strip('`') != _shown(option.default):
                problems.append(f'{option.name}: default differs')
            if row.get('required') != _yes(option.required):
                problems.append(f'{option.name}: required differs')
            shown_type = row.get('type', '')
            # A choice option may list its choices instead of its type.
            choices = [str(c) for c in option.choices or []]
            if not shown_type.startswith(option.type) and not (
                choices and all(f'`{c}`' in shown_type for c in choices)
            ):
                problems.append(f'{option.name}: type differs')
    if 'credentials' in sections:
        credentials = _table(
            sections['credentials'], ('credential', 'field', 'name')
        )
        if manifest.v3:
            # Fields only the v3 manifest has (auth_mode) get a "v3
            # hosts" subsection of their own; the main table stays v1's.
            for heading, body in sections.items():
                if heading.startswith('v3 hosts'):
                    credentials.update(
                        _table(body, ('credential', 'field', 'name'))
                    )
        if set(credentials) != {c.name for c in manifest.credentials}:
            problems.append(
                f'credentials table {sorted(credentials)} is not the '
                f'manifest {sorted(c.name for c in manifest.credentials)}'
            )
        for credential in manifest.credentials:
            row = credentials.get(credential.name)
            if row is not None and row.get('required') != _yes(
                credential.required
            ):
                problems.append(f'{credential.name}: required differs')
    return problems


@pytest.mark.parametrize('plugin', PLUGINS, ids=lambda p: p.manifest.slug)
def test_the_readme_follows_the_template(plugin: Plugin) -> None:
    problems = _problems(plugin)
    assert problems == []


def test_a_readme_that_strays_is_caught(tmp_path: pathlib.Path) -> None:
    # The check itself: a README missing a section and an option, with a
    # wrong default, is reported on each count.
    plugin = PLUGINS[0]
    text = plugin.readme.replace('## Limits', '## Boundaries')
    first = plugin.manifest.options[-1]
    text = re.sub(
        rf'^\| `{first.name}` \|.*$', '', text, count=1, flags=re.MULTILINE
    )
    folder = tmp_path / plugin.folder.name
    folder.mkdir()
    (folder / 'README.md').write_text(text)
    problems = _problems(Plugin(plugin.manifest, folder))
    assert 'no "## Limits" section' in problems
    assert any(p.startswith('options table') for p in problems)
