"""Typed plugin options: the manifest's defaults applied, values checked."""

import dataclasses
import ipaddress
import re
import typing
import urllib.parse

from imbi_plugin_cloudwatch import spec
from imbi_plugin_cloudwatch._host import PluginContext, expand_template

DEFAULT_LOG_GROUP_TEMPLATE = spec.DEFAULT_LOG_GROUP_TEMPLATE
DEFAULT_TIMEOUT_SECONDS = spec.DEFAULT_TIMEOUT_SECONDS
MAX_TIMEOUT_SECONDS = spec.MAX_TIMEOUT_SECONDS
MESSAGE_FORMATS = spec.MESSAGE_FORMATS
QUERY_MODES = spec.QUERY_MODES
# botocore's own check for region names.
_REGION = re.compile(r'^[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?$')
_ROLE_ARN = re.compile(r'^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$')
#: A JSON field as Insights names it (keys joined by dots, hyphens
#: allowed as in filter fields: the queries back-quote field names).
_FIELD = re.compile(r'[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*')
#: AWS's log group name pattern [\.\-_/#A-Za-z0-9]+ (ASCII only; used
#: with fullmatch, so no trailing newline slips through $).
_LOG_GROUP = re.compile(r'[A-Za-z0-9_#/.-]{1,512}')
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
    sts_endpoint_url: str | None
    use_host_credentials: bool
    timeout_seconds: int
    base_filter: str | None = None
    #: Log group names, and prefixes (``name*``) resolved per call.
    log_groups: tuple[str, ...] = ()
    log_group_prefixes: tuple[str, ...] = ()


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
    if not _FIELD.fullmatch(value):
        raise ValueError(
            f'option {name!r} must be a JSON field name such as '
            f'{default!r}, user-agent or a dotted path (a.b)'
        )
    return value


def _loopback(host: str) -> bool:
    if host.lower() == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _endpoint(
    raw: dict[str, typing.Any], name: str = 'endpoint_url'
) -> str | None:
    value = _text(raw, name) or None
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
            f'option {name!r} must be an http(s) URL without '
            'credentials, query or fragment'
        )
    if (
        parts.scheme == 'http'
        and not _loopback(parts.hostname)
        and not _boolean(raw, 'allow_plain_http')
    ):
        # A session token travels in a header and signed requests can be
        # replayed: plain http exposes both on the path. Loopback never
        # leaves the machine.
        raise ValueError(
            f'option {name!r} is plain http://, which would send the '
            'session token and signed requests unencrypted: use https://, '
            "or set option 'allow_plain_http' to true (loopback addresses "
            'are allowed)'
        )
    return value


MAX_BASE_FILTER = 2000
#: Tokens of an Insights expression: string and `field` literals, names
#: (with dots and @, so a.like is one name), =~, anything else one
#: character.
_BASE_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'
    r'|[\w.@]+|=~|\s+|.',
    re.DOTALL,
)
#: A /regex/ literal, read only right after the operator like or =~
#: (elsewhere / divides).
_BASE_REGEX = re.compile(r'\s*/(?:[^/\\]|\\.)*/', re.DOTALL)


def _base_tokens(value: str) -> typing.Iterator[str]:
    pos, previous = 0, ''
    while pos < len(value):
        found = None
        if previous.lower() in ('like', '=~'):
            found = _BASE_REGEX.match(value, pos)
        # The token pattern's last alternative matches any character.
        found = found or typing.cast(
            're.Match[str]', _BASE_TOKEN.match(value, pos)
        )
        pos = found.end()
        if not found[0].isspace():
            previous = found[0]
        yield found[0]


def _base_filter(raw: dict[str, typing.Any]) -> str | None:
    """One Insights boolean expression, ANDed into every query.

    It must stay one expression: no ``|`` (a new command), no ``#`` (a
    comment) and balanced parentheses outside its literals, so it can
    only narrow the query.
    """
    value = _text(raw, 'base_filter') or None
    if value is None:
        return None
    if len(value) > MAX_BASE_FILTER:
        raise ValueError(
            f"option 'base_filter' is longer than {MAX_BASE_FILTER} characters"
        )
    depth = 0
    for part in _base_tokens(value):
        if part in ('"', "'", '`'):
            raise ValueError(f"option 'base_filter': unterminated {part}")
        if part == '|':
            raise ValueError(
                "option 'base_filter' is one filter expression: it cannot "
                'hold | (a new query command) outside a literal'
            )
        if part == '#':
            # Insights ignores the rest of the line after #: parentheses
            # hidden there would escape the check below.
            raise ValueError(
                "option 'base_filter' cannot hold # (a comment) outside a "
                'literal'
            )
        depth += {'(': 1, ')': -1}.get(part, 0)
        if depth < 0:
            break
    if depth != 0:
        raise ValueError("option 'base_filter' has unbalanced parentheses")
    return value


#: Insights searches at most 50 log groups at once.
MAX_LOG_GROUPS = 50


def _log_groups(
    ctx: PluginContext, template: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Names and prefixes: the template is split on ``,`` and a part
    ending in ``*`` is a prefix before expansion, so no project field
    can add a group or turn a name into a prefix."""
    names: dict[str, None] = {}
    prefixes: dict[str, None] = {}
    for part in template.split(','):
        text = part.strip()
        wildcard = text.endswith('*')
        value = _expand(ctx, 'log_group_template', text.removesuffix('*'))
        if not _LOG_GROUP.fullmatch(value):
            raise ValueError(
                f'log group {value!r} (from option '
                "'log_group_template') is not a valid log group name"
            )
        (prefixes if wildcard else names)[value] = None
    if len(names) + len(prefixes) > MAX_LOG_GROUPS:
        raise ValueError(
            "option 'log_group_template' names more than "
            f'{MAX_LOG_GROUPS} log groups'
        )
    return tuple(names), tuple(prefixes)


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


def raw(ctx: PluginContext) -> dict[str, typing.Any]:
    """The call's option values, whichever host and context passed them.

    v3 hosts pass the Integration's options and the capability's
    (layered per project) separately, and the gateway and identity
    flows leave ``assignment_options`` empty; v1 hosts have only
    ``assignment_options``. ``ctx`` itself is left as it is.
    """
    return {
        **(getattr(ctx, 'integration_options', None) or {}),
        **(getattr(ctx, 'capability_options', None) or {}),
        **(ctx.assignment_options or {}),
    }


def read_options(ctx: PluginContext) -> Options:
    """The call's options with the manifest's defaults; ValueError if bad."""
    values = raw(ctx)
    region = _text(values, 'region')
    if not region:
        raise ValueError("option 'region' is required (e.g. us-east-1)")
    if not _REGION.match(region):
        raise ValueError(f"option 'region' is not a region name: {region!r}")
    group_template = _text(
        values, 'log_group_template', DEFAULT_LOG_GROUP_TEMPLATE
    )
    if ctx.environment is None and ENVIRONMENT in group_template:
        raise ValueError(
            "option 'log_group_template' names ${environment} and this "
            'request names no environment: choose an environment'
        )
    names, prefixes = _log_groups(ctx, group_template)
    prefix_template = _text(values, 'log_stream_prefix_template')
    prefix = None
    # No environment asked for: every environment's streams.
    if ctx.environment is None and ENVIRONMENT in prefix_template:
        prefix_template = ''
    if prefix_template:
        prefix = (
            _expand(ctx, 'log_stream_prefix_template', prefix_template) or None
        )
    role_arn = _text(values, 'role_arn') or None
    if role_arn is not None and not _ROLE_ARN.match(role_arn):
        raise ValueError(
            "option 'role_arn' must be an IAM role ARN "
            '(arn:aws:iam::<account>:role/<name>)'
        )
    return Options(
        region=region,
        log_group=(names or prefixes)[0],
        log_groups=names,
        log_group_prefixes=prefixes,
        log_stream_prefix=prefix,
        message_format=typing.cast(
            typing.Literal['text', 'json'],
            _choice(values, 'message_format', MESSAGE_FORMATS),
        ),
        level_field=_field(values, 'level_field', spec.DEFAULT_LEVEL_FIELD),
        message_field=_field(
            values, 'message_field', spec.DEFAULT_MESSAGE_FIELD
        ),
        query_mode=typing.cast(
            typing.Literal['auto', 'filter', 'insights'],
            _choice(values, 'query_mode', QUERY_MODES),
        ),
        role_arn=role_arn,
        external_id=_text(values, 'external_id') or None,
        endpoint_url=_endpoint(values),
        sts_endpoint_url=_endpoint(values, 'sts_endpoint_url'),
        use_host_credentials=_boolean(values, 'use_host_credentials'),
        timeout_seconds=_timeout(values),
        base_filter=_base_filter(values),
    )


def _timeout(raw: dict[str, typing.Any]) -> int:
    seconds = _integer(raw, 'timeout_seconds', DEFAULT_TIMEOUT_SECONDS)
    if seconds > MAX_TIMEOUT_SECONDS:
        raise ValueError(
            "option 'timeout_seconds' must be a whole number of seconds "
            f'from 1 to {MAX_TIMEOUT_SECONDS}'
        )
    return seconds
