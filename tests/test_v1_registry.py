"""v1 hosts (imbi-common 2.3-2.11): entry points, and no v3 code loaded."""

import typing

from imbi_plugin_testing.firstparty import first_party

#: The v1 slugs operators' assignments and webhook rules name.
V1_SLUGS = {
    'vault',
    'loki',
    'cloudwatch',
    'github',
    'github-actions',
    'sonarqube',
    'archiver',
}


def test_every_plugin_registers_under_its_v1_slug(
    load_in_a_fresh_host: typing.Any,
) -> None:
    found = load_in_a_fresh_host()
    assert found['errors'] == {}
    assert found['skipped'] == []
    slugs = {p.slug_v1 for p in first_party()}
    assert slugs <= set(found['loaded'])
    assert slugs <= V1_SLUGS


def test_a_v1_host_imports_no_v3_module(
    load_in_a_fresh_host: typing.Any,
) -> None:
    found = load_in_a_fresh_host()
    modules = set(found['modules'])
    for plugin in first_party():
        assert plugin.entry_point.split(':', 1)[0] in modules
        assert f'{plugin.module}._v3' not in modules
    assert not [m for m in modules if m.startswith('imbi.')]
