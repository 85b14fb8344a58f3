"""Typed plugin options: the manifest's defaults applied, values checked."""

import dataclasses
import re
import typing
import urllib.parse

from imbi_common.plugins import PluginContext, expand_template

DEFAULT_LOG_GROUP_TEMPLATE = '/${org_slug}/${project_slug}'
DEFAULT_TIMEOUT_SECONDS = 8
MESSAGE_FORMATS = ('text', 'json')
QUERY_MODES = ('auto', 'filter', 'insights')
# botocore's own check for region names.
_REGION = re.compile(r'^[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?$')
_ROLE_ARN = re.compile(r'^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$')
_FIELD = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$')
_LOG_GROUP = re.compile(r'^[\w#/.-]{1,512}$')
_TRUE = {'true', '1', 'yes', 'on'}
_FALSE = {'false', '0', 'no', 'off', ''}


@dataclasses.dataclass(frozen=True)
class Options:
    region: str
    log_group: str
    log_stream_prefix: str | None
    message_format: typing.Literal['text', 'json']
    level_field: str
    message_field: str
    query_mode: typing.Literal['auto', 'filter', 'insights']
    role_arn: str | None
    external_id: str | None = dataclasses.field(repr=False)
    endpoint_url: str | None
    use_host_credentials: bool
    timeout_seconds: int


def _text(raw: dict[str, typing.Any], name: str, default: str = '') -> str:
    value = raw.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f'option {name!r} must be a string')
    return str(value).strip() or default


def _choice(
    raw: dict[str, typing.Any], name: str, choices: tuple[str, ...]
) -> str:
    value = _text(raw, name, choices[0]).lower()
    if value not in choices:
        raise ValueError(
            f'option {name!r} must be one of {", ".join(choices)}, '
            f'not {value!r}'
        )
    return value


def _boolean(raw: dict[str, typing.Any], name: str) -> bool:
    value = raw.get(name, False)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f'option {name!r} must be true or false, not {value!r}')


def _integer(raw: dict[str, typing.Any], name: str, default: int) -> int:
    value = raw.get(name, default)
    if value in (None, ''):
        return default
    try:
        number = int(value)
    except TypeError, ValueError:
        raise ValueError(
            f'option {name!r} must be an integer, not {value!r}'
        ) from None
    if isinstance(value, bool) or number < 1:
        raise ValueError(f'option {name!r} must be a positive integer')
    return number


def _field(raw: dict[str, typing.Any], name: str, default: str) -> str:
    value = _text(raw, name, default)
    if not _FIELD.match(value):
        raise ValueError(
            f'option {name!r} must be a JSON field name such as '
            f'{default!r} or a dotted path (a.b)'
        )
    return value


def _endpoint(raw: dict[str, typing.Any]) -> str | None:
    value = _text(raw, 'endpoint_url') or None
    if value is None:
        return None
    parts = urllib.parse.urlsplit(value)
    if (
        parts.scheme not in ('http', 'https')
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
    ):
        raise ValueError(
            "option 'endpoint_url' must be an http(s) URL without "
            'credentials, query or fragment'
        )
    return value


#: A template naming the environment (``ctx.environment`` is None when
#: the request names none).
ENVIRONMENT = '${environment}'


def _expand(ctx: PluginContext, name: str, template: str) -> str:
    variables = {
        'project_slug': ctx.project_slug,
        'org_slug': ctx.org_slug,
        'team_slug': ctx.team_slug,
        'environment': ctx.environment,
        'project_id': ctx.project_id,
    }
    try:
        return expand_template(template, variables)
    except ValueError as exc:
        raise ValueError(f'option {name!r}: {exc}') from None


def read_options(ctx: PluginContext) -> Options:
    """The call's options with the manifest's defaults; ValueError if bad."""
    raw = dict(ctx.assignment_options or {})
    region = _text(raw, 'region')
    if not region:
        raise ValueError("option 'region' is required (e.g. us-east-1)")
    if not _REGION.match(region):
        raise ValueError(f"option 'region' is not a region name: {region!r}")
    group_template = _text(
        raw, 'log_group_template', DEFAULT_LOG_GROUP_TEMPLATE
    )
    if ctx.environment is None and ENVIRONMENT in group_template:
        raise ValueError(
            "option 'log_group_template' names ${environment} and this "
            'request names no environment: choose an environment'
        )
    log_group = _expand(ctx, 'log_group_template', group_template)
    if not _LOG_GROUP.match(log_group):
        raise ValueError(
            f'log group {log_group!r} (from option '
            "'log_group_template') is not a valid log group name"
        )
    prefix_template = _text(raw, 'log_stream_prefix_template')
    prefix = None
    # No environment asked for: every environment's streams.
    if ctx.environment is None and ENVIRONMENT in prefix_template:
        prefix_template = ''
    if prefix_template:
        prefix = (
            _expand(ctx, 'log_stream_prefix_template', prefix_template) or None
        )
    role_arn = _text(raw, 'role_arn') or None
    if role_arn is not None and not _ROLE_ARN.match(role_arn):
        raise ValueError(
            "option 'role_arn' must be an IAM role ARN "
            '(arn:aws:iam::<account>:role/<name>)'
        )
    return Options(
        region=region,
        log_group=log_group,
        log_stream_prefix=prefix,
        message_format=typing.cast(
            typing.Literal['text', 'json'],
            _choice(raw, 'message_format', MESSAGE_FORMATS),
        ),
        level_field=_field(raw, 'level_field', 'level'),
        message_field=_field(raw, 'message_field', 'message'),
        query_mode=typing.cast(
            typing.Literal['auto', 'filter', 'insights'],
            _choice(raw, 'query_mode', QUERY_MODES),
        ),
        role_arn=role_arn,
        external_id=_text(raw, 'external_id') or None,
        endpoint_url=_endpoint(raw),
        use_host_credentials=_boolean(raw, 'use_host_credentials'),
        timeout_seconds=_integer(
            raw, 'timeout_seconds', DEFAULT_TIMEOUT_SECONDS
        ),
    )
