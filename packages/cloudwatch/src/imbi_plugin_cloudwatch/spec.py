"""The one manifest source: both generations' manifests are built here.

Plain data, stdlib only. The AWS account side (region, role, endpoints,
which identity, budget) are Integration options on v3 hosts; which log
groups and streams hold a project's logs and how they read are
capability options, overridable per project type and project. v1 hosts
get both lists as one option list.
"""

import typing

SLUG_V1 = 'cloudwatch'
SLUG_V3 = 'cloudwatch'
NAME = 'AWS CloudWatch Logs'
DESCRIPTION = (
    "Search a project's logs in CloudWatch Logs: FilterLogEvents "
    'where the query is a filter pattern, Logs Insights otherwise.'
)
CAPABILITY_LABEL = 'Logs'

DEFAULT_LOG_GROUP_TEMPLATE = '/${org_slug}/${project_slug}'
DEFAULT_TIMEOUT_SECONDS = 8
#: The same upper bound in every plugin (root README, shared options).
MAX_TIMEOUT_SECONDS = 300
MESSAGE_FORMATS = ('text', 'json')
QUERY_MODES = ('auto', 'filter', 'insights')
DEFAULT_LEVEL_FIELD = 'level'
DEFAULT_MESSAGE_FIELD = 'message'
#: What the auth_mode credential may say. keys: the stored access keys;
#: ambient: the host's own AWS identity (as use_host_credentials).
#: role_arn applies on top of either. Left blank (v1 hosts, and v3
#: Integrations saved before it was required) the other credentials and
#: use_host_credentials decide.
AUTH_MODES = ('keys', 'ambient')

INTEGRATION_OPTIONS: list[dict[str, typing.Any]] = [
    {
        'name': 'region',
        'label': 'AWS region',
        'required': True,
        'description': 'e.g. us-east-1',
    },
    {
        'name': 'role_arn',
        'label': 'Role ARN',
        'description': 'Assume this IAM role (STS) before calling Logs',
    },
    {
        'name': 'external_id',
        'label': 'External ID',
        'description': "External ID the role's trust policy requires",
    },
    {
        'name': 'endpoint_url',
        'label': 'Endpoint URL',
        'description': 'A stand-in or private endpoint for CloudWatch Logs',
    },
    {
        'name': 'sts_endpoint_url',
        'label': 'STS endpoint URL',
        'description': 'With role_arn: a stand-in or private STS '
        "endpoint (default: AWS's STS endpoint of the region)",
    },
    {
        'name': 'use_host_credentials',
        'label': 'Use host credentials',
        'type': 'boolean',
        'default': False,
        'description': "Allow the host's own AWS credential chain "
        'when no keys are stored',
    },
    {
        'name': 'allow_plain_http',
        'label': 'Allow plain http',
        'type': 'boolean',
        'default': False,
        'description': 'Use an http:// endpoint_url (loopback '
        'addresses are always allowed)',
    },
    {
        'name': 'timeout_seconds',
        'label': 'Timeout (seconds)',
        'type': 'integer',
        'default': DEFAULT_TIMEOUT_SECONDS,
        'description': 'Budget of one whole call',
    },
]

CAPABILITY_OPTIONS: list[dict[str, typing.Any]] = [
    {
        'name': 'log_group_template',
        'label': 'Log group template',
        'default': DEFAULT_LOG_GROUP_TEMPLATE,
        'description': 'Log group name; ${project_slug}, ${org_slug}, '
        '${team_slug}, ${environment} and ${project_id} expand',
    },
    {
        'name': 'log_stream_prefix_template',
        'label': 'Log stream prefix template',
        'description': 'Only streams starting with this (optional)',
    },
    {
        'name': 'message_format',
        'label': 'Message format',
        'default': 'text',
        'choices': list(MESSAGE_FORMATS),
        'description': 'json: fields inside messages are filterable and shown',
    },
    {
        'name': 'level_field',
        'label': 'Level field',
        'default': DEFAULT_LEVEL_FIELD,
        'description': 'JSON field holding the level (message_format json)',
    },
    {
        'name': 'message_field',
        'label': 'Message field',
        'default': DEFAULT_MESSAGE_FIELD,
        'description': 'JSON field holding the message (message_format json)',
    },
    {
        'name': 'query_mode',
        'label': 'Query mode',
        'default': 'auto',
        'choices': list(QUERY_MODES),
        'description': 'auto: FilterLogEvents when the query '
        'translates exactly, else Logs Insights',
    },
    {
        'name': 'base_filter',
        'label': 'Base filter',
        'description': 'Logs Insights expression every query of the '
        'project is narrowed by, e.g. @logStream like /^web-/ and '
        'not @message like /healthcheck/ (searches use Insights)',
    },
]

#: Every credential is optional: the host's AWS identity may serve.
CREDENTIALS: list[dict[str, typing.Any]] = [
    {
        'name': 'access_key_id',
        'label': 'Access key ID',
        'required': False,
        'description': (
            'Access key ID of an IAM user (or of temporary keys); '
            'with secret_access_key, or leave both empty to use '
            "the host's AWS identity (use_host_credentials)"
        ),
    },
    {
        'name': 'secret_access_key',
        'label': 'Secret access key',
        'required': False,
        'description': 'The secret of access_key_id',
    },
    {
        'name': 'session_token',
        'label': 'Session token',
        'required': False,
        'description': 'Only for temporary keys',
    },
]

#: v3 only: v3 hosts answer 503 when an Integration's credential blob
#: is empty, so an Integration on the host's AWS identity stores this
#: (not secret) field instead. Required, so imbi-ui's Integration form
#: asks for it (it tucks optional credentials behind a toggle, and one
#: saved without it on the host's identity gets the 503). imbi-api itself
#: checks no required credential when it saves an Integration or calls
#: logs: one saved before this keeps its blank auth_mode, and
#: client.resolve_keys decides from the keys as before.
AUTH_MODE: dict[str, typing.Any] = {
    'name': 'auth_mode',
    'label': 'AWS identity',
    'description': (
        "keys (the access keys stored here) or ambient (the host's own "
        'AWS identity; store no keys then). role_arn is assumed on top '
        'of either'
    ),
    'required': True,
    'secret': False,
}

HINTS: dict[str, typing.Any] = {'supports_histogram': True}


def options() -> list[dict[str, typing.Any]]:
    """The v1 option list: the account side, then per-project ones."""
    return INTEGRATION_OPTIONS + CAPABILITY_OPTIONS
