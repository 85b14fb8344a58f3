"""Invalid input (config, options, credentials) fails before any request."""

import json
import re
import typing

import pydantic
import pytest
from imbi_plugin_sonarqube_sync import config as config_module
from imbi_plugin_sonarqube_sync import options
from imbi_plugin_sonarqube_sync._host import PluginCredentialsMissing
from imbi_plugin_sonarqube_sync.config import UpdateProjectConfig
from sonarqube_helpers import BASIC, CONFIG, KEY, World

BAD_CONFIGS: list[tuple[typing.Any, str]] = [
    ('', 'action_config is empty'),
    ('   ', 'action_config is empty'),
    ('{not json', 'invalid action_config'),
    ('[]', 'invalid action_config'),
    ({}, 'metrics: Field required'),
    ({'metrics': {}}, 'metrics: Dictionary should have at least 1 item'),
    ({'metrics': {'coverage': 'coverage'}}, 'Location must start with /'),
    ({'metrics': {'coverage': '/a~2'}}, 'invalid escape'),
    ({'metrics': {'coverage': ''}}, 'replace the whole project'),
    ({'metrics': {'coverage': '/list/-'}}, 'points into an array'),
    ({'metrics': {'coverage': '/list/0'}}, 'points into an array'),
    ({'metrics': {'coverage': '/a//b'}}, 'empty member name'),
    ({'metrics': {'coverage': 5}}, 'Input should be a valid string'),
    ({'metrics': {'123': '/x'}}, "'123' is not a SonarQube metric key"),
    ({'metrics': {'new coverage': '/x'}}, 'is not a SonarQube metric key'),
    ({'metrics': {'coverage': '/x'}, 'extra': 1}, 'extra: Extra inputs'),
    (
        {'metrics': {'coverage': '/x', 'bugs': '/x'}},
        "repeated: ['/x']",
    ),
    (
        {'metrics': {'coverage': '/x'}, 'quality_gate': '/x'},
        "repeated: ['/x']",
    ),
    ({'metrics': {'coverage': '/x'}, 'quality_gate': 'gate'}, 'quality_gate'),
    ({'metrics': {'coverage': '/x'}, 'dashboard_url': 7}, 'dashboard_url'),
    ({'metrics': {'coverage': '/x'}, 'branches': []}, 'at least 1 item'),
    ({'metrics': {'coverage': '/x'}, 'branches': ['']}, 'must not be empty'),
    (
        {'metrics': {'coverage': '/x'}, 'branches': ['main', 'main']},
        'must be unique',
    ),
    ({'metrics': {'coverage': '/x'}, 'branches': 'main'}, 'branches'),
    (
        {'metrics': {'coverage': '/x'}, 'rating_letters': 'yes'},
        'rating_letters: Input should be a valid boolean',
    ),
]


@pytest.mark.parametrize(
    ('config', 'message'),
    BAD_CONFIGS,
    ids=[str(i) for i in range(len(BAD_CONFIGS))],
)
async def test_bad_action_config_makes_no_request(
    world: World, config: typing.Any, message: str
) -> None:
    text = config if isinstance(config, str) else json.dumps(config)
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), text
    )
    if BASIC == 'run_action':
        # The plugin validates the raw JSON string itself.
        assert response.status == 500
        assert isinstance(response.error, ValueError)
        assert message in str(response.error)
    else:
        # The gateway validates with the config model and never calls.
        assert response.status == 422, response.body
    assert world.network_requests() == 0


@pytest.mark.parametrize(
    ('config', 'message'),
    BAD_CONFIGS,
    ids=[str(i) for i in range(len(BAD_CONFIGS))],
)
def test_bad_action_config_is_named(config: typing.Any, message: str) -> None:
    text = config if isinstance(config, str) else json.dumps(config)
    with pytest.raises(ValueError, match=re.escape(message)):
        config_module.parse(text)


@pytest.mark.parametrize(
    'config',
    [None, 42, ['metrics']],
)
def test_action_config_of_the_wrong_kind(config: object) -> None:
    with pytest.raises(ValueError, match='expected a JSON object'):
        config_module.parse(config)


def test_action_config_accepts_model_mapping_or_json() -> None:
    model = UpdateProjectConfig.model_validate(CONFIG)
    assert config_module.parse(model) is model
    assert config_module.parse(CONFIG) == model
    assert config_module.parse(json.dumps(CONFIG)) == model
    assert config_module.parse(json.dumps(CONFIG).encode()) == model
    assert model.rating_letters is True
    assert model.branches is None


def test_action_config_from_another_pydantic_model() -> None:
    # A host may hand over a model it validated with a class of its own.
    class Other(pydantic.BaseModel):
        metrics: dict[str, str]

    assert config_module.parse(
        Other(metrics={'bugs': '/b'})
    ) == UpdateProjectConfig(metrics={'bugs': '/b'})


def test_pointer_escapes_are_kept() -> None:
    model = UpdateProjectConfig.model_validate(
        {'metrics': {'coverage': '/sonar~1qube/cov~0erage'}}
    )
    assert model.metrics == {'coverage': '/sonar~1qube/cov~0erage'}


@pytest.mark.parametrize(
    ('options', 'message'),
    [
        ({'imbi_url': None}, 'imbi_url: set the'),
        ({'sonarqube_url': None}, 'sonarqube_url: set the'),
        ({'sonarqube_auth': 'token'}, 'sonarqube_auth: expected one of'),
        ({'sonarqube_auth': 1}, 'sonarqube_auth'),
        ({'timeout_seconds': 'soon'}, 'timeout_seconds: expected an integer'),
        ({'timeout_seconds': True}, 'timeout_seconds: expected an integer'),
        ({'timeout_seconds': 2.5}, 'timeout_seconds: expected an integer'),
        ({'timeout_seconds': 0}, 'timeout_seconds: expected 1..300'),
        ({'timeout_seconds': '301'}, 'timeout_seconds: expected 1..300'),
        ({'sonarqube_url': 'sonar.example'}, 'expected an http(s) base URL'),
        ({'sonarqube_url': 8080}, 'sonarqube_url: expected a URL string'),
        (
            {'sonarqube_url': 'https://u:pw@sonar.example'},
            'credentials do not belong in the URL',
        ),
        (
            {'imbi_url': 'https://imbi.example/api?x=1'},
            'imbi_url: a base URL has no query',
        ),
        (
            {'sonarqube_url': 'http://sonar.example'},
            'sonarqube_url: plain http:// would send the token unencrypted; '
            "use https://, or set option 'allow_plain_http'",
        ),
        ({'imbi_url': 'HTTP://imbi.example'}, 'imbi_url: plain http://'),
        (
            {'imbi_url': 'http://imbi.example', 'allow_plain_http': 'maybe'},
            'allow_plain_http: expected true or false',
        ),
    ],
)
async def test_bad_options_make_no_request(
    world: World, options: dict[str, typing.Any], message: str
) -> None:
    host = world.host(options)
    for name, value in options.items():
        if value is None:
            host.plugin_options.pop(name)
            host.credentials.pop(name, None)
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), host=host
    )
    assert isinstance(response.error, ValueError), response.error
    assert message in str(response.error)
    assert 'pw@' not in str(response.error)
    assert world.network_requests() == 0


#: A secret where a careless operator might paste one into a URL.
URL_SECRET = 'squ_0123456789abcdef'


@pytest.mark.parametrize(
    ('option', 'value', 'message'),
    [
        # No scheme: urlsplit reads 'admin' as the scheme, no user part.
        (
            'sonarqube_url',
            f'admin:{URL_SECRET}@sonar.example.com',
            'sonarqube_url: credentials do not belong in the URL',
        ),
        (
            'sonarqube_url',
            f'admin:{URL_SECRET}@sonar.example.com/api?next=//x',
            'sonarqube_url: credentials do not belong in the URL',
        ),
        (
            'imbi_url',
            f'https://ci:{URL_SECRET}@imbi.example/api?x=1',
            'imbi_url: credentials do not belong in the URL',
        ),
        (
            'imbi_url',
            f'https://imbi.example/api?token={URL_SECRET}',
            'imbi_url: a base URL has no query or fragment',
        ),
        (
            'sonarqube_url',
            f'https://sonar.example.com/#{URL_SECRET}',
            'sonarqube_url: a base URL has no query or fragment',
        ),
        # The token pasted where the URL belongs.
        ('sonarqube_url', URL_SECRET, 'expected an http(s) base URL'),
        (
            'sonarqube_url',
            f'ftp://{URL_SECRET}.example',
            'expected an http(s) base URL',
        ),
        (
            'imbi_url',
            f'https:///{URL_SECRET}',
            'imbi_url: expected an http(s)',
        ),
        # urlsplit's own errors quote the host or the port.
        ('sonarqube_url', f'https://[{URL_SECRET}]/', 'not a valid URL'),
        ('imbi_url', f'https://imbi.example:{URL_SECRET}/', 'not a valid URL'),
        (
            'sonarqube_url',
            {'token': URL_SECRET},
            'sonarqube_url: expected a URL string, got dict',
        ),
    ],
)
async def test_bad_url_is_never_echoed(
    world: World, option: str, value: typing.Any, message: str
) -> None:
    # The frames that refuse the option hold the value given: what
    # matters is that no message, log or cause repeats it.
    world.scan.add(URL_SECRET, in_locals=False)
    host = world.host({option: value})
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), host=host
    )
    assert isinstance(response.error, ValueError), response.error
    assert message in str(response.error)
    assert f'the {option} option' in str(response.error)
    assert URL_SECRET not in str(response.error)
    assert URL_SECRET not in repr(response.error)
    assert world.network_requests() == 0


async def test_bad_imbi_url_credential_is_never_echoed(world: World) -> None:
    # The frames that refuse the option hold the value given: what
    # matters is that no message, log or cause repeats it.
    world.scan.add(URL_SECRET, in_locals=False)
    host = world.host()
    host.plugin_options.pop('imbi_url')
    host.credentials['imbi_url'] = f'admin:{URL_SECRET}@imbi.example'
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), host=host
    )
    assert isinstance(response.error, ValueError), response.error
    text = str(response.error)
    assert 'imbi_url: credentials do not belong in the URL' in text
    assert 'the imbi_url credential' in text
    assert URL_SECRET not in text
    assert world.network_requests() == 0


def test_bad_service_endpoint_is_named_not_echoed() -> None:
    with pytest.raises(ValueError, match='sonarqube_url') as caught:
        options.read(
            {
                'imbi_url': 'https://imbi.example',
                'service_endpoint': (
                    f'https://sonar.example.com/?token={URL_SECRET}'
                ),
            },
            {},
        )
    text = str(caught.value)
    assert "the gateway's service_endpoint" in text
    assert 'host sonar.example.com' in text
    assert URL_SECRET not in text


async def test_option_values_as_strings(world: World) -> None:
    host = world.host(
        {
            'timeout_seconds': '5',
            'sonarqube_auth': ' Bearer ',
            'sonarqube_url': world.sonar_url + '/',
            'imbi_url': '',
        }
    )
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), host=host
    )
    assert response.ok, response.body


@pytest.mark.parametrize('missing', ['api_token', 'imbi_api_key'])
@pytest.mark.parametrize('empty', [False, True])
async def test_missing_credential_makes_no_request(
    world: World, missing: str, empty: bool
) -> None:
    host = world.host()
    if empty:
        host.credentials[missing] = '  '
    else:
        del host.credentials[missing]
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), host=host
    )
    assert response.status == 503
    assert isinstance(response.error, PluginCredentialsMissing)
    assert missing in str(response.error)
    assert world.network_requests() == 0


@pytest.mark.parametrize(
    ('key', 'project', 'message'),
    [
        ('  ', {}, 'external_identifier is empty'),
        # Never a SonarQube key: refused before it reaches a query.
        ("../admin'\n`{x}`", {}, 'not a SonarQube project key'),
        ('aweber billing', {}, 'not a SonarQube project key'),
        ('12345', {}, 'not a SonarQube project key'),
        ('a' * 401, {}, 'at most 400 characters'),
        (KEY, {'project_id': ''}, 'names no Imbi project'),
        (KEY, {'org_slug': ''}, 'names no Imbi project'),
    ],
)
async def test_missing_identifiers_make_no_request(
    world: World, key: str, project: dict[str, str], message: str
) -> None:
    host = world.host()
    host.project.update(project)
    response = await world.call(
        BASIC, world.sonarqube.webhook_payload(KEY), host=host, key=key
    )
    assert isinstance(response.error, ValueError)
    assert message in str(response.error)
    assert world.network_requests() == 0


@pytest.mark.parametrize(
    'key',
    [
        # Each backtracked letter restarts the tail: quadratic before.
        'a' * 200_000 + ' ',
        '1' * 200_000 + '!',
    ],
    ids=['letters', 'digits'],
)
def test_metric_key_check_is_linear(key: str) -> None:
    # A child process: `re` holds the GIL, so a runaway match could be
    # neither interrupted nor timed out in this one.
    import subprocess
    import sys

    script = (
        'import sys\n'
        'from imbi_plugin_sonarqube_sync import config\n'
        'key = sys.stdin.read()\n'
        "try:\n    config.parse({'metrics': {key: '/x'}})\n"
        'except ValueError as exc:\n    print(len(str(exc)))\n'
    )
    done = subprocess.run(
        [sys.executable, '-c', script],
        input=key,
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    # The message quotes a bounded prefix, not the whole input.
    assert int(done.stdout) < 1_000


@pytest.mark.parametrize(
    'given',
    [
        {
            'sonarqube_url': 'http://sonar.example',
            'imbi_url': 'http://imbi.example',
            'allow_plain_http': 'true',
        },
        {
            'sonarqube_url': 'http://127.0.0.1:9000',
            'imbi_url': 'http://[::1]:8000',
        },
        {
            'sonarqube_url': 'http://localhost:9000',
            'imbi_url': 'http://localhost:8000',
            'allow_plain_http': 'no',
        },
    ],
)
def test_plain_http_when_allowed_or_loopback(given: dict[str, str]) -> None:
    read = options.read(given, {})
    assert read.sonarqube_url == given['sonarqube_url']
    assert read.imbi_url == given['imbi_url']
