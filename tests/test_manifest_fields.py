"""Every manifest field carries a description: it is what the Imbi UI shows.

The option and credential forms of the Imbi UI show each field's label
and description, and nothing else: a field without a description leaves
an operator guessing what to enter.
"""

import pytest
from imbi_common.plugins import PluginManifest, list_plugins, load_plugins


def _manifests() -> list[PluginManifest]:
    load_plugins()
    return sorted(
        (
            e.manifest
            for e in list_plugins()
            if e.package_name.startswith('imbi-plugin-')
        ),
        key=lambda m: m.slug,
    )


@pytest.mark.parametrize('manifest', _manifests(), ids=lambda m: m.slug)
def test_every_field_is_described(manifest: PluginManifest) -> None:
    fields = [(o.name, o.description) for o in manifest.options] + [
        (c.name, c.description) for c in manifest.credentials
    ]
    undescribed = [name for name, text in fields if not (text or '').strip()]
    assert undescribed == []
    assert (manifest.description or '').strip()
