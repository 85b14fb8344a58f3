"""The `vault` demo scenario runs green."""

from imbi_plugin_testing.scenarios import Steps, scenario_for


async def test_demo_scenario() -> None:
    module = scenario_for('vault')
    assert module is not None
    steps = Steps('vault')
    await module.run(steps)
    assert [r.name for r in steps.results if not r.ok] == []
    assert len(steps.results) == 6
