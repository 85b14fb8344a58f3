"""The README says what the manifest and the code do."""

import json

from github_identity_helpers import README
from imbi_plugin_github_identity import spec


def _section(title: str) -> str:
    text = README.read_text(encoding='utf-8')
    assert f'\n## {title}\n' in text, f'README has no "## {title}"'
    return text.split(f'\n## {title}\n', 1)[1].split('\n## ', 1)[0]


def _table_rows(section: str) -> list[list[str]]:
    rows = [
        [cell.strip() for cell in line.strip().strip('|').split('|')]
        for line in section.splitlines()
        if line.startswith('|')
    ]
    return rows[2:]  # header and separator


def test_option_defaults_match_the_manifest() -> None:
    # The host shows the manifest's default; a default cell that the
    # manifest does not have (api_url: "derived") misleads.
    defaults = {row[0]: row[3] for row in _table_rows(_section('Options'))}
    for option in spec.options():
        default = option.get('default')
        expected = (
            ''
            if default is None
            else '`'
            + (default if isinstance(default, str) else json.dumps(default))
            + '`'
        )
        assert defaults.pop(f'`{option["name"]}`') == expected, option
    assert not defaults


def test_permissions_name_the_scopes_and_app_permission() -> None:
    section = _section('Permissions')
    for scope in [*spec.DEFAULT_SCOPES, 'read:org']:
        assert f'`{scope}`' in section, scope
    assert 'Email addresses: Read-only' in section
    for endpoint in ('/user', '/user/emails', '/user/orgs'):
        assert f'`GET {endpoint}`' in section, endpoint
