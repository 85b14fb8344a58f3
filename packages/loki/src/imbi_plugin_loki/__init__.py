"""Imbi logs plugin for Grafana Loki (search, schema, histogram)."""

import typing


def __getattr__(name: str) -> typing.Any:
    # v3 registries (imbi-common 2.12+) import every imbi_plugin_* module
    # and read PLUGIN; v1 hosts never ask, so they import no v3 code.
    if name == 'PLUGIN':
        from imbi_plugin_loki import _host

        if _host.generation() == 3:
            from imbi_plugin_loki import _v3

            return _v3.PLUGIN
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
