"""Every manifest field carries a description: it is what the Imbi UI shows.

The option and credential forms of the Imbi UI show each field's label
and description, and nothing else: a field without a description leaves
an operator guessing what to enter.
"""

import pytest
from imbi_plugin_testing.firstparty import first_party
from imbi_plugin_testing.generation import ManifestView, plugin_under_test


def _manifests() -> list[ManifestView]:
    # v3: Integration and capability options alike.
    return [ManifestView(plugin_under_test(p.module)) for p in first_party()]


@pytest.mark.parametrize('view', _manifests(), ids=lambda m: m.slug)
def test_every_field_is_described(view: ManifestView) -> None:
    fields = [(o.name, o.description) for o in view.options] + [
        (c.name, c.description) for c in view.credentials
    ]
    undescribed = [name for name, text in fields if not (text or '').strip()]
    assert undescribed == []
    assert (view.manifest.description or '').strip()
