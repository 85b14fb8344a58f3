"""The matrix profile's calls succeed against a healthy stand-in.

The cross-package fault matrix (tests/test_matrices.py) only shows that
each fault ends as documented; this shows that without the fault every
call of the profile answers, so those outcomes come from the faults.
"""

import pytest
from imbi_plugin_testing.profiles import (
    MATRIX_BUDGET_SECONDS,
    UpstreamCall,
    outcome,
)
from imbi_plugin_testing.profiles.github_actions import profile

PROFILE = profile()


@pytest.mark.parametrize('call', PROFILE.calls, ids=lambda c: c.name)
async def test_call_answers_without_a_fault(call: UpstreamCall) -> None:
    with PROFILE.serving() as (fake, url):
        host = PROFILE.make_host(fake, url, MATRIX_BUDGET_SECONDS)
        response = await call.run(host)
    assert outcome(response) == 'ok', getattr(response, 'body', response)


def test_every_upstream_method_is_covered() -> None:
    names = {c.name for c in PROFILE.calls}
    assert names == {
        'list_refs',
        'list_commits',
        'resolve_committish',
        'compare',
        'trigger_deployment',
        'get_deployment_status',
        'get_check_status',
        'create_tag',
        'create_release',
        'list_workflows',
        'list_recent_deployments',
    }
