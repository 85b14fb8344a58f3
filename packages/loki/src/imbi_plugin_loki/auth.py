"""Credentials -> the Authorization header (Loki itself has no auth).

Grafana Cloud and most gateways use basic auth (user = tenant id,
password = an access policy token); others take a bearer token.
"""

import base64
import typing

from imbi_plugin_loki import spec
from imbi_plugin_loki._host import PluginCredentialsMissing


def _mode(credentials: typing.Mapping[str, str]) -> str:
    """The stated mode, '' when none is: v1 hosts never send one, and a
    v3 Integration saved before the field was required has none stored.
    Either way the credentials that are set decide, as they always did.
    """
    mode = (credentials.get('auth_mode') or '').strip().lower()
    if mode and mode not in spec.AUTH_MODES:
        # The value is not echoed: a secret pasted into the wrong field
        # must not reach an error message.
        raise ValueError(
            "credential 'auth_mode' must be one of "
            f'{", ".join(spec.AUTH_MODES)}'
        )
    return mode


def authorization(credentials: typing.Mapping[str, str]) -> str | None:
    """The header value, None for an open Loki; checked before any I/O."""
    mode = _mode(credentials)
    # Only whether each is set: error trackers record the locals of the
    # frame that raises, and they would name no value then.
    username = bool((credentials.get('username') or '').strip())
    password = bool(credentials.get('password'))
    token = bool((credentials.get('token') or '').strip())
    if username and not password:
        raise PluginCredentialsMissing(
            "credential 'password' is missing: username is set"
        )
    if password and not username:
        raise PluginCredentialsMissing(
            "credential 'username' is missing: password is set"
        )
    if username and token:
        raise ValueError(
            'set either the username and password credentials or the '
            'token credential, not both'
        )
    _check_mode(mode, username, token)
    if username:
        user = credentials['username'].strip()
        pair = f'{user}:{credentials["password"]}'.encode()
        return 'Basic ' + base64.b64encode(pair).decode('ascii')
    if token:
        return f'Bearer {credentials["token"].strip()}'
    return None


def _check_mode(mode: str, username: bool, token: bool) -> None:
    """A stated auth_mode must match the credentials stored with it.

    (Both kinds stored at once is refused before this, whatever the mode.)
    """
    if mode == 'basic' and not username:
        raise PluginCredentialsMissing(
            "credentials 'username' and 'password' are missing: "
            'auth_mode is basic'
        )
    if mode == 'bearer' and not token:
        raise PluginCredentialsMissing(
            "credential 'token' is missing: auth_mode is bearer"
        )
    if mode == 'none' and (username or token):
        raise ValueError(
            'auth_mode is none but credentials are stored: remove them, '
            'or set auth_mode to basic or bearer'
        )
