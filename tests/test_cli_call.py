"""imbi-plugins call and show, run as an operator runs them (a process).

Usage mistakes answer one line on stderr and exit code 2, never a
traceback; the installed plugins are the real ones.
"""

import json
import os
import subprocess
import sys

import pytest
from imbi_plugin_testing.generation import GENERATION

#: A port nothing listens on: calls that get that far fail fast.
NOWHERE = 'url=http://127.0.0.1:9'


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith('IMBI_PLUGIN_CREDENTIAL_')
    }
    return subprocess.run(
        [sys.executable, '-m', 'imbi_plugin_testing.cli', *argv],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=60,
    )


def _usage_error(result: subprocess.CompletedProcess[str]) -> str:
    assert 'Traceback' not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith('imbi-plugins: error: ')
    assert result.stdout == ''
    return lines[0]


@pytest.mark.parametrize(
    ('argv', 'expected'),
    [
        # A JSON number where a model is expected (vault set_value value).
        (
            ['vault', 'set_value', '--arg', 'key=a', '--arg', 'value=2'],
            'expected ConfigValue (a JSON object with "data_type"',
        ),
        # A wrong type inside a model (issue 16's pydantic traceback).
        (
            [
                'vault',
                'set_value',
                '--arg',
                'key=a',
                '--arg',
                'value={"value": "x", "data_type": 5}',
            ],
            'data_type: Input should be a valid string',
        ),
        # A missing required argument (was an HTTP 500 'missing 1
        # required positional argument').
        (['vault', 'set_value', '--arg', 'key=a'], 'needs --arg value=...'),
        (
            ['vault', 'list_keys', '--arg', 'nope=1'],
            "list_keys has no argument 'nope'",
        ),
        (
            ['vault', 'nosuch'],
            "no method 'nosuch' (its methods: delete_key, get_values, "
            'list_keys, set_value)',
        ),
        (['nope', 'list_keys'], "no plugin 'nope' is installed"),
        (
            ['vault', 'list_keys', '--context', 'nosuch=1'],
            '--context nosuch: no such context field',
        ),
        (
            ['vault', 'list_keys', '--context', 'assignment_options={}'],
            'use --option NAME=VALUE',
        ),
        (
            ['vault', 'list_keys', '--context', 'project_links=[1]'],
            '--context project_links=[1]: Input should be a valid dict',
        ),
        (['vault', 'list_keys', '--option', 'novalue'], 'NAME=VALUE'),
        (
            ['vault', 'list_keys', '--option', 'nosuch=1'],
            "vault has no option 'nosuch'",
        ),
        (
            ['loki', 'search', '--arg', 'query=5'],
            'expected LogQuery (a JSON object with "start_time"',
        ),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(
    argv: list[str], expected: str
) -> None:
    assert expected in _usage_error(_run('call', *argv))


def test_context_values_are_json_and_shown() -> None:
    links = json.dumps({'github': 'https://github.com/aweber/billing'})
    result = _run(
        'call',
        'github-actions',
        'list_refs',
        '--context',
        f'project_links={links}',
        '--context',
        'environment_config={"region": "us-east-1"}',
        '--context',
        'project_id=123',
        '--show-context',
    )
    assert result.returncode == 0, result.stderr
    ctx = json.loads(result.stdout)
    assert ctx['project_links'] == json.loads(links)
    assert ctx['environment_config'] == {'region': 'us-east-1'}
    assert ctx['project_id'] == '123'
    # The defaults a call gets are shown, not applied silently.
    assert ctx['org_slug'] == 'aweber'
    assert ctx['environment'] == 'production'


def test_a_call_shows_its_context_and_names_the_credential_variable() -> None:
    result = _run(
        'call', 'vault', 'list_keys', '--option', NOWHERE, '--timing'
    )
    assert result.returncode == 1
    assert 'context: {"project_id": "prj-0001"' in result.stderr
    assert 'IMBI_PLUGIN_CREDENTIAL_TOKEN' in result.stderr
    assert 'vault list_keys: HTTP ' in result.stderr
    output = json.loads(result.stdout)
    if GENERATION == 3:
        # A v3 host refuses before calling: no credential at all stored.
        assert output['status'] == 503
        assert 'no credentials' in output['body']['detail']
    else:
        assert "credential 'token' is missing" in output['body']['detail']
    assert isinstance(output['seconds'], float)


def test_show_prints_the_manifest() -> None:
    result = _run('show', 'vault', '--json')
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    options = {o['name']: o for o in shown['options']}
    assert options['kv_version']['default'] is None
    assert options['mount_path']['default'] == 'secret'
    assert options['url']['description']
    assert shown['credentials'][0] == {
        'name': 'token',
        'required': True,
        'environment_variable': 'IMBI_PLUGIN_CREDENTIAL_TOKEN',
        'description': shown['credentials'][0]['description'],
    }
    if GENERATION == 3:
        assert shown['kind'] == 'configuration'
        assert options['url']['level'] == 'integration'
        assert options['path_template']['level'] == 'capability'
    else:
        assert shown['plugin_type'] == 'configuration'
    methods = {m['name']: m for m in shown['methods']}
    assert [a['name'] for a in methods['set_value']['arguments']] == [
        'key',
        'value',
    ]
    table = _run('show', 'vault')
    assert table.returncode == 0
    assert 'IMBI_PLUGIN_CREDENTIAL_TOKEN' in table.stdout
    assert 'set_value' in table.stdout
    assert _run('show', 'nope').returncode == 2
