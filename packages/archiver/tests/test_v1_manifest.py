"""v1 only: the manifest's shape, the entry point, lazy imports."""

import subprocess
import sys

from imbi_plugin_archiver.plugin import ArchiverPlugin


def test_manifest() -> None:
    manifest = ArchiverPlugin.manifest

    assert (manifest.slug, manifest.name, manifest.plugin_type) == (
        'archiver',
        'GitHub Repository Archiver',
        'lifecycle',
    )
    assert {o.name: o.default for o in manifest.options} == {
        'api_url': 'https://api.github.com',
        'repository': None,
        'archive_owner': None,
        'timeout_seconds': 8,
        'allow_plain_http': False,
    }
    assert [(c.name, c.required) for c in manifest.credentials] == [
        ('token', False),
        ('app_id', False),
        ('private_key', False),
    ]


def test_entry_point_and_lazy_imports() -> None:
    code = (
        'import sys, importlib.metadata as m\n'
        "(ep,) = [e for e in m.entry_points(group='imbi.plugins') "
        "if e.name == 'archiver']\n"
        'cls = ep.load()\n'
        'assert cls.__name__ == "ArchiverPlugin", cls\n'
        "print(sorted(n for n in ('httpx', 'httpcore', 'jwt') "
        'if n in sys.modules))'
    )
    output = subprocess.run(
        [sys.executable, '-c', code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout

    assert output.strip() == '[]'


def test_v1_hosts_see_no_plugin_and_import_no_v3_code() -> None:
    code = (
        'import sys, importlib.metadata as m\n'
        'import imbi_plugin_archiver\n'
        "(ep,) = [e for e in m.entry_points(group='imbi.plugins') "
        "if e.name == 'archiver']\n"
        'ep.load()\n'
        "assert not hasattr(imbi_plugin_archiver, 'PLUGIN')\n"
        "print('imbi_plugin_archiver._v3' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, '-c', code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout

    assert output.strip() == 'False'


def test_manifest_comes_from_spec() -> None:
    from imbi_plugin_archiver import _host, spec

    manifest = ArchiverPlugin.manifest

    assert _host.generation() == 1
    assert _host.api().__name__ == 'imbi_common.plugins'
    assert [o.name for o in manifest.options] == [
        o['name'] for o in spec.options()
    ]
    assert manifest.description == spec.DESCRIPTION
