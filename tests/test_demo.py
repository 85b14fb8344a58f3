"""The demo drives every installed plugin through its scenario, all green."""

import json

import pytest
from imbi_plugin_testing import cli


def test_demo_is_all_green(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(['demo', '--json'])
    report = json.loads(capsys.readouterr().out)
    failures = [p for p in report['plugins'] if not p['ok']]
    assert failures == []
    assert code == 0
