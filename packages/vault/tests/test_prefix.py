"""describe_prefix: where the keys live, for imbi-api's prefix route.

imbi-api (2.22+) calls it synchronously for ``GET .../configuration/
prefix`` with the literal environment ``${environment}`` when the
request names none. It runs on both generations (v1 hosts never call
it, but the handler is one class).
"""

import socket
import typing

import pytest
from imbi_plugin_testing import Host
from imbi_plugin_testing.generation import handler_under_test

from .conftest import PLUGIN

URL = 'https://vault.example.com:8200'
PLACEHOLDER = '${environment}'
BY_ENVIRONMENT = '${org_slug}/${project_slug}/${environment}'


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """describe_prefix must answer without a request."""

    def refuse(*args: typing.Any, **kwargs: typing.Any) -> typing.NoReturn:
        raise AssertionError('describe_prefix opened a connection')

    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)


def prefix(
    environment: str | None = PLACEHOLDER,
    project_options: dict[str, typing.Any] | None = None,
    project: dict[str, typing.Any] | None = None,
    **options: typing.Any,
) -> str | None:
    host = Host(
        PLUGIN,
        plugin_options={'url': URL, **options},
        project_options=project_options,
        credentials={'token': 'hvs.prefix-token'},
    )
    ctx = host.context(
        'configuration', environment=environment, **(project or {})
    )
    handler = handler_under_test('imbi_plugin_vault')()
    answer: str | None = handler.describe_prefix(ctx)
    return answer


def test_default_options() -> None:
    assert prefix() == 'secret/aweber/billing-api'


def test_the_environment_placeholder_stays() -> None:
    assert prefix(path_template=BY_ENVIRONMENT) == (
        'secret/aweber/billing-api/${environment}'
    )


def test_no_environment_is_the_placeholder_too() -> None:
    assert prefix(None, path_template=BY_ENVIRONMENT) == (
        'secret/aweber/billing-api/${environment}'
    )


def test_a_named_environment_is_expanded() -> None:
    assert prefix('production', path_template=BY_ENVIRONMENT) == (
        'secret/aweber/billing-api/production'
    )


def test_mount_namespace_and_every_variable() -> None:
    assert (
        prefix(
            mount_path='/teams/kv/',
            namespace='/eng/payments/',
            path_template='/${team_slug}/${environment}/${project_id}/',
        )
        == 'eng/payments/teams/kv/payments/${environment}/prj-0001'
    )


def test_a_project_override_of_the_folder() -> None:
    # v3 layers capability options per project type and project.
    assert (
        prefix(project_options={'path_template': 'apps/${project_slug}'})
        == 'secret/apps/billing-api'
    )


def test_options_the_calls_would_refuse_do_not_matter() -> None:
    # Only the mount and the folder say where the keys are.
    assert prefix(url='ftp://nowhere', timeout_seconds='x') == (
        'secret/aweber/billing-api'
    )


@pytest.mark.parametrize(
    ('options', 'project'),
    [
        ({'path_template': '${unknown}/x'}, {}),
        ({'path_template': '${org_slug}/${team_slug}'}, {'team_slug': ''}),
        ({'path_template': '${org_slug}/../x'}, {}),
        ({'path_template': 7}, {}),
        ({'mount_path': 'a//b'}, {}),
        ({'namespace': 5}, {}),
    ],
    ids=[
        'unknown-variable',
        'empty-variable',
        'dot-dot',
        'not-a-string',
        'bad-mount',
        'bad-namespace',
    ],
)
def test_unknown_where_the_options_cannot_say(
    options: dict[str, typing.Any], project: dict[str, typing.Any]
) -> None:
    assert prefix(project=project, **options) is None


def test_an_environment_template_never_raises() -> None:
    for environment in (PLACEHOLDER, None, 'staging', ''):
        for template in (BY_ENVIRONMENT, '${environment}', 'x${environment}'):
            assert prefix(environment, path_template=template) is not None
