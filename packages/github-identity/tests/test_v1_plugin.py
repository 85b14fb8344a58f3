"""v1 hosts (imbi-common 2.3-2.11): the entry point and its manifest.

Collected only where a v1 imbi-common is installed.
"""

import collections.abc
import importlib.metadata
import json
import subprocess
import sys
import typing

import imbi_plugin_github_identity
import pytest
from imbi_plugin_github_identity import spec
from imbi_plugin_github_identity.handler import GitHubIdentityHandler
from imbi_plugin_github_identity.plugin import (
    DEFAULT_SCOPES,
    MANIFEST,
    GitHubIdentityPlugin,
)

LoadPlugins = collections.abc.Callable[..., typing.Any]


def test_manifest() -> None:
    assert MANIFEST.slug == 'github'
    assert MANIFEST.name == 'GitHub'
    assert MANIFEST.plugin_type == 'identity'
    assert MANIFEST.auth_type == 'oauth2'
    assert MANIFEST.api_version == 1
    assert MANIFEST.login_capable is True
    assert (
        MANIFEST.default_scopes
        == DEFAULT_SCOPES
        == [
            'read:user',
            'user:email',
        ]
    )
    assert MANIFEST.widget_text == spec.WIDGET_TEXT
    assert {o.name: o.default for o in MANIFEST.options} == {
        'github_url': 'https://github.com',
        'api_url': None,
        'allow_plain_http': False,
        'timeout_seconds': 8,
        'use_pkce': True,
        'allow_signup': False,
        'include_organizations': True,
    }
    assert [(c.name, c.required) for c in MANIFEST.credentials] == [
        ('client_id', True),
        ('client_secret', True),
    ]


def test_v1_credentials_carry_no_secret_flag() -> None:
    # v1 2.5.0's CredentialField has no ``secret``; passing it would be a
    # v3 promise a v1 host does not keep.
    assert all('secret' not in field for field in spec.v1_credentials())
    assert any('secret' in field for field in spec.CREDENTIALS)


def test_plugin_class() -> None:
    from imbi_common.plugins import IdentityPlugin

    assert issubclass(GitHubIdentityPlugin, IdentityPlugin)
    assert issubclass(GitHubIdentityPlugin, GitHubIdentityHandler)
    assert GitHubIdentityPlugin.manifest is MANIFEST


def test_entry_point_names_the_plugin_class() -> None:
    (entry,) = importlib.metadata.entry_points(
        group='imbi.plugins', name='github'
    )
    assert entry.value == (
        'imbi_plugin_github_identity.plugin:GitHubIdentityPlugin'
    )
    assert entry.load() is GitHubIdentityPlugin


def test_real_registry_loads_it(installed_plugins: LoadPlugins) -> None:
    result = installed_plugins(GitHubIdentityPlugin)
    assert result.errors == {}
    assert result.loaded == ['github']


def test_no_plugin_attribute_on_v1() -> None:
    with pytest.raises(AttributeError, match='PLUGIN'):
        _ = imbi_plugin_github_identity.PLUGIN
    assert not hasattr(imbi_plugin_github_identity, 'PLUGIN')


def test_loading_imports_no_v3_code_and_no_httpx() -> None:
    code = (
        'import sys, json\n'
        'from imbi_common.plugins import load_plugins\n'
        'import imbi_plugin_github_identity as package\n'
        'load_plugins()\n'
        "hasattr(package, 'PLUGIN')\n"
        'from imbi_plugin_github_identity.plugin import '
        'GitHubIdentityPlugin\n'
        "print(json.dumps(sorted(m for m in ('imbi_plugin_github_identity."
        "_v3', 'imbi.common', 'httpx') if m in sys.modules)))\n"
    )
    output = subprocess.run(
        [sys.executable, '-c', code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(output) == []
