"""Credentials -> the Authorization header (Loki itself has no auth).

Grafana Cloud and most gateways use basic auth (user = tenant id,
password = an access policy token); others take a bearer token.
"""

import base64
import typing

from imbi_common.plugins import PluginCredentialsMissing


def authorization(credentials: typing.Mapping[str, str]) -> str | None:
    """The header value, None for an open Loki; checked before any I/O."""
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
    if username:
        user = credentials['username'].strip()
        pair = f'{user}:{credentials["password"]}'.encode()
        return 'Basic ' + base64.b64encode(pair).decode('ascii')
    if token:
        return f'Bearer {credentials["token"].strip()}'
    return None
