"""State and shared plumbing of the GitHub stand-in.

URL shapes: the OAuth endpoints are served at ``/login/oauth/...`` and
``/login/device/...``; the REST API both at the root (github.com shape:
``api_url`` = the base URL) and under ``/api/v3`` (GHES shape). GraphQL
at ``/graphql`` and ``/api/graphql``.
"""

import dataclasses
import email.utils
import importlib
import itertools
import json
import math
import os
import secrets
import threading
import time
import typing
import urllib.parse

import starlette.requests
import starlette.responses
import starlette.routing
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imbi_plugin_testing.standin import StandIn

DOCS = 'https://docs.github.com/rest'
RATE_LIMIT_DOCS = (
    'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api'
)
_ROUTE_MODULES = ('oauth', 'actions', 'repos', 'apps')
#: A file every exchange the routes answer is appended to (JSON lines),
#: for the check against GitHub's OpenAPI description
#: (scripts/github_openapi.py; ``nox -s github_openapi``).
EXCHANGES_ENV = 'IMBI_GITHUB_EXCHANGES'
_EXCHANGES_LOCK = threading.Lock()


@dataclasses.dataclass
class User:
    id: int
    login: str
    name: str | None = None
    email: str | None = None  # the public email, may be None
    emails: list[dict[str, typing.Any]] = dataclasses.field(
        default_factory=list
    )
    orgs: list[str] = dataclasses.field(default_factory=list)
    node_id: str = ''
    avatar_url: str = ''


@dataclasses.dataclass
class Token:
    """An access token: who it acts for and what it may do."""

    value: str
    user_login: str
    scopes: list[str] = dataclasses.field(default_factory=list)
    client_id: str | None = None
    expires_at: float | None = None  # epoch seconds; None = never
    kind: typing.Literal['oauth', 'app', 'pat', 'installation'] = 'pat'
    #: Fine-grained / App permissions, e.g. {'administration': 'write'}.
    permissions: dict[str, str] = dataclasses.field(default_factory=dict)
    revoked: bool = False

    def expired(self) -> bool:
        return self.expires_at is not None and time.time() >= self.expires_at


@dataclasses.dataclass
class OAuthApp:
    """A registered OAuth App, or the OAuth client of a GitHub App."""

    client_id: str
    client_secret: str
    kind: typing.Literal['oauth_app', 'github_app'] = 'oauth_app'
    #: Registered callback URLs (an OAuth App has one, a GitHub App <= 10).
    callback_urls: list[str] = dataclasses.field(default_factory=list)
    #: GitHub Apps: user tokens expire (8 h) and come with refresh tokens.
    expiring_tokens: bool = True
    #: GitHub Apps: user permissions, e.g. {'emails': 'read'}.
    permissions: dict[str, str] = dataclasses.field(default_factory=dict)
    suspended: bool = False


@dataclasses.dataclass
class Repository:
    owner: str
    name: str
    id: int
    default_branch: str = 'main'
    archived: bool = False
    private: bool = True
    #: login -> 'admin' | 'write' | 'read'
    collaborators: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f'{self.owner}/{self.name}'


class GitHubFake(StandIn):
    """The GitHub stand-in. ``base_url`` is set by :meth:`serve`."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.tokens: dict[str, Token] = {}
        self.repositories: dict[str, Repository] = {}  # lower full name
        #: old lower full name -> repository id (renames, transfers)
        self.redirects: dict[str, int] = {}
        self.ids = itertools.count(1000)
        self.rate_limit = 5000
        self.rate_used = 0
        self.base_url = 'http://github.test'
        #: State owned by the route modules, keyed by module name.
        self.extensions: dict[str, typing.Any] = {}
        #: OAuth Apps and GitHub Apps by client_id.
        self.oauth_apps: dict[str, OAuthApp] = {}
        #: Epoch second the exhausted primary rate limit resets.
        self.rate_reset_at: float | None = None
        #: Secondary rate limit: how many more requests it rejects, with
        #: which status and Retry-After (None: no Retry-After header).
        self.secondary_limited = 0
        self.secondary_status = 403
        self.secondary_retry_after: int | None = 60
        self.primary_status = 403

    # -- state helpers ------------------------------------------------------

    def add_user(self, login: str, **fields: typing.Any) -> User:
        user = User(id=next(self.ids), login=login, **fields)
        user.node_id = user.node_id or f'U_{user.id:08d}'
        self.users[login] = user
        return user

    def issue_token(
        self,
        login: str,
        scopes: list[str] | None = None,
        *,
        prefix: str = 'ghp_',
        **fields: typing.Any,
    ) -> Token:
        token = Token(
            value=prefix + secrets.token_urlsafe(27),
            user_login=login,
            scopes=list(scopes or []),
            **fields,
        )
        self.tokens[token.value] = token
        return token

    def add_repository(
        self, owner: str, name: str, **fields: typing.Any
    ) -> Repository:
        repo = Repository(owner=owner, name=name, id=next(self.ids), **fields)
        self.repositories[repo.full_name.lower()] = repo
        return repo

    def add_oauth_app(
        self,
        kind: typing.Literal['oauth_app', 'github_app'] = 'oauth_app',
        callback_urls: list[str] | None = None,
        **fields: typing.Any,
    ) -> OAuthApp:
        """Register an app; client_id/secret shaped like GitHub's."""
        prefix = 'Iv23li' if kind == 'github_app' else 'Ov23li'
        app = OAuthApp(
            client_id=fields.pop('client_id', None)
            or prefix + secrets.token_hex(7),
            client_secret=fields.pop('client_secret', None)
            or secrets.token_hex(20),
            kind=kind,
            callback_urls=list(callback_urls or []),
            **fields,
        )
        self.oauth_apps[app.client_id] = app
        return app

    def exhaust_rate_limit(self, reset_in: float = 60.0) -> None:
        """Use up the primary rate limit; it resets ``reset_in`` s later."""
        self.rate_used = self.rate_limit
        self.rate_reset_at = time.time() + reset_in

    def limit_secondary(
        self,
        times: int = 1,
        retry_after: int | None = 60,
        status: int = 403,
    ) -> None:
        """Reject the next ``times`` REST requests with a secondary limit."""
        self.secondary_limited = times
        self.secondary_retry_after = retry_after
        self.secondary_status = status

    def repository(self, owner: str, name: str) -> Repository | None:
        return self.repositories.get(f'{owner}/{name}'.lower())

    def repository_by_id(self, repo_id: int) -> Repository | None:
        return next(
            (r for r in self.repositories.values() if r.id == repo_id), None
        )

    # -- request helpers ----------------------------------------------------

    def rate_headers(self) -> dict[str, str]:
        reset_at = self.rate_reset_at
        if reset_at is not None and time.time() >= reset_at:
            self.rate_used, self.rate_reset_at = 0, None
        reset = self.rate_reset_at or time.time() + 3600
        return {
            'x-ratelimit-limit': str(self.rate_limit),
            'x-ratelimit-remaining': str(
                max(self.rate_limit - self.rate_used, 0)
            ),
            'x-ratelimit-used': str(self.rate_used),
            # Whole seconds, rounded up: a client waiting until then finds
            # the window reset.
            'x-ratelimit-reset': str(math.ceil(reset)),
            'x-ratelimit-resource': 'core',
        }

    def rate_limited(
        self, who: str = 'this IP'
    ) -> starlette.responses.Response | None:
        """GitHub's secondary or primary rate-limit answer, if one is due.

        Secondary: 403/429 "You have exceeded a secondary rate limit"
        with Retry-After when configured. Primary: 403/429 "API rate
        limit exceeded" with x-ratelimit-remaining 0.
        """
        if self.secondary_limited > 0:
            self.secondary_limited -= 1
            headers = {}
            if self.secondary_retry_after is not None:
                headers['retry-after'] = str(self.secondary_retry_after)
            return self.json(
                {
                    'message': 'You have exceeded a secondary rate limit. '
                    'Please wait a few minutes before you try again.',
                    'documentation_url': RATE_LIMIT_DOCS,
                },
                self.secondary_status,
                headers,
            )
        headers = self.rate_headers()
        if headers['x-ratelimit-remaining'] != '0':
            return None
        return self.json(
            {
                'message': f'API rate limit exceeded for {who}.',
                'documentation_url': RATE_LIMIT_DOCS,
            },
            self.primary_status,
            headers,
        )

    def json(
        self,
        body: typing.Any,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> starlette.responses.Response:
        """A JSON answer with GitHub's rate-limit headers."""
        merged = self.rate_headers()
        merged.update(headers or {})
        return starlette.responses.Response(
            json.dumps(body),
            status_code=status,
            headers=merged,
            media_type='application/json; charset=utf-8',
        )

    def error(
        self, status: int, message: str, **extra: typing.Any
    ) -> starlette.responses.Response:
        """GitHub's error shape: message and documentation_url."""
        return self.json(
            {'message': message, 'documentation_url': DOCS, **extra}, status
        )

    def authenticate(
        self, request: starlette.requests.Request
    ) -> Token | starlette.responses.Response:
        """The token of a REST request, or the 401 GitHub answers."""
        header = request.headers.get('authorization', '')
        scheme, _, value = header.partition(' ')
        if scheme.lower() not in ('bearer', 'token') or not value:
            return self.error(401, 'Requires authentication')
        token = self.tokens.get(value.strip())
        if token is None or token.revoked or token.expired():
            return self.error(401, 'Bad credentials')
        limited = self.rate_limited(f'user ID {self._user_id(token)}')
        if limited is not None:
            return limited
        self.rate_used += 1
        return token

    def _user_id(self, token: Token) -> int | str:
        user = self.users.get(token.user_login)
        return user.id if user is not None else token.user_login

    @staticmethod
    def http_date(epoch: float) -> str:
        return email.utils.formatdate(epoch, usegmt=True)

    def paginate(
        self,
        request: starlette.requests.Request,
        items: list[typing.Any],
        default_per_page: int = 30,
    ) -> tuple[list[typing.Any], dict[str, str]]:
        """One page of ``items`` and its Link header (rel next/last)."""
        try:
            per_page = min(
                int(request.query_params.get('per_page', default_per_page)),
                100,
            )
            page = max(int(request.query_params.get('page', 1)), 1)
        except ValueError:
            per_page, page = default_per_page, 1
        start = (page - 1) * per_page
        chunk = items[start : start + per_page]
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []
        if page < last:
            for rel, number in (('next', page + 1), ('last', last)):
                params = dict(request.query_params)
                params.update({'page': str(number), 'per_page': str(per_page)})
                query = urllib.parse.urlencode(params)
                links.append(
                    f'<{request.url.replace(query=query)}>; rel="{rel}"'
                )
        return chunk, ({'link': ', '.join(links)} if links else {})

    # -- routes -------------------------------------------------------------

    def routes(self) -> list[starlette.routing.BaseRoute]:
        """Routes of every route module present, REST ones twice."""
        routes: list[starlette.routing.BaseRoute] = []
        for name in _ROUTE_MODULES:
            try:
                module = importlib.import_module(f'{__package__}.{name}')
            except ModuleNotFoundError as exc:
                if exc.name == f'{__package__}.{name}':
                    continue
                raise
            routes.extend(module.routes(self))
        return routes

    def bind(self, url: str) -> None:
        """``base_url`` follows the served address."""
        self.base_url = url

    @property
    def web_url(self) -> str:
        """Where browsers go: the API host without ``api.`` for
        api.github.com-like hosts (GHE.com's api.SUBDOMAIN.ghe.com serves
        the web at SUBDOMAIN.ghe.com); the served address otherwise (GHES
        and 127.0.0.1 serve both)."""
        parts = urllib.parse.urlsplit(self.base_url)
        host = parts.hostname or ''
        if host.startswith('api.') and not parts.path.strip('/'):
            netloc = parts.netloc.replace(host, host.removeprefix('api.'), 1)
            return f'{parts.scheme}://{netloc}'
        return self.base_url

    def _routes_app(self) -> ASGIApp:
        """The routes, recording their exchanges when asked to.

        Only what the routes answer is recorded: injected faults are a
        test's own odd answers, not claims about GitHub.
        """
        app = super()._routes_app()
        target = os.environ.get(EXCHANGES_ENV)
        if not target:
            return app
        return _Recorder(app, target)


class _Recorder:
    """ASGI wrapper appending each request and answer to a JSON file."""

    def __init__(self, app: ASGIApp, target: str) -> None:
        self.app = app
        self.target = target

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send
    ) -> None:
        # Read whole first: a route may answer without reading the body.
        request_body = b''
        more = True
        while more:
            message = await receive()
            request_body += message.get('body', b'')
            more = message.get('more_body', False)
        answer: dict[str, typing.Any] = {'body': b''}
        replayed = False

        async def receiving() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {'type': 'http.request', 'body': request_body}
            return await receive()

        async def sending(message: Message) -> None:
            if message['type'] == 'http.response.start':
                answer['status'] = message['status']
                answer['headers'] = {
                    k.decode('latin-1').lower(): v.decode('latin-1')
                    for k, v in message.get('headers', [])
                }
            elif message['type'] == 'http.response.body':
                answer['body'] += message.get('body', b'')
            await send(message)

        await self.app(scope, receiving, sending)
        if 'status' not in answer:
            return
        headers = {
            k.decode('latin-1').lower(): v.decode('latin-1')
            for k, v in scope['headers']
        }
        line = json.dumps(
            {
                'method': scope['method'],
                'path': scope['path'],
                'query': scope.get('query_string', b'').decode('latin-1'),
                'request_type': headers.get('content-type', ''),
                'request_body': request_body.decode('utf-8', 'replace'),
                'status': answer['status'],
                'response_type': answer['headers'].get('content-type', ''),
                'response_body': answer['body'].decode('utf-8', 'replace'),
            }
        )
        _append(self.target, line)


def _append(target: str, line: str) -> None:
    # A few hundred bytes per exchange: not worth a thread.
    with _EXCHANGES_LOCK, open(target, 'a', encoding='utf-8') as f:
        f.write(line + '\n')


def rest(
    path: str,
    endpoint: typing.Callable[..., typing.Any],
    methods: list[str],
) -> list[starlette.routing.BaseRoute]:
    """A REST route at both the github.com and the GHES (/api/v3) shape."""
    return [
        starlette.routing.Route(path, endpoint, methods=methods),
        starlette.routing.Route('/api/v3' + path, endpoint, methods=methods),
    ]
