"""The host's registry with our built plugin wheels installed."""

import os
import typing
import zipfile

Imbi = typing.Any


def _modules() -> list[str]:
    """Top-level modules of the plugin wheels ``nox -s host_v3``
    installed (``IMBI_HOST_PLUGIN_WHEELS``)."""
    found = []
    for whl in filter(
        None, os.environ.get('IMBI_HOST_PLUGIN_WHEELS', '').split(os.pathsep)
    ):
        with zipfile.ZipFile(whl) as archive:
            names = {n.split('/', 1)[0] for n in archive.namelist()}
        found.extend(
            n
            for n in names
            if n.startswith('imbi_plugin_') and n.isidentifier()
        )
    return sorted(found)


def test_every_installed_plugin_loads(imbi: Imbi) -> None:
    import importlib

    assert imbi.load.errors == {}, imbi.load.errors
    assert imbi.load.skipped == []
    for name in _modules():
        plugin = importlib.import_module(name).PLUGIN
        assert plugin.manifest.slug in imbi.load.loaded, name
    # The host's own start-up seeds each one disabled for the admin.
    assert set(imbi.graph.registrations) == set(imbi.load.loaded)
    assert not any(imbi.graph.registrations.values())


#: Our seven distributions' v3 slugs (issue 21).
OURS = {
    'vault',
    'loki',
    'cloudwatch',
    'github-identity',
    'github-actions',
    'sonarqube-sync',
    'archiver',
}


def test_all_seven_load_next_to_the_hosts_own(imbi: Imbi) -> None:
    """Beside the first-party github plugin (slug github) that imbi-api
    depends on from 2.32 (2.31 ships none), with no duplicate slug and no
    error."""
    import importlib.metadata

    assert set(_modules()) == {
        'imbi_plugin_' + slug.replace('-', '_') for slug in OURS
    }
    assert set(imbi.load.loaded) >= OURS
    assert imbi.load.errors == {}
    try:
        importlib.metadata.version('imbi-plugin-github')
    except importlib.metadata.PackageNotFoundError:
        assert 'github' not in imbi.load.loaded
    else:
        assert 'github' in imbi.load.loaded
