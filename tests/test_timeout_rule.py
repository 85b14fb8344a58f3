"""One rule for ``timeout_seconds`` in every plugin.

A whole number of seconds from 1 to 300, default 8, the budget of one
whole call. The host's own limit (10 s by default, configurable) still
cancels a call that runs longer: see the root README, "Options every
plugin shares".
"""

import pytest
from imbi_plugin_testing.firstparty import first_party
from imbi_plugin_testing.generation import ManifestView
from imbi_plugin_testing.profiles import outcome, profile_for

#: Profiles are named after the v1 slug, on either generation.
SLUGS = [plugin.slug_v1 for plugin in first_party()]


@pytest.mark.parametrize('slug', SLUGS)
@pytest.mark.parametrize('budget', [0, 301, -5])
async def test_a_budget_outside_1_to_300_is_refused(
    slug: str, budget: int
) -> None:
    made = profile_for(slug)
    assert made is not None
    with made.serving() as (fake, url):
        host = made.make_host(fake, url, budget)
        before = len(fake.requests)
        result = await made.calls[0].run(host)
        sent = fake.requests[before:]
    detail = str(
        getattr(result, 'error', None) or getattr(result, 'message', '')
    )
    assert outcome(result) in ('ValueError', 'failed'), detail
    assert 'timeout_seconds' in detail
    assert sent == []


@pytest.mark.parametrize('slug', SLUGS)
async def test_the_whole_range_is_accepted(slug: str) -> None:
    made = profile_for(slug)
    assert made is not None
    for budget in (1, 300):
        with made.serving() as (fake, url):
            host = made.make_host(fake, url, budget)
            result = await made.calls[0].run(host)
        detail = str(
            getattr(result, 'error', None) or getattr(result, 'message', '')
        )
        assert 'timeout_seconds' not in detail, (budget, detail)


@pytest.mark.parametrize('slug', SLUGS)
def test_the_manifest_says_default_8(slug: str) -> None:
    made = profile_for(slug)
    assert made is not None
    view = ManifestView(made.contract().plugin)
    (option,) = [o for o in view.options if o.name == 'timeout_seconds']
    assert option.type == 'integer'
    assert option.default == 8
    assert not option.required
