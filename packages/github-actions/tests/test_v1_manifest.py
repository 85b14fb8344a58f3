"""v1 hosts: the entry point, the v1 manifest and what it imports."""

import subprocess
import sys

from imbi_plugin_github_actions.plugin import GitHubActionsPlugin


def test_entry_point_and_manifest() -> None:
    from importlib.metadata import entry_points

    (ep,) = [
        e
        for e in entry_points(group='imbi.plugins')
        if e.name == 'github-actions'
    ]
    assert ep.value == 'imbi_plugin_github_actions.plugin:GitHubActionsPlugin'
    manifest = GitHubActionsPlugin.manifest
    assert (manifest.slug, manifest.name, manifest.plugin_type) == (
        'github-actions',
        'GitHub Actions',
        'deployment',
    )
    assert manifest.supports_deployment_sync is True
    assert [(c.name, c.required) for c in manifest.credentials] == [
        ('token', False),
        ('app_id', False),
        ('private_key', False),
    ]
    assert [o.name for o in manifest.options] == [
        'api_url',
        'repository',
        'workflow',
        'sha_input',
        'correlation_input',
        'timeout_seconds',
        'allow_plain_http',
    ]


def test_plugin_module_does_not_import_httpx() -> None:
    code = (
        'import sys, imbi_plugin_github_actions.plugin\n'
        'bad = [m for m in ("httpx", "jwt",'
        ' "imbi_plugin_github_actions.client",'
        ' "imbi_plugin_github_actions.app_auth",'
        ' "imbi_plugin_github_actions._v3")'
        ' if m in sys.modules]\n'
        'assert not bad, bad\n'
    )
    subprocess.run([sys.executable, '-c', code], check=True)


def test_v1_hosts_see_no_plugin_attribute() -> None:
    code = (
        'import sys, imbi_plugin_github_actions as m\n'
        'assert not hasattr(m, "PLUGIN")\n'
        'assert "imbi_plugin_github_actions._v3" not in sys.modules\n'
    )
    subprocess.run([sys.executable, '-c', code], check=True)
