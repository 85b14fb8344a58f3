"""The Imbi API stand-in: JSON Patch of a project, keys, error shapes."""

import collections.abc
import json
import typing

import httpx
import pytest
from imbi_plugin_testing.fakes.imbi_api import ImbiApiFake

URL = '/organizations/acme/projects/prj-1'
JSON_PATCH = {'Content-Type': 'application/json-patch+json'}


@pytest.fixture
def fake() -> ImbiApiFake:
    fake = ImbiApiFake()
    fake.add_project('acme', 'prj-1', name='Service', quality={'sonar': {}})
    return fake


@pytest.fixture
async def client(
    fake: ImbiApiFake,
) -> collections.abc.AsyncIterator[httpx.AsyncClient]:
    key = fake.issue_api_key()
    async with httpx.AsyncClient(
        transport=fake.transport(),
        base_url='http://imbi.test',
        headers={'Authorization': f'Bearer {key}'},
    ) as http:
        yield http


async def _patch(
    client: httpx.AsyncClient,
    operations: typing.Any,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.patch(
        URL,
        content=json.dumps(operations),
        headers=headers or JSON_PATCH,
    )


async def test_patch_applies_and_is_stored(
    fake: ImbiApiFake, client: httpx.AsyncClient
) -> None:
    before = fake.project('acme', 'prj-1')['updated_at']
    response = await _patch(
        client,
        [
            {'op': 'add', 'path': '/coverage', 'value': 81.5},
            {'op': 'add', 'path': '/quality/sonar/gate', 'value': 'OK'},
            {'op': 'replace', 'path': '/name', 'value': 'Renamed'},
            {'op': 'test', 'path': '/name', 'value': 'Renamed'},
        ],
    )
    assert response.status_code == 200
    stored = fake.project('acme', 'prj-1')
    assert response.json() == stored
    assert stored['coverage'] == 81.5
    assert stored['quality'] == {'sonar': {'gate': 'OK'}}
    assert stored['name'] == 'Renamed'
    assert stored['updated_at'] >= before
    got = await client.get(URL)
    assert got.json()['coverage'] == 81.5


async def test_patch_with_plain_json_content_type(
    client: httpx.AsyncClient,
) -> None:
    response = await _patch(
        client,
        [{'op': 'add', 'path': '/a', 'value': 1}],
        {'Content-Type': 'application/json'},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ('operations', 'message'),
    [
        (
            [{'op': 'add', 'path': '/id', 'value': 'x'}],
            "Path '/id' is read-only",
        ),
        (
            [{'op': 'remove', 'path': '/created_at'}],
            "Path '/created_at' is read-only",
        ),
        ([{'op': 'add', 'path': '', 'value': {}}], "Path '' is read-only"),
        (
            [{'op': 'move', 'from': '/id', 'path': '/old_id'}],
            "Path '/id' is read-only",
        ),
        ([{'op': 'add', 'path': 'name', 'value': 1}], 'must start with /'),
        ([{'op': 'copy', 'path': '/x', 'from': 5}], 'Invalid JSON Patch from'),
        ([{'op': 'add', 'value': 1}], 'Invalid JSON Patch path: None'),
        ([{'op': 'merge', 'path': '/a'}], "operation: 'merge'"),
        (['add'], "operation: 'add'"),
        (
            [{'op': 'add', 'path': '/nowhere/x', 'value': 1}],
            "member 'nowhere' not found",
        ),
        ([{'op': 'add', 'path': '/a'}], "does not contain a 'value'"),
        (
            [
                {'op': 'add', 'path': '/a', 'value': 1},
                {'op': 'test', 'path': '/a', 'value': 2},
            ],
            'Invalid JSON Patch',
        ),
    ],
)
async def test_patch_refused_with_400(
    fake: ImbiApiFake,
    client: httpx.AsyncClient,
    operations: list[typing.Any],
    message: str,
) -> None:
    before = json.dumps(fake.project('acme', 'prj-1'))
    response = await _patch(client, operations)
    assert response.status_code == 400
    assert message in response.json()['detail']
    # Atomic: nothing of a refused patch is kept.
    assert json.dumps(fake.project('acme', 'prj-1')) == before


async def test_copy_from_a_read_only_member_is_allowed(
    client: httpx.AsyncClient,
) -> None:
    response = await _patch(
        client, [{'op': 'copy', 'from': '/id', 'path': '/legacy_id'}]
    )
    assert response.status_code == 200
    assert response.json()['legacy_id'] == 'prj-1'


@pytest.mark.parametrize(
    ('content', 'headers', 'kind'),
    [
        ('{"op": "add"}', JSON_PATCH, 'list_type'),
        ('[{"op": ', JSON_PATCH, 'json_invalid'),
        ('[]', {'Content-Type': 'text/plain'}, 'list_type'),
    ],
)
async def test_body_that_is_no_patch_list_is_422(
    client: httpx.AsyncClient,
    content: str,
    headers: dict[str, str],
    kind: str,
) -> None:
    response = await client.patch(URL, content=content, headers=headers)
    assert response.status_code == 422
    (error,) = response.json()['detail']
    assert error['type'] == kind
    assert error['loc'][0] == 'body'


async def test_typed_fields_are_validated_with_422(
    fake: ImbiApiFake, client: httpx.AsyncClient
) -> None:
    fake.field_types = {
        '/coverage': (int, float),
        '/count': (int,),
        '/absent': (str,),
    }
    ok = await _patch(client, [{'op': 'add', 'path': '/coverage', 'value': 1}])
    assert ok.status_code == 200
    for value in ('81%', True):
        response = await _patch(
            client, [{'op': 'add', 'path': '/coverage', 'value': value}]
        )
        assert response.status_code == 422
        (error,) = response.json()['detail']
        assert error['loc'] == ['body', 'coverage']
        assert error['msg'] == 'Input should be int or float'
    flag = await _patch(client, [{'op': 'add', 'path': '/count', 'value': 2}])
    assert flag.status_code == 200


async def test_authentication_and_permission(fake: ImbiApiFake) -> None:
    read_only = fake.issue_api_key(('project:read',))
    assert read_only.startswith('ik_')
    cases = [
        ({}, 401, 'Not authenticated'),
        ({'Authorization': 'Basic abc'}, 401, 'Not authenticated'),
        ({'Authorization': 'Bearer ik_x_y'}, 401, 'Invalid API key'),
        (
            {'Authorization': f'Bearer {read_only}'},
            403,
            'Permission denied: project:write required',
        ),
    ]
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://imbi.test'
    ) as http:
        for headers, status, detail in cases:
            response = await http.patch(
                URL, content='[]', headers={**JSON_PATCH, **headers}
            )
            assert response.status_code == status
            assert response.json() == {'detail': detail}
        got = await http.get(
            URL, headers={'Authorization': f'Bearer {read_only}'}
        )
        assert got.status_code == 200


async def test_unknown_project_is_404(client: httpx.AsyncClient) -> None:
    response = await client.patch(
        '/organizations/acme/projects/prj-404',
        content='[]',
        headers=JSON_PATCH,
    )
    assert response.status_code == 404
    assert response.json() == {'detail': "Project 'prj-404' not found"}
    other_org = await client.get('/organizations/other/projects/prj-1')
    assert other_org.status_code == 404
