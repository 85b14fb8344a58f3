"""v1 hosts (imbi-common 2.3-2.11): the entry point, its manifest and the
``run_action`` style.

Collected only where a v1 imbi-common is installed.
"""

import collections.abc
import importlib.metadata
import json
import pathlib
import subprocess
import sys
import typing

import imbi_plugin_sonarqube_sync
import pytest
from imbi_common.plugins import LoadResult, PluginContext, WebhookActionPlugin
from imbi_plugin_sonarqube_sync import spec
from imbi_plugin_sonarqube_sync.handler import SonarQubeHandler
from imbi_plugin_sonarqube_sync.plugin import ACTION, MANIFEST, SonarQubePlugin
from imbi_plugin_testing import ContractSpec, check_plugin_contract_async
from sonarqube_helpers import CONFIG, KEY, World

README = pathlib.Path(__file__).parents[1] / 'README.md'


def test_manifest() -> None:
    assert MANIFEST.slug == 'sonarqube'
    assert MANIFEST.name == 'SonarQube'
    assert MANIFEST.plugin_type == 'webhook'
    assert MANIFEST.api_version == 1
    assert {o.name: o.default for o in MANIFEST.options} == {
        'imbi_url': None,
        'sonarqube_url': None,
        'sonarqube_auth': 'bearer',
        'timeout_seconds': 8,
        'allow_plain_http': False,
    }
    assert {c.name: c.required for c in MANIFEST.credentials} == {
        'api_token': True,
        'imbi_api_key': True,
        'imbi_url': False,
    }
    assert issubclass(SonarQubePlugin, WebhookActionPlugin)
    assert issubclass(SonarQubePlugin, SonarQubeHandler)
    assert ACTION == spec.ACTION


def test_v1_credentials_carry_no_secret_flag() -> None:
    assert all('secret' not in field for field in spec.v1_credentials())


def test_entry_point_names_the_plugin_class() -> None:
    (entry,) = importlib.metadata.entry_points(
        group='imbi.plugins', name='sonarqube'
    )
    assert entry.value == 'imbi_plugin_sonarqube_sync.plugin:SonarQubePlugin'
    assert entry.load() is SonarQubePlugin


def test_real_registry_loads_it(
    installed_plugins: collections.abc.Callable[..., LoadResult],
) -> None:
    # imbi-common 2.5.1+ calls actions() here and rejects a bad catalog.
    result = installed_plugins(SonarQubePlugin)
    assert result.errors == {}
    assert result.skipped == []
    assert result.loaded == ['sonarqube']


def test_no_plugin_attribute_on_v1() -> None:
    with pytest.raises(AttributeError, match='PLUGIN'):
        _ = imbi_plugin_sonarqube_sync.PLUGIN


def test_loading_imports_no_upstream_client_and_no_v3_code() -> None:
    code = (
        'import sys, json\n'
        'from imbi_common.plugins import load_plugins\n'
        'import imbi_plugin_sonarqube_sync as package\n'
        'load_plugins()\n'
        "hasattr(package, 'PLUGIN')\n"
        'from imbi_plugin_sonarqube_sync.plugin import SonarQubePlugin\n'
        'try:\n'
        '    SonarQubePlugin.actions()\n'
        'except NotImplementedError:\n'
        '    pass\n'
        "print(json.dumps([m for m in ('httpx', 'jsonpointer', "
        "'imbi_plugin_sonarqube_sync._v3', 'imbi.common') "
        'if m in sys.modules]))\n'
    )
    output = subprocess.run(
        [sys.executable, '-c', code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(output) == []


async def test_unknown_action_makes_no_request(world: World) -> None:
    response = await world.host().dispatch(
        'sonarqube:update_everything',
        external_identifier=KEY,
        action_config=CONFIG,
        payload=world.sonarqube.webhook_payload(KEY),
    )
    assert response.status == 500
    assert isinstance(response.error, ValueError)
    assert 'update_everything' in str(response.error)
    assert ACTION in str(response.error)
    assert world.network_requests() == 0


def _run_action(config: str) -> typing.Any:
    async def call(
        instance: typing.Any, ctx: PluginContext, creds: dict[str, str]
    ) -> None:
        await instance.run_action(
            ctx,
            creds,
            KEY,
            ACTION,
            config,
            {'taskId': 'x', 'status': 'SUCCESS'},
        )

    return call


async def test_contract_of_run_action() -> None:
    await check_plugin_contract_async(
        ContractSpec(
            plugin=SonarQubePlugin,
            readme=README,
            credentials={
                'api_token': 'squ_contract0000000000000000000000000000',
                'imbi_api_key': 'ik_contract_secret000000000000',
            },
            options=lambda url: {'sonarqube_url': url, 'imbi_url': url},
            call=_run_action(json.dumps(CONFIG)),
            context_kind='webhook',
        )
    )
