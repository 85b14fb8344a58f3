"""The GitHub workflows: actions pinned by commit, no persisted token."""

import pathlib
import re

import pytest

WORKFLOWS = sorted(
    (
        pathlib.Path(__file__).resolve().parent.parent / '.github/workflows'
    ).glob('*.yml')
)
_USES = re.compile(r'^\s*-?\s*uses:\s*(?P<action>\S+)(?P<rest>.*)$', re.M)


@pytest.mark.parametrize('workflow', WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_commit(workflow: pathlib.Path) -> None:
    uses = list(_USES.finditer(workflow.read_text()))
    assert uses
    for use in uses:
        name, _, ref = use['action'].partition('@')
        assert re.fullmatch(r'[0-9a-f]{40}', ref), use['action']
        # The release the commit is, for a reader and for updates.
        assert re.fullmatch(r'\s*# v\d+(\.\d+)*', use['rest']), name


@pytest.mark.parametrize('workflow', WORKFLOWS, ids=lambda p: p.name)
def test_checkout_keeps_no_credentials(workflow: pathlib.Path) -> None:
    text = workflow.read_text()
    checkouts = text.count('uses: actions/checkout@')
    assert checkouts
    assert text.count('persist-credentials: false') == checkouts
