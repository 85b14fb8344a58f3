"""The one manifest source: both generations' manifests are built here.

Plain data, stdlib only. Connection settings (where Loki is and how to
reach it) are Integration options on v3 hosts; how a project's logs are
selected and parsed are capability options, overridable per project
type and project. v1 hosts get both lists as one option list.
"""

import typing

SLUG_V1 = 'loki'
SLUG_V3 = 'loki'
NAME = 'Grafana Loki'
DESCRIPTION = (
    "Search a project's logs in Grafana Loki (self-hosted or "
    'Grafana Cloud), with the fields to filter on and a histogram.'
)
CAPABILITY_LABEL = 'Logs'

DEFAULT_SELECTOR = '{service_name="${project_slug}"}'
DEFAULT_TIMEOUT_SECONDS = 8
#: The same upper bound in every plugin (root README, shared options).
MAX_TIMEOUT_SECONDS = 300
LINE_FORMATS = ('raw', 'json', 'logfmt')
DEFAULT_LEVEL_FIELD = 'level'
DEFAULT_MESSAGE_FIELD = 'message'
#: What the auth_mode credential may say. Left blank (v1 hosts, and v3
#: Integrations saved before it was required) the mode is inferred from
#: the credentials that are set.
AUTH_MODES = ('none', 'basic', 'bearer')

INTEGRATION_OPTIONS: list[dict[str, typing.Any]] = [
    {
        'name': 'url',
        'label': 'Loki URL',
        'description': 'Loki (or gateway) base URL',
        'type': 'string',
        'required': True,
    },
    {
        'name': 'tenant',
        'label': 'Tenant',
        'description': 'X-Scope-OrgID (a|b for several tenants)',
        'type': 'string',
    },
    {
        'name': 'timeout_seconds',
        'label': 'Timeout (seconds)',
        'description': 'Budget of one whole call',
        'type': 'integer',
        'default': DEFAULT_TIMEOUT_SECONDS,
    },
    {
        'name': 'verify_tls',
        'label': 'Verify TLS',
        'description': (
            "Verify Loki's TLS certificate (turn off only for a "
            'self-signed test server)'
        ),
        'type': 'boolean',
        'default': True,
    },
    {
        'name': 'allow_plain_http',
        'label': 'Allow plain http',
        'type': 'boolean',
        'default': False,
        'description': 'Send credentials to an http:// URL (loopback '
        'addresses are always allowed)',
    },
]

CAPABILITY_OPTIONS: list[dict[str, typing.Any]] = [
    {
        'name': 'selector_template',
        'label': 'Stream selector',
        'description': (
            'LogQL stream selector; ${project_slug}, ${org_slug}, '
            '${team_slug}, ${environment}, ${project_id}'
        ),
        'type': 'string',
        'default': DEFAULT_SELECTOR,
    },
    {
        'name': 'line_format',
        'label': 'Line format',
        'description': 'json or logfmt make fields inside lines filterable',
        'type': 'string',
        'default': 'raw',
        'choices': list(LINE_FORMATS),
    },
    {
        'name': 'level_field',
        'label': 'Level field',
        'description': 'Label or parsed field holding the level '
        '(detected_level on Loki 3)',
        'type': 'string',
        'default': DEFAULT_LEVEL_FIELD,
    },
    {
        'name': 'message_field',
        'label': 'Message field',
        'description': 'With json/logfmt, the field shown as the '
        'message (falls back to the line)',
        'type': 'string',
        'default': DEFAULT_MESSAGE_FIELD,
    },
    {
        'name': 'pipeline',
        'label': 'Base pipeline',
        'description': 'LogQL stages every query of the project '
        'starts with: line filters, | json, | logfmt, label '
        'filters (e.g. != "healthcheck" | json | app="web")',
        'type': 'string',
    },
]

#: Every credential is optional: an open Loki needs none.
CREDENTIALS: list[dict[str, typing.Any]] = [
    {
        'name': 'username',
        'label': 'Username',
        'description': 'Basic auth user (Grafana Cloud: the tenant id)',
        'required': False,
    },
    {
        'name': 'password',
        'label': 'Password',
        'description': 'Basic auth password (Grafana Cloud: a token)',
        'required': False,
    },
    {
        'name': 'token',
        'label': 'Bearer token',
        'description': 'Bearer token for a gateway that wants one',
        'required': False,
    },
]

#: v3 only: v3 hosts answer 503 when an Integration's credential blob
#: is empty, so an open Loki stores this (not secret) field instead.
#: Required, so imbi-ui's Integration form asks for it (it tucks optional
#: credentials behind a toggle, and an open Loki saved without it gets
#: the 503). imbi-api itself checks no required credential when it saves
#: an Integration or calls logs: one saved before this keeps its blank
#: auth_mode, and auth.py infers the mode as before.
AUTH_MODE: dict[str, typing.Any] = {
    'name': 'auth_mode',
    'label': 'Authentication',
    'description': (
        'none (an open Loki), basic (username and password) or bearer '
        '(token); it must match the credentials stored'
    ),
    'required': True,
    'secret': False,
}

HINTS: dict[str, typing.Any] = {'supports_histogram': True}


def options() -> list[dict[str, typing.Any]]:
    """The v1 option list: connection settings, then per-project ones."""
    return INTEGRATION_OPTIONS + CAPABILITY_OPTIONS
