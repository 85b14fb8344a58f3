"""Every plugin words a missing credential the same way, naming the field.

``credential '<name>' is missing`` (then, after a colon, what to do): an
operator reads one sentence for all plugins, and ``imbi-plugins call``
can name the environment variable that gives the field.
"""

import importlib.metadata
import re

import pytest
from imbi_common.plugins import PluginCredentialsMissing
from imbi_plugin_testing.context import make_context
from imbi_plugin_testing.profiles import profile_for

SLUGS = sorted(
    ep.name
    for ep in importlib.metadata.entry_points(group='imbi.plugins')
    if ep.dist is not None and ep.dist.name.startswith('imbi-plugin-')
)
#: Credentials that leave one required field out; {} unless a plugin
#: works without any (an open Loki).
PARTIAL: dict[str, dict[str, str]] = {'loki': {'username': 'reader'}}
_WORDING = re.compile(r"^credential '(?P<name>[a-z_]+)' is missing(: .+)?$")


@pytest.mark.parametrize('slug', SLUGS)
async def test_a_missing_credential_is_named(slug: str) -> None:
    made = profile_for(slug)
    assert made is not None
    spec = made.contract()
    ctx = make_context(
        spec.context_kind,
        options=spec.options('http://127.0.0.1:9'),
    )
    with pytest.raises(PluginCredentialsMissing) as raised:
        await spec.call(spec.plugin(), ctx, dict(PARTIAL.get(slug, {})))
    match = _WORDING.match(str(raised.value))
    assert match, str(raised.value)
    manifest = spec.plugin.manifest  # type: ignore[attr-defined]
    assert match['name'] in {c.name for c in manifest.credentials}
