"""OAuth routes of the GitHub stand-in (owned by the identity work).

Web host (never under ``/api/v3``):

- ``GET /login/oauth/authorize`` validates the request the way GitHub
  does and answers the consent page (200 HTML); a bad ``redirect_uri``
  redirects to the registered callback with ``redirect_uri_mismatch``.
- ``POST /login/oauth/authorize`` is the consent form: ``login`` and
  ``authorize=1`` (or ``0`` to deny) redirect to the callback with a code
  (or ``error=access_denied``) and the state. :func:`approve` does the
  same from Python.
- ``POST /login/oauth/access_token`` exchanges a code (PKCE S256 checked,
  code single-use and valid 10 minutes, bound to client and
  redirect_uri) or a refresh token (rotation: the old refresh and access
  tokens die). Errors are HTTP 200 with ``error``/``error_description``;
  the answer is JSON only with ``Accept: application/json``, else form
  encoded, as GitHub does. A failed PKCE check answers
  ``bad_verification_code`` (GitHub documents no separate code).

REST (both URL shapes): ``GET /user``, ``/user/emails``, ``/user/orgs``
with GitHub's scope and permission rules, and ``DELETE
/applications/{client_id}/token`` (Basic auth client_id:client_secret):
204 when revoked; 404 "Not Found" both for wrong client credentials and
for a token GitHub does not know (or no longer knows). GitHub documents
only 204 and 422 for it and answers failed Basic auth on its
``/applications`` routes with 404, so a 404 cannot tell the two apart.
"""

import base64
import dataclasses
import hashlib
import html
import json
import re
import secrets
import time
import typing
import urllib.parse

import starlette.requests
import starlette.responses
import starlette.routing

from imbi_plugin_testing.fakes.github import shapes
from imbi_plugin_testing.fakes.github.core import (
    GitHubFake,
    OAuthApp,
    Token,
    User,
    rest,
)

CODE_TTL_SECONDS = 600
ACCESS_TOKEN_TTL_SECONDS = 28800
REFRESH_TOKEN_TTL_SECONDS = 15811200
_TROUBLESHOOTING = (
    'https://docs.github.com/apps/managing-oauth-apps/'
    'troubleshooting-oauth-app-access-token-request-errors'
)
_ERRORS = {
    'incorrect_client_credentials': (
        'The client_id and/or client_secret passed are incorrect.'
    ),
    'redirect_uri_mismatch': (
        'The redirect_uri MUST match the registered callback URL for this '
        'application.'
    ),
    'bad_verification_code': 'The code passed is incorrect or expired.',
    'unverified_user_email': 'The user must have a verified primary email.',
    'bad_refresh_token': 'The refresh token passed is incorrect or expired.',
    'unsupported_grant_type': 'The grant type is not supported.',
}
_EMAIL_SCOPES = {'user', 'user:email'}
_ORG_SCOPES = {'user', 'read:org', 'write:org', 'admin:org'}
_VERIFIER = re.compile(r'^[A-Za-z0-9._~-]{43,128}$')


@dataclasses.dataclass
class Grant:
    """An authorization code: who approved what, for which client."""

    code: str
    client_id: str
    user_login: str
    scopes: list[str]
    redirect_uri: str | None
    code_challenge: str | None
    expires_at: float
    used: bool = False


@dataclasses.dataclass
class RefreshToken:
    value: str
    client_id: str
    user_login: str
    access_token: str
    expires_at: float
    dead: bool = False


@dataclasses.dataclass
class OAuthState:
    """What the OAuth routes keep in ``fake.extensions['oauth']``."""

    grants: dict[str, Grant] = dataclasses.field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = dataclasses.field(
        default_factory=dict
    )


def state(fake: GitHubFake) -> OAuthState:
    """The OAuth state of ``fake`` (created on first use)."""
    found: OAuthState = fake.extensions.setdefault('oauth', OAuthState())
    return found


def s256(verifier: str) -> str:
    """The RFC 7636 S256 code challenge of ``verifier``."""
    digest = hashlib.sha256(verifier.encode('ascii')).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b'=').decode('ascii')


def advance(fake: GitHubFake, seconds: float) -> None:
    """Let ``seconds`` pass for codes and expiring tokens."""
    oauth = state(fake)
    for grant in oauth.grants.values():
        grant.expires_at -= seconds
    for refresh in oauth.refresh_tokens.values():
        refresh.expires_at -= seconds
    for token in fake.tokens.values():
        if token.expires_at is not None:
            token.expires_at -= seconds


# -- authorize ---------------------------------------------------------------


class AuthorizeError(Exception):
    """An authorize request GitHub refuses; ``response`` is its answer."""

    def __init__(self, response: starlette.responses.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _redirect(url: str, params: dict[str, str]) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query.extend(params.items())
    return urllib.parse.urlunsplit(
        parts._replace(query=urllib.parse.urlencode(query))
    )


def _found(location: str) -> starlette.responses.Response:
    """GitHub's browser redirects are 302 Found."""
    return starlette.responses.RedirectResponse(location, 302)


def _callback_matches(app: OAuthApp, redirect_uri: str) -> bool:
    """GitHub's rules: GitHub Apps match a callback URL exactly; OAuth
    Apps need the same scheme, host and port and a path below the
    registered one."""
    if app.kind == 'github_app':
        return redirect_uri in app.callback_urls
    given = urllib.parse.urlsplit(redirect_uri)
    for callback in app.callback_urls:
        registered = urllib.parse.urlsplit(callback)
        base = registered.path.rstrip('/')
        if (
            given.scheme == registered.scheme
            and given.netloc == registered.netloc
            and (
                given.path == registered.path
                or given.path.startswith(base + '/')
            )
        ):
            return True
    return False


def _validate_authorize(
    fake: GitHubFake, params: typing.Mapping[str, str]
) -> tuple[OAuthApp, str]:
    """The app and the callback URL of a valid authorize request."""
    app = fake.oauth_apps.get(params.get('client_id', ''))
    if app is None or not app.callback_urls:
        raise AuthorizeError(
            starlette.responses.HTMLResponse('<h1>Not Found</h1>', 404)
        )
    callback = params.get('redirect_uri') or app.callback_urls[0]
    back = {'state': params['state']} if 'state' in params else {}
    if not _callback_matches(app, callback):
        location = _redirect(
            app.callback_urls[0],
            {
                'error': 'redirect_uri_mismatch',
                'error_description': _ERRORS['redirect_uri_mismatch'],
                'error_uri': _TROUBLESHOOTING,
                **back,
            },
        )
        raise AuthorizeError(
            starlette.responses.RedirectResponse(location, 302)
        )
    problem = None
    if app.suspended:
        problem = (
            'application_suspended',
            'This application has been suspended.',
        )
    elif 'code_challenge' in params and (
        params.get('code_challenge_method') != 'S256'
        or not re.fullmatch(r'[A-Za-z0-9_-]{43}', params['code_challenge'])
    ):
        problem = (
            'invalid_request',
            'code_challenge must be an S256 challenge '
            '(code_challenge_method=S256).',
        )
    if problem is not None:
        location = _redirect(
            callback,
            {'error': problem[0], 'error_description': problem[1], **back},
        )
        raise AuthorizeError(
            starlette.responses.RedirectResponse(location, 302)
        )
    return app, callback


def _grant(
    fake: GitHubFake,
    params: typing.Mapping[str, str],
    login: str,
    *,
    deny: bool = False,
) -> str:
    """The callback URL the browser is sent to after consent."""
    app, callback = _validate_authorize(fake, params)
    back = {'state': params['state']} if 'state' in params else {}
    if deny:
        return _redirect(
            callback,
            {
                'error': 'access_denied',
                'error_description': 'The user has denied your application '
                'access.',
                **back,
            },
        )
    if login not in fake.users:
        raise KeyError(f'no GitHub user {login!r}')
    scopes = []
    if app.kind == 'oauth_app':
        for scope in re.split(r'[\s,]+', params.get('scope', '')):
            if scope and scope not in scopes:
                scopes.append(scope)
    grant = Grant(
        code=secrets.token_hex(10),
        client_id=app.client_id,
        user_login=login,
        scopes=scopes,
        redirect_uri=params.get('redirect_uri') or None,
        code_challenge=params.get('code_challenge'),
        expires_at=time.time() + CODE_TTL_SECONDS,
    )
    state(fake).grants[grant.code] = grant
    return _redirect(callback, {'code': grant.code, **back})


def approve(
    fake: GitHubFake, authorization_url: str, login: str, *, deny: bool = False
) -> str:
    """Approve (or deny) an authorize URL as ``login``; the callback URL.

    Raises :class:`AuthorizeError` when GitHub would not show the consent
    page; its ``response`` is GitHub's answer.
    """
    query = urllib.parse.urlsplit(authorization_url).query
    params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    return _grant(fake, params, login, deny=deny)


# -- token endpoint --------------------------------------------------------


def _token_answer(
    request: starlette.requests.Request, body: dict[str, typing.Any]
) -> starlette.responses.Response:
    """JSON only when asked for; GitHub answers form-encoded otherwise."""
    if 'application/json' in request.headers.get('accept', ''):
        return starlette.responses.JSONResponse(body)
    return starlette.responses.Response(
        urllib.parse.urlencode({k: str(v) for k, v in body.items()}),
        media_type='application/x-www-form-urlencoded; charset=utf-8',
    )


def _oauth_error(
    request: starlette.requests.Request, error: str
) -> starlette.responses.Response:
    return _token_answer(
        request,
        {
            'error': error,
            'error_description': _ERRORS[error],
            'error_uri': f'{_TROUBLESHOOTING}#{error.replace("_", "-")}',
        },
    )


def _has_verified_primary(user: User) -> bool:
    """False only for a user whose listed primary email is unverified."""
    primary = [e for e in user.emails if e.get('primary')]
    return not primary or bool(primary[0].get('verified'))


def _issue(
    fake: GitHubFake, app: OAuthApp, login: str, scopes: list[str]
) -> dict[str, typing.Any]:
    """A new access token (and refresh token for expiring App tokens)."""
    expiring = app.kind == 'github_app' and app.expiring_tokens
    token = fake.issue_token(
        login,
        scopes,
        prefix='ghu_' if app.kind == 'github_app' else 'gho_',
        client_id=app.client_id,
        kind='app' if app.kind == 'github_app' else 'oauth',
        permissions=dict(app.permissions),
        expires_at=time.time() + ACCESS_TOKEN_TTL_SECONDS
        if expiring
        else None,
    )
    body: dict[str, typing.Any] = {'access_token': token.value}
    if expiring:
        refresh = RefreshToken(
            value='ghr_' + secrets.token_urlsafe(56),
            client_id=app.client_id,
            user_login=login,
            access_token=token.value,
            expires_at=time.time() + REFRESH_TOKEN_TTL_SECONDS,
        )
        state(fake).refresh_tokens[refresh.value] = refresh
        body.update(
            expires_in=ACCESS_TOKEN_TTL_SECONDS,
            refresh_token=refresh.value,
            refresh_token_expires_in=REFRESH_TOKEN_TTL_SECONDS,
        )
    body.update({'scope': ','.join(scopes), 'token_type': 'bearer'})
    return body


def _exchange_code(
    fake: GitHubFake,
    request: starlette.requests.Request,
    app: OAuthApp,
    params: typing.Mapping[str, str],
) -> starlette.responses.Response:
    grant = state(fake).grants.get(params.get('code', ''))
    if (
        grant is None
        or grant.used
        or grant.client_id != app.client_id
        or time.time() >= grant.expires_at
    ):
        return _oauth_error(request, 'bad_verification_code')
    redirect_uri = params.get('redirect_uri')
    if redirect_uri and redirect_uri != (
        grant.redirect_uri or app.callback_urls[0]
    ):
        return _oauth_error(request, 'redirect_uri_mismatch')
    # A code is spent by any attempt that got this far: a wrong verifier
    # must not leave it open to guessing.
    grant.used = True
    if grant.code_challenge is not None:
        verifier = params.get('code_verifier', '')
        if not _VERIFIER.match(verifier) or not secrets.compare_digest(
            s256(verifier), grant.code_challenge
        ):
            return _oauth_error(request, 'bad_verification_code')
    if not _has_verified_primary(fake.users[grant.user_login]):
        return _oauth_error(request, 'unverified_user_email')
    return _token_answer(
        request, _issue(fake, app, grant.user_login, grant.scopes)
    )


def _refresh(
    fake: GitHubFake,
    request: starlette.requests.Request,
    app: OAuthApp,
    params: typing.Mapping[str, str],
) -> starlette.responses.Response:
    refresh = state(fake).refresh_tokens.get(params.get('refresh_token', ''))
    if (
        refresh is None
        or refresh.dead
        or refresh.client_id != app.client_id
        or time.time() >= refresh.expires_at
    ):
        return _oauth_error(request, 'bad_refresh_token')
    refresh.dead = True
    fake.tokens[refresh.access_token].revoked = True
    return _token_answer(request, _issue(fake, app, refresh.user_login, []))


async def _form(request: starlette.requests.Request) -> dict[str, str]:
    """Parameters from the query and the body (form or JSON), as GitHub
    reads them."""
    params = dict(request.query_params)
    body = await request.body()
    if 'json' in request.headers.get('content-type', ''):
        try:
            decoded = json.loads(body or b'{}')
        except ValueError:
            decoded = {}
        if isinstance(decoded, dict):
            params.update({k: str(v) for k, v in decoded.items()})
    else:
        params.update(urllib.parse.parse_qsl(body.decode('utf-8', 'replace')))
    return params


# -- REST --------------------------------------------------------------------


def _scope_headers(token: Token) -> dict[str, str]:
    if token.kind != 'oauth':
        return {}
    return {'x-oauth-scopes': ', '.join(token.scopes)}


def user_json(fake: GitHubFake, user: User) -> dict[str, typing.Any]:
    """GitHub's private user object (``GET /user``): a fresh account."""
    return {
        **shapes.simple_user(fake, user.login, 'User'),
        'name': user.name,
        'email': user.email,
        'company': None,
        'blog': '',
        'location': None,
        'hireable': None,
        'bio': None,
        'public_repos': 0,
        'public_gists': 0,
        'followers': 0,
        'following': 0,
        'created_at': shapes.CREATED,
        'updated_at': shapes.CREATED,
        'private_gists': 0,
        'total_private_repos': 0,
        'owned_private_repos': 0,
        'disk_usage': 0,
        'collaborators': 0,
        'two_factor_authentication': True,
        # GitHub's discriminator between the private and public views.
        'user_view_type': 'private',
    }


def _basic_auth(
    request: starlette.requests.Request,
) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get('authorization', '').partition(' ')
    if scheme.lower() != 'basic':
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode('utf-8')
    except ValueError:
        return None
    client_id, sep, secret = decoded.partition(':')
    return (client_id, secret) if sep else None


def routes(fake: GitHubFake) -> list[starlette.routing.BaseRoute]:
    async def authorize_page(
        request: starlette.requests.Request,
    ) -> starlette.responses.Response:
        params = dict(request.query_params)
        try:
            app, _ = _validate_authorize(fake, params)
        except AuthorizeError as exc:
            return exc.response
        fields = ''.join(
            f'<input type="hidden" name="{html.escape(k)}" '
            f'value="{html.escape(v)}">'
            for k, v in params.items()
        )
        return starlette.responses.HTMLResponse(
            f'<h1>Authorize {html.escape(app.client_id)}</h1>'
            f'<form method="post" action="/login/oauth/authorize">'
            f'{fields}<input name="login"><button name="authorize" '
            f'value="1">Authorize</button></form>'
        )

    async def authorize_consent(
        request: starlette.requests.Request,
    ) -> starlette.responses.Response:
        params = await _form(request)
        login = params.pop('login', '')
        deny = params.pop('authorize', '1') != '1'
        try:
            location = _grant(fake, params, login, deny=deny)
        except AuthorizeError as exc:
            return exc.response
        except KeyError:
            return starlette.responses.HTMLResponse(
                '<p>Incorrect username or password.</p>', 422
            )
        return _found(location)

    async def access_token(
        request: starlette.requests.Request,
    ) -> starlette.responses.Response:
        params = await _form(request)
        with fake.lock:
            app = fake.oauth_apps.get(params.get('client_id', ''))
            if app is None or not secrets.compare_digest(
                params.get('client_secret', ''), app.client_secret
            ):
                return _oauth_error(request, 'incorrect_client_credentials')
            grant_type = params.get('grant_type', 'authorization_code')
            if grant_type == 'authorization_code':
                return _exchange_code(fake, request, app, params)
            if grant_type == 'refresh_token':
                return _refresh(fake, request, app, params)
            return _oauth_error(request, 'unsupported_grant_type')

    async def get_user(
        request: starlette.requests.Request,
    ) -> starlette.responses.Response:
        token = fake.authenticate(request)
        if isinstance(token, starlette.responses.Response):
            return token
        if token.kind == 'installation':
            # An installation token acts for no user.
            return fake.error(403, 'Resource not accessible by integration')
        user = fake.users[token.user_login]
        return fake.json(user_json(fake, user), headers=_scope_headers(token))

    async def get_emails(
        request: starlette.requests.Request,
    ) -> starlette.responses.Response:
        token = fake.authenticate(request)
        if isinstance(token, starlette.responses.Response):
            return token
        if token.kind == 'app':
            if 'emails' not in token.permissions:
                return fake.error(
                    403, 'Resource not accessible by integration'
                )
        elif not _EMAIL_SCOPES & set(token.scopes):
            return fake.error(404, 'Not Found')
        emails = fake.users[token.user_login].emails
        page, links = fake.paginate(request, list(emails))
        return fake.json(page, headers={**links, **_scope_headers(token)})

    async def get_orgs(
        request: starlette.requests.Request,
    ) -> starlette.responses.Response:
        token = fake.authenticate(request)
        if isinstance(token, starlette.responses.Response):
            return token
        if token.kind == 'oauth' and not _ORG_SCOPES & set(token.scopes):
            return fake.error(403, 'Forbidden')
        orgs = [
            shapes.organization_simple(fake, login, 500 + index)
            for index, login in enumerate(fake.users[token.user_login].orgs)
        ]
        page, links = fake.paginate(request, orgs)
        return fake.json(page, headers={**links, **_scope_headers(token)})

    async def delete_token(
        request: starlette.requests.Request,
    ) -> starlette.responses.Response:
        basic = _basic_auth(request)
        if basic is None:
            return fake.error(401, 'Requires authentication')
        limited = fake.rate_limited()
        if limited is not None:
            return limited
        app = fake.oauth_apps.get(basic[0])
        if (
            app is None
            or app.client_id != request.path_params['client_id']
            or not secrets.compare_digest(basic[1], app.client_secret)
        ):
            return fake.error(404, 'Not Found')
        try:
            body = json.loads(await request.body() or b'{}')
        except ValueError:
            return fake.error(400, 'Problems parsing JSON')
        value = body.get('access_token') if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            return fake.error(
                422,
                'Invalid request.\n\n"access_token" wasn\'t supplied.',
            )
        with fake.lock:
            token = fake.tokens.get(value)
            if (
                token is None
                or token.revoked
                or token.client_id != app.client_id
            ):
                return fake.error(404, 'Not Found')
            token.revoked = True
            for refresh in state(fake).refresh_tokens.values():
                if refresh.access_token == value:
                    refresh.dead = True
        return starlette.responses.Response(
            status_code=204, headers=fake.rate_headers()
        )

    return [
        starlette.routing.Route(
            '/login/oauth/authorize', authorize_page, methods=['GET']
        ),
        starlette.routing.Route(
            '/login/oauth/authorize', authorize_consent, methods=['POST']
        ),
        starlette.routing.Route(
            '/login/oauth/access_token', access_token, methods=['POST']
        ),
        *rest('/user', get_user, ['GET']),
        *rest('/user/emails', get_emails, ['GET']),
        *rest('/user/orgs', get_orgs, ['GET']),
        *rest('/applications/{client_id}/token', delete_token, ['DELETE']),
    ]
