"""Credentials -> the Authorization header (Loki itself has no auth).

Grafana Cloud and most gateways use basic auth (user = tenant id,
password = an access policy token); others take a bearer token.
"""

import base64
import typing

from imbi_common.plugins import PluginCredentialsMissing


def authorization(credentials: typing.Mapping[str, str]) -> str | None:
    """The header value, None for an open Loki; checked before any I/O."""
    username = (credentials.get('username') or '').strip()
    password = credentials.get('password') or ''
    token = (credentials.get('token') or '').strip()
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
        pair = f'{username}:{password}'.encode()
        return 'Basic ' + base64.b64encode(pair).decode('ascii')
    if token:
        return f'Bearer {token}'
    return None
