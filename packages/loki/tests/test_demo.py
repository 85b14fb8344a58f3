"""The `imbi-plugins demo` scenario for loki runs green."""

from imbi_plugin_testing.scenarios import Steps, scenario_for


async def test_demo_scenario() -> None:
    module = scenario_for('loki')
    assert module is not None
    steps = Steps('loki')
    await module.run(steps)
    failed = [r for r in steps.results if not r.ok]
    assert failed == []
    assert len(steps.results) == 9
