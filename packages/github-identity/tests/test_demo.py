"""The ``imbi-plugins demo`` scenario of this plugin runs clean."""

from imbi_plugin_testing import SecretScan
from imbi_plugin_testing.scenarios import Steps, scenario_for
from imbi_plugin_testing.scenarios import github as scenario


async def test_demo_scenario(secret_scan: SecretScan) -> None:
    module = scenario_for('github')
    assert module is scenario
    steps = Steps('github')
    await scenario.run(steps)
    assert steps.results
    assert all(result.ok for result in steps.results), steps.results
    # Client IDs are identifiers, in the revoke path by GitHub's design.
    secret_scan.secrets -= {
        scenario.OAUTH_APP_CLIENT_ID,
        scenario.GITHUB_APP_CLIENT_ID,
    }
