"""Searches with a botocore whose FilterLogEvents model predates
``startFromHead`` (added in botocore 1.44.0; imbi-api 2.5.1 resolves
1.40.x). Such a model refuses the parameter before sending anything, and
without it CloudWatch returns the OLDEST events first, so newest-first
searches go to Logs Insights instead. On an old botocore (the compat
session's floor run) the model is old already; on a new one the fixture
takes the parameter out of the loaded model."""

import copy
import typing

import botocore.loaders
import pytest

Env = typing.Any


def _has_start_from_head() -> bool:
    import botocore.session

    model = botocore.session.get_session().get_service_model('logs')
    shape = model.operation_model('FilterLogEvents').input_shape
    return shape is not None and 'startFromHead' in shape.members


@pytest.fixture
def old_model(monkeypatch: pytest.MonkeyPatch) -> None:
    original = botocore.loaders.Loader.load_service_model

    def without(
        self: botocore.loaders.Loader,
        service_name: str,
        type_name: str,
        api_version: str | None = None,
    ) -> typing.Any:
        model = original(self, service_name, type_name, api_version)
        if service_name != 'logs' or type_name != 'service-2':
            return model
        model = copy.deepcopy(model)
        request = model['shapes']['FilterLogEventsRequest']
        request['members'].pop('startFromHead', None)
        return model

    monkeypatch.setattr(botocore.loaders.Loader, 'load_service_model', without)
    assert not _has_start_from_head()


@pytest.mark.usefixtures('old_model')
async def test_search_goes_to_insights_newest_first(cw: Env) -> None:
    for index in range(5):
        cw.put(60 - index, f'INFO request {index} done')
    response = await cw.host().search(
        cw.query(filters=['message:contains:request'], limit=2)
    )
    assert response.status == 200, response.body
    assert [e['message'] for e in response.body['entries']] == [
        'INFO request 4 done',
        'INFO request 3 done',
    ]
    assert 'FilterLogEvents' not in cw.fake.operations()
    assert cw.fake.operations()[0] == 'StartQuery'
    page = await cw.host().search(
        cw.query(
            filters=['message:contains:request'],
            limit=2,
            cursor=response.body['next_cursor'],
        )
    )
    assert [e['message'] for e in page.body['entries']] == [
        'INFO request 2 done',
        'INFO request 1 done',
    ]


@pytest.mark.usefixtures('old_model')
async def test_filter_mode_says_which_botocore(cw: Env) -> None:
    response = await cw.host(query_mode='filter').search(
        cw.query(filters=['message:contains:request'])
    )
    assert response.status == 500
    assert isinstance(response.error, ValueError)
    text = str(response.error)
    assert 'startFromHead' in text
    assert 'botocore 1.44' in text
    assert "query_mode 'auto'" in text
    assert cw.fake.operations() == []


def test_without_the_parameter_cloudwatch_answers_oldest_first(
    cw: Env,
) -> None:
    """What the stand-in does when it is not sent, as the AWS model says
    ("The default value is true": earliest first)."""
    import boto3

    for index in range(3):
        cw.put(60 - index, f'INFO request {index} done')
    logs = boto3.client(
        'logs',
        region_name='us-east-1',
        endpoint_url=cw.url,
        aws_access_key_id=cw.key.access_key_id,
        aws_secret_access_key=cw.key.secret_access_key,
    )
    answer = logs.filter_log_events(
        logGroupName=cw.group, startTime=cw.at(120), endTime=cw.end_ms
    )
    assert [e['message'] for e in answer['events']] == [
        'INFO request 0 done',
        'INFO request 1 done',
        'INFO request 2 done',
    ]


@pytest.mark.skipif(
    not _has_start_from_head(), reason='this botocore predates the parameter'
)
async def test_new_model_sends_start_from_head(cw: Env) -> None:
    cw.put(5, 'INFO ok')
    response = await cw.host().search(
        cw.query(filters=['message:contains:ok'])
    )
    assert response.status == 200
    assert cw.fake.operations() == ['FilterLogEvents']
    assert '"startFromHead": false' in cw.fake.requests[0].body.decode()
