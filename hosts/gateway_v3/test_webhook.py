"""A SonarQube delivery through imbi-gateway v3's own delivery route.

What the gateway does (read in imbi.gateway.notifications, 2.31 and
2.41): options and credentials come from the Integration the Webhook is
``IMPLEMENTED_BY``; rules run only when that Integration has
``webhook-actions`` enabled; a rule's handler is ``<slug>#<action>``,
resolved at dispatch; ``handler_config`` is validated with the action's
``config_model``, then the callable is awaited with ``ctx=``,
``credentials=``, ``external_identifier=``, ``action_config=`` and
``event=``. Each rule's outcome (succeeded, failed, skipped) is recorded
on the delivery's activity-feed row; the answer is 202 once rules ran
for a project, 204 otherwise, whatever the outcomes.
"""

import importlib
import typing

import pytest

KEY = 'aweber:billing-api'
ORG = 'aweber'
PROJECT_ID = 'prj-0001'


def _project(gateway: typing.Any) -> dict[str, typing.Any]:
    return dict(gateway.imbi.project(ORG, PROJECT_ID))


def _unchanged(project: dict[str, typing.Any]) -> dict[str, typing.Any]:
    return {k: v for k, v in project.items() if k != 'updated_at'}


def test_a_delivery_runs_the_action(gateway: typing.Any) -> None:
    handler = gateway.rule()
    response = gateway.deliver()
    assert response.status_code == 202, response.text
    assert gateway.outcomes() == [
        {
            'handler': handler,
            'status': 'succeeded',
            'duration_ms': gateway.outcomes()[0]['duration_ms'],
        }
    ]
    project = _project(gateway)
    for field, value in gateway.subject.expected.items():
        assert project[field] == value, field
    calls = gateway.sonarqube.requests
    assert [(r.method, r.path) for r in calls] == list(
        gateway.subject.sonarqube_calls
    )
    for call in calls:
        assert f'={KEY.replace(":", "%3A")}' in call.query
        scheme = call.headers['authorization'].split(' ', 1)[0]
        assert scheme.lower() == gateway.subject.sonarqube_scheme
    patches = gateway.imbi.requests_to(
        f'^/organizations/{ORG}/projects/{PROJECT_ID}$', 'PATCH'
    )
    assert len(patches) == 1
    (received,) = gateway.received()
    assert received['project_id'] == PROJECT_ID
    assert received['integration'] == 'sonarqube-aweber'
    assert received['type'] == 'webhook'


def test_a_second_delivery_changes_no_value(gateway: typing.Any) -> None:
    gateway.rule()
    assert gateway.deliver().status_code == 202
    first = _project(gateway)
    assert gateway.deliver().status_code == 202
    assert [o['status'] for o in gateway.outcomes()] == ['succeeded']
    assert _unchanged(_project(gateway)) == _unchanged(first)


def test_an_unknown_action_is_skipped(gateway: typing.Any) -> None:
    """The other rules of the webhook still run."""
    unknown = gateway.rule('no_such_action', config={})
    handler = gateway.rule()
    response = gateway.deliver()
    assert response.status_code == 202, response.text
    outcomes = gateway.outcomes()
    assert outcomes[0] == {
        'handler': unknown,
        'status': 'skipped',
        'error': 'handler not resolvable',
    }
    assert outcomes[1]['handler'] == handler
    assert outcomes[1]['status'] == 'succeeded'
    assert gateway.imbi.requests_to('/projects/', 'PATCH')


def test_a_disabled_webhook_actions_capability_runs_nothing(
    gateway: typing.Any,
) -> None:
    """The delivery is recorded, no rule runs: 204."""
    gateway.rule()
    capability = gateway.graph.integration['capabilities']['webhook-actions']
    capability['enabled'] = False
    response = gateway.deliver()
    assert response.status_code == 204, response.text
    assert len(gateway.received()) == 1
    assert not [row for _, row in gateway.published if row['version'] == 1]
    assert not gateway.sonarqube.requests
    assert not gateway.imbi.requests
    assert 'sonarqube_coverage' not in _project(gateway)


def test_an_integration_without_credentials_skips_the_rule(
    gateway: typing.Any,
) -> None:
    gateway.rule()
    gateway.graph.integration['encrypted_credentials'] = {}
    response = gateway.deliver()
    assert response.status_code == 202, response.text
    assert [(o['status'], o['error']) for o in gateway.outcomes()] == [
        ('skipped', 'missing credentials')
    ]
    assert not gateway.sonarqube.requests


def test_a_handler_config_the_model_refuses_skips_the_rule(
    gateway: typing.Any,
) -> None:
    gateway.rule(config='{"not": "a valid config"')
    response = gateway.deliver()
    assert response.status_code == 202, response.text
    (outcome,) = gateway.outcomes()
    assert outcome['status'] == 'skipped'
    assert outcome['error'].startswith('invalid handler_config: ')
    assert not gateway.sonarqube.requests


def test_a_refused_token_fails_the_rule_without_leaking_it(
    gateway: typing.Any, caplog: pytest.LogCaptureFixture
) -> None:
    """SonarQube refuses the token: the rule is recorded as failed with
    the error the action raised (ours: the host's own class), and the
    secret scan covers that text and the traceback the gateway logs."""
    module, _, name = gateway.subject.refused.partition(':')
    expected = getattr(importlib.import_module(module), name)
    gateway.rule()
    gateway.sonarqube.tokens.clear()
    response = gateway.deliver()
    assert response.status_code == 202, response.text
    (outcome,) = gateway.outcomes()
    assert outcome['status'] == 'failed'
    assert outcome['error'].startswith(f'{name}: ')
    (logged,) = [
        record.exc_info[1]
        for record in caplog.records
        if record.name == 'imbi.gateway.notifications' and record.exc_info
    ]
    assert type(logged) is expected, type(logged)
    # Refused by SonarQube, not failed before asking it.
    assert gateway.sonarqube.requests_to('^/api/measures/component$')
    assert not gateway.imbi.requests
    assert 'sonarqube_coverage' not in _project(gateway)


def test_an_unknown_project_runs_nothing(gateway: typing.Any) -> None:
    gateway.rule()
    gateway.sonarqube.add_project('other:project', 'Other')
    response = gateway.deliver('other:project')
    assert response.status_code == 204
    assert not gateway.published
    assert not gateway.sonarqube.requests
