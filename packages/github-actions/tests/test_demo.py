"""The demo scenario runs green and quickly."""

from imbi_plugin_testing.scenarios import Steps, scenario_for


async def test_demo_scenario() -> None:
    module = scenario_for('github-actions')
    assert module is not None
    steps = Steps('github-actions')
    await module.run(steps)
    assert [r.ok for r in steps.results] == [True] * 5, steps.results
    assert sum(r.seconds for r in steps.results) < 5
