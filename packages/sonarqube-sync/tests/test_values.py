"""Typing measure values, and which branch a payload selects."""

import pytest
from imbi_plugin_sonarqube_sync import analysis, values
from imbi_plugin_sonarqube_sync.config import UpdateProjectConfig


@pytest.mark.parametrize(
    ('metric', 'raw', 'kind', 'expected'),
    [
        ('bugs', '3', 'INT', 3),
        ('sqale_index', '125', 'WORK_DUR', 125),
        ('test_execution_time', '1500', 'MILLISEC', 1500),
        ('ncloc', '12.0', 'INT', 12.0),
        ('coverage', '87.4', 'PERCENT', 87.4),
        ('coverage', '100', 'PERCENT', 100.0),
        ('complexity_ratio', '2.5', 'FLOAT', 2.5),
        ('coverage', 'n/a', 'PERCENT', 'n/a'),
        ('reliability_rating', '1.0', 'RATING', 'A'),
        ('security_rating', '5.0', 'RATING', 'E'),
        ('sqale_rating', '3', 'RATING', 'C'),
        ('odd_rating', '6.0', 'RATING', 6.0),
        ('odd_rating', '2.5', 'RATING', 2.5),
        ('odd_rating', 'x', 'RATING', 'x'),
        ('alert_status', 'ERROR', 'LEVEL', 'ERROR'),
        ('flag', 'true', 'BOOL', True),
        ('flag', 'false', 'BOOL', False),
        ('ncloc_language_distribution', 'py=5230', 'DATA', 'py=5230'),
        # Metrics SonarQube did not describe: typed by their look.
        ('custom_count', '42', None, 42),
        ('custom_ratio', '-0.25', None, -0.25),
        ('custom_rating', '2.0', None, 'B'),
        ('custom_text', 'hello', None, 'hello'),
    ],
)
def test_typed_values(
    metric: str, raw: str, kind: str | None, expected: object
) -> None:
    value = values.typed(values.Measure(metric, raw, kind), True)
    assert value == expected
    assert type(value) is type(expected)


def test_ratings_as_numbers() -> None:
    measure = values.Measure('security_rating', '2.0', 'RATING')
    assert values.typed(measure, rating_letters=False) == 2.0


def test_dashboard_url_quotes_key_and_branch() -> None:
    assert values.dashboard_url('https://sq', 'a:b', None) == (
        'https://sq/dashboard?id=a%3Ab'
    )
    assert values.dashboard_url('https://sq', 'k', 'feature/x y') == (
        'https://sq/dashboard?id=k&branch=feature%2Fx+y'
    )


def _config(**fields: object) -> UpdateProjectConfig:
    return UpdateProjectConfig.model_validate(
        {'metrics': {'a': '/a'}, **fields}
    )


@pytest.mark.parametrize(
    ('payload', 'fields', 'expected'),
    [
        # An analysis without branch details: the main branch.
        ({'taskId': 't', 'status': 'SUCCESS'}, {}, analysis.MAIN),
        (
            {'taskId': 't', 'status': 'SUCCESS'},
            {'branches': ['release']},
            analysis.MAIN,
        ),
        (
            {'taskId': 't', 'status': 'SUCCESS', 'branch': 'main'},
            {},
            analysis.MAIN,
        ),
        (
            {
                'taskId': 't',
                'status': 'SUCCESS',
                'branch': {'name': 'dev', 'type': 'BRANCH', 'isMain': False},
            },
            {'branches': ['dev']},
            analysis.Target('dev'),
        ),
        # Not an analysis, the main branch named and listed.
        (
            {'branch': {'name': 'main', 'isMain': True}},
            {'branches': ['main']},
            analysis.MAIN,
        ),
        ({'taskId': 't'}, {}, 'status is None, not SUCCESS'),
        (
            {'branch': {'name': 'main', 'isMain': True}},
            {'branches': ['dev']},
            "main branch 'main' is not in the configured branches",
        ),
        # Explicit null: every branch filter off.
        ({}, {'branches': None}, analysis.MAIN),
    ],
)
def test_branch_selection(
    payload: object, fields: dict[str, object], expected: object
) -> None:
    selected = analysis.select(payload, _config(**fields))
    if isinstance(expected, str):
        assert isinstance(selected, str)
        assert expected in selected
    else:
        assert selected == expected


def test_target_labels() -> None:
    assert analysis.MAIN.label == 'main branch'
    assert analysis.Target('dev').label == "'dev'"


def test_patch_keeps_config_order_and_skips_absent_gate() -> None:
    config = UpdateProjectConfig.model_validate(
        {
            'metrics': {'bugs': '/b', 'coverage': '/c'},
            'quality_gate': '/g',
        }
    )
    operations = values.patch(
        config,
        [
            values.Measure('coverage', '50.0', 'PERCENT'),
            values.Measure('bugs', '1', 'INT'),
        ],
        None,
        'https://sq/dashboard?id=k',
    )
    assert operations == [
        {'op': 'add', 'path': '/b', 'value': 1},
        {'op': 'add', 'path': '/c', 'value': 50.0},
    ]
