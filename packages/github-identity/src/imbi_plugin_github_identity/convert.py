"""GitHub answers -> IdentityProfile and IdentityCredentials."""

import collections.abc
import datetime
import typing

from imbi_plugin_github_identity._host import (
    IdentityCredentials,
    IdentityProfile,
    PluginUnavailableError,
)

#: Scopes that let an OAuth token read /user/emails and /user/orgs.
EMAIL_SCOPES = frozenset({'user', 'user:email'})
ORG_SCOPES = frozenset({'user', 'read:org', 'write:org', 'admin:org'})
RAW_CLAIMS = ('login', 'id', 'html_url', 'node_id')


def may_read(scopes: list[str], needed: frozenset[str]) -> bool:
    """Whether to ask for a scope-gated resource.

    No scopes at all is a GitHub App user token (its permissions are not
    scopes) or a bare OAuth token: only asking tells, and a refusal then
    just means "not allowed".
    """
    return not scopes or bool(needed & set(scopes))


def build_profile(
    user: typing.Any,
    emails: typing.Any,
    orgs: list[typing.Any] | None,
) -> IdentityProfile:
    """The profile; ``emails``/``orgs`` are None when not readable."""
    if (
        not isinstance(user, dict)
        or not isinstance(user.get('id'), int)
        or not isinstance(user.get('login'), str)
    ):
        raise PluginUnavailableError('GitHub answered an unexpected /user')
    email, verified = _email(user, emails)
    return IdentityProfile(
        subject=str(user['id']),
        email=email,
        email_verified=verified,
        name=_text(user.get('name')),
        avatar_url=_text(user.get('avatar_url')),
        groups=[
            org['login']
            for org in orgs or []
            if isinstance(org, dict) and isinstance(org.get('login'), str)
        ],
        raw_claims={k: user[k] for k in RAW_CLAIMS if k in user},
    )


def _email(
    user: dict[str, typing.Any], emails: typing.Any
) -> tuple[str | None, bool]:
    """The primary verified address, else the public one."""
    listed = (
        [e for e in emails if isinstance(e, dict)]
        if isinstance(emails, list)
        else []
    )
    for entry in listed:
        if entry.get('primary') and entry.get('verified') is True:
            return _text(entry.get('email')), True
    public = _text(user.get('email'))
    verified = any(
        entry.get('email') == public and entry.get('verified') is True
        for entry in listed
    )
    return public, public is not None and verified


def _text(value: typing.Any) -> str | None:
    return value if isinstance(value, str) and value else None


def scopes(body: collections.abc.Mapping[str, typing.Any]) -> list[str]:
    """Scopes of a token answer (GitHub separates them with commas)."""
    raw = body.get('scope')
    if not isinstance(raw, str):
        return []
    return [s.strip() for s in raw.split(',') if s.strip()]


def build_credentials(
    body: collections.abc.Mapping[str, typing.Any],
    now: datetime.datetime,
) -> IdentityCredentials:
    """Credentials from a token answer; expiry for GitHub App tokens."""
    extra: dict[str, typing.Any] = {}
    refresh_expires = _seconds(body.get('refresh_token_expires_in'))
    if refresh_expires is not None:
        extra['refresh_token_expires_at'] = (
            now + datetime.timedelta(seconds=refresh_expires)
        ).isoformat()
    expires_in = _seconds(body.get('expires_in'))
    refresh_token = body.get('refresh_token')
    return IdentityCredentials(
        access_token=body['access_token'],
        token_type='Bearer',  # noqa: S106 - a token type, not a secret
        expires_at=(
            now + datetime.timedelta(seconds=expires_in)
            if expires_in is not None
            else None
        ),
        refresh_token=refresh_token
        if isinstance(refresh_token, str) and refresh_token
        else None,
        scopes=scopes(body),
        extra=extra,
    )


#: Longer than any token lifetime; beyond it a date cannot be computed.
_MAX_SECONDS = 100 * 365 * 24 * 3600


def _seconds(value: typing.Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    try:
        seconds = int(value)
    except ValueError:
        return None
    return seconds if abs(seconds) <= _MAX_SECONDS else None
