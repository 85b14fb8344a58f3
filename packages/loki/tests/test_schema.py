"""schema(): labels of the project's streams and fields seen in lines."""

import json
import time
import typing
import urllib.parse

import pytest

if typing.TYPE_CHECKING:
    from conftest import Loki

SECOND = 1_000_000_000
OPS = ['eq', 'ne', 'contains', 'starts_with', 'regex']


def _recent(lines: list[str]) -> list[tuple[int, str]]:
    now = time.time_ns()
    return [(now - (i + 1) * SECOND, line) for i, line in enumerate(lines)]


async def test_labels_for_raw_lines(loki: Loki) -> None:
    loki.fake.now_ns = None
    loki.push(_recent(['x']), level='info', pod='a')
    loki.fake.push(
        {'service_name': 'other', 'team': 'x'}, _recent(['y']), 'team-a'
    )
    response = await loki.host().schema()
    assert response.status == 200, response.body
    assert response.body == [
        {
            'name': 'message',
            'label': 'Message',
            'kind': 'message',
            'type': 'string',
            'ops': OPS,
        },
        *(
            {
                'name': name,
                'label': label,
                'kind': 'label',
                'type': 'string',
                'ops': OPS,
            }
            for name, label in [
                ('env', 'Env'),
                ('level', 'Level'),
                ('pod', 'Pod'),
                ('service_name', 'Service name'),
            ]
        ),
    ]
    (request,) = loki.fake.requests
    params = dict(urllib.parse.parse_qsl(request.query))
    assert request.path == '/loki/api/v1/labels'
    assert params['query'] == '{service_name="billing-api"}'
    assert int(params['end']) - int(params['start']) == 3600 * SECOND


@pytest.mark.parametrize(
    ('line_format', 'lines'),
    [
        (
            'json',
            [
                json.dumps(
                    {'message': 'm', 'status': 200, 'http': {'verb': 'GET'}}
                ),
                json.dumps({'user.id': 'u1', 'level': 'info'}),
                'not json at all',
            ],
        ),
        (
            'logfmt',
            ['message=m status=200 http.verb=GET', 'user.id=u1 level=info'],
        ),
    ],
)
async def test_fields_sampled_from_recent_lines(
    loki: Loki, line_format: str, lines: list[str]
) -> None:
    loki.fake.now_ns = None
    loki.push(_recent(lines))
    response = await loki.host(line_format=line_format).schema()
    assert response.status == 200, response.body
    kinds = {entry['name']: entry['kind'] for entry in response.body}
    assert kinds == {
        'message': 'message',
        'env': 'label',
        'service_name': 'label',
        'http_verb': 'field',
        'level': 'field',
        'status': 'field',
        'user_id': 'field',
    }
    sample = next(
        dict(urllib.parse.parse_qsl(r.query))
        for r in loki.fake.requests_to('/query_range$')
    )
    assert sample['query'] == f'{{service_name="billing-api"}} | {line_format}'
    assert sample['direction'] == 'backward'


async def test_schema_of_a_project_without_logs(loki: Loki) -> None:
    response = await loki.host(line_format='json').schema()
    assert [e['name'] for e in response.body] == ['message']


async def test_null_label_list_is_empty(loki: Loki) -> None:
    from imbi_plugin_testing import Fault

    loki.fake.inject(
        Fault(status=200, body={'status': 'success', 'data': None})
    )
    response = await loki.host().schema()
    assert [e['name'] for e in response.body] == ['message']
