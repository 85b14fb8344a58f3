"""The first-party plugins installed here, in either plugin API generation.

Each of our distributions (``imbi-plugin-<folder>``) keeps its v1
``imbi.plugins`` entry point on every release, so the installed
metadata names its top-level module and its v1 slug whichever
imbi-common is installed; reading it imports nothing. The slug a host
registers is the v1 one on v1 hosts and the v3 manifest's on v3 hosts
(``github-identity`` and ``sonarqube-sync`` differ from their v1 slugs).

Profiles and demo scenarios are named after the v1 slug.

The harness is named ``imbi_plugin_testing``, so a v3 registry's
convention scan (every top-level ``imbi_plugin_*`` module) imports it
too, finds no ``PLUGIN`` and records a load error under that name. It is
not a plugin and never belongs in a host's environment: the command and
the tests report that error apart (:func:`split_harness`).
"""

import dataclasses
import importlib.metadata

from imbi_plugin_testing import generation

PREFIX = 'imbi-plugin-'
HARNESS_DISTRIBUTION = 'imbi-plugin-testing'
HARNESS_MODULE = 'imbi_plugin_testing'
_GROUP = 'imbi.plugins'


@dataclasses.dataclass(frozen=True)
class FirstParty:
    """One installed first-party plugin distribution."""

    distribution: str
    module: str
    slug_v1: str
    #: The v1 entry point's target, ``module.path:Class``.
    entry_point: str

    @property
    def folder(self) -> str:
        """Its folder under ``packages/``."""
        return self.distribution.removeprefix(PREFIX)

    @property
    def slug(self) -> str:
        """The slug the installed host registers it under."""
        if generation.V3:
            plugin = generation.plugin_under_test(self.module)
            return str(plugin.manifest.slug)  # type: ignore[attr-defined]
        return self.slug_v1


def first_party() -> list[FirstParty]:
    """Every installed ``imbi-plugin-*`` distribution but the harness."""
    found = {}
    for ep in importlib.metadata.entry_points(group=_GROUP):
        dist = ep.dist
        if dist is None or not dist.name.startswith(PREFIX):
            continue
        if dist.name == HARNESS_DISTRIBUTION:
            continue
        module = ep.value.split(':', 1)[0].split('.', 1)[0]
        found[dist.name] = FirstParty(dist.name, module, ep.name, ep.value)
    return sorted(found.values(), key=lambda p: p.slug_v1)


def by_module(module: str) -> FirstParty | None:
    """The installed first-party plugin whose top-level module it is."""
    top = module.split('.', 1)[0]
    for plugin in first_party():
        if plugin.module == top:
            return plugin
    return None


def split_harness(
    errors: dict[str, str],
) -> tuple[dict[str, str], str | None]:
    """A load result's errors without the harness's, and the harness's."""
    rest = {k: v for k, v in errors.items() if k != HARNESS_MODULE}
    return rest, errors.get(HARNESS_MODULE)
