"""Every plugin words a missing credential the same way, naming the field.

``credential '<name>' is missing`` (then, after a colon, what to do): an
operator reads one sentence for all plugins, and ``imbi-plugins call``
can name the environment variable that gives the field.
"""

import re

import pytest
from imbi_plugin_testing._host import PluginCredentialsMissing
from imbi_plugin_testing.context import make_context
from imbi_plugin_testing.firstparty import first_party
from imbi_plugin_testing.generation import ManifestView, handler_of
from imbi_plugin_testing.profiles import profile_for

#: Profiles are named after the v1 slug, on either generation.
SLUGS = [plugin.slug_v1 for plugin in first_party()]
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
        await spec.call(
            handler_of(spec.plugin)(), ctx, dict(PARTIAL.get(slug, {}))
        )
    match = _WORDING.match(str(raised.value))
    assert match, str(raised.value)
    credentials = ManifestView(spec.plugin).credentials
    assert match['name'] in {c.name for c in credentials}
