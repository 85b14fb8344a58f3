"""A stateful stand-in for HashiCorp Vault's KV secrets engine, v1 and v2.

Follows docs/upstreams/vault.md: everything under ``/v1``, the token in
``X-Vault-Token``, the namespace in ``X-Vault-Namespace``, ``LIST`` or
``GET ?list=true`` for listings, Vault's response envelope and error
shapes (``{"errors": [...]}``; 404 with ``[]`` for a missing key, ``no
handler for route`` for a path outside every mount, 403 ``permission
denied``, 503 ``Vault is sealed``, 400 for check-and-set failures).

KV v2 keeps versions, soft delete, undelete, destroy, custom_metadata,
``max_versions`` and ``cas_required`` (per mount and per key). Where a
real OpenBao 2.7 server answers differently from Vault's documentation,
the stand-in answers like the server (checked by the differential test
of the ``vault-server`` nox session): ``namespace not found`` for an
unknown namespace, a 404 with a warning and no errors for a KV v1 path
on a KV v2 mount, permissions checked before routing, 413 for bodies over
32 MiB, custom_metadata coerced to strings and capped at 64 keys, rate
limit quotas answering 429 with ``Retry-After: 0``, and the mount lookup
``sys/internal/ui/mounts/<path>`` the ``vault kv`` CLI uses. Tokens
are either root (everything) or carry ACL rules: path globs (a trailing
``*`` matches any suffix, ``+`` one segment) with capabilities
``create read update delete list`` or ``deny``, checked like Vault does
(LIST paths end in ``/``, writes need ``create`` for a new entry and
``update`` for an existing one). A token Vault does not know is
``permission denied``; a policy's denial comes in the multi-error
framing (``1 error occurred:\n\t* permission denied\n\n``).
"""

import dataclasses
import json
import re
import secrets
import threading
import time
import typing
import uuid

import starlette.requests
import starlette.responses
import starlette.routing

from imbi_plugin_testing.standin import StandIn

_LIST_LEASE_SECONDS = 0
_KV1_LEASE_SECONDS = 2764800
_UI_MOUNTS = 'sys/internal/ui/mounts/'
_CAPABILITIES = frozenset(
    {'create', 'read', 'update', 'delete', 'list', 'deny'}
)
_CAS_MISMATCH = 'check-and-set parameter did not match the current version'
_CAS_REQUIRED = 'check-and-set parameter required for this call'
_DENIED_BY_POLICY = '1 error occurred:\n\t* permission denied\n\n'
_VERSIONED_PATH = (
    'Invalid path for a versioned K/V secrets engine. See the API docs for '
    'the appropriate API endpoints to use. If using the OpenBao CLI, use '
    "'bao kv {verb}' for this operation."
)
_VERBS = {'GET': 'get', 'LIST': 'list', 'DELETE': 'delete'}
#: Vault's request body limit (max_request_size): 32 MiB.
MAX_REQUEST_BYTES = 32 * 1024 * 1024
MAX_CUSTOM_METADATA_KEYS = 64
_NEEDS = {
    'GET': ('read',),
    'LIST': ('list',),
    'DELETE': ('delete',),
    'POST': ('create', 'update'),
    'PUT': ('create', 'update'),
}


def rfc3339(ns: int) -> str:
    """Vault's timestamp format: RFC 3339, UTC, nanoseconds."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    stamp = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))
    return f'{stamp}.{fraction:09d}Z'


class _Clock:
    """Strictly increasing nanosecond timestamps."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now(self) -> str:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            return rfc3339(self._last)


@dataclasses.dataclass
class Rule:
    """One ACL rule: a Vault path glob and its capabilities."""

    path: str
    capabilities: frozenset[str]

    def matches(self, path: str) -> bool:
        pattern = ''
        glob = self.path.endswith('*')
        body = self.path[:-1] if glob else self.path
        for part in re.split(r'(\+)', body):
            pattern += '[^/]+' if part == '+' else re.escape(part)
        pattern += '.*' if glob else ''
        return re.fullmatch(pattern, path) is not None

    def reaches(self, mount: str) -> bool:
        """Whether the rule matches ``mount`` or some path under it."""
        glob = self.path.endswith('*')
        parts = (self.path[:-1] if glob else self.path).split('/')
        for index, segment in enumerate(mount.split('/')):
            if index >= len(parts):
                return False  # a rule for a path above the mount
            part = parts[index]
            if glob and index == len(parts) - 1:
                return segment.startswith(part)
            if part not in ('+', segment):
                return False
        return True


@dataclasses.dataclass
class Token:
    """A Vault token. ``rules`` None is a root token."""

    value: str
    rules: list[Rule] | None = None
    namespace: str = ''

    def may_use(self, mount: str) -> bool:
        """Whether any rule grants something under ``mount``.

        However the rule is written (``+`` segments, a glob reaching
        past the mount, the mount's own path), as OpenBao 2.7 answers
        the mount lookup.
        """
        if self.rules is None:
            return True
        return any(
            r.reaches(mount) and 'deny' not in r.capabilities
            for r in self.rules
        )

    def allows(self, path: str, capability: str) -> bool:
        if self.rules is None:
            return True
        matching = [r for r in self.rules if r.matches(path)]
        if not matching:
            return False
        # Vault applies the most specific rule: exact before glob, then
        # the longest prefix.
        best = max(
            matching,
            key=lambda r: (not r.path.endswith('*'), len(r.path)),
        )
        if 'deny' in best.capabilities:
            return False
        return capability in best.capabilities


@dataclasses.dataclass
class Version:
    data: dict[str, typing.Any] | None
    created_time: str
    deletion_time: str = ''
    destroyed: bool = False

    @property
    def live(self) -> bool:
        return not self.deletion_time and not self.destroyed

    def metadata(self) -> dict[str, typing.Any]:
        return {
            'created_time': self.created_time,
            'deletion_time': self.deletion_time,
            'destroyed': self.destroyed,
        }


@dataclasses.dataclass
class Entry:
    """A KV v2 key: its metadata and versions."""

    created_time: str
    updated_time: str
    max_versions: int = 0
    cas_required: bool = False
    delete_version_after: str = '0s'
    custom_metadata: dict[str, str] | None = None
    current_version: int = 0
    #: 0 until versions are deleted by max_versions, as OpenBao reports.
    oldest_version: int = 0
    metadata_version: int = 0
    versions: dict[int, Version] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Mount:
    """A KV mount of version 1 or 2."""

    path: str
    version: int = 2
    max_versions: int = 0
    cas_required: bool = False
    delete_version_after: str = '0s'
    #: KV v1: path -> data
    secrets: dict[str, dict[str, typing.Any]] = dataclasses.field(
        default_factory=dict
    )
    #: KV v2: path -> entry
    entries: dict[str, Entry] = dataclasses.field(default_factory=dict)

    def names(self) -> list[str]:
        return list(self.secrets if self.version == 1 else self.entries)


class _Reply(Exception):
    """Ends a request with a Vault answer."""

    def __init__(self, status: int, body: typing.Any = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _errors(status: int, *messages: str) -> _Reply:
    return _Reply(status, {'errors': list(messages)})


class VaultFake(StandIn):
    """Vault with KV mounts; ``root_token`` (random by default) is root."""

    def __init__(self, root_token: str | None = None) -> None:
        super().__init__()
        self.lock = threading.RLock()
        self.sealed = False
        self.clock = _Clock()
        self.tokens: dict[str, Token] = {}
        #: (namespace, mount path) -> mount; '' is the root namespace.
        self.mounts: dict[tuple[str, str], Mount] = {}
        #: Existing namespaces ('' is the root; parents are created too).
        self.namespaces: set[str] = {''}
        #: A rate limit quota: requests per second, and whether the
        #: answers carry Retry-After and X-Ratelimit-* headers.
        self.rate_limit: tuple[int, bool] | None = None
        self._window: tuple[int, int] = (0, 0)
        self.root_token = root_token or 'hvs.' + secrets.token_urlsafe(18)
        self.add_token(self.root_token)

    # -- state helpers ------------------------------------------------------

    def add_token(
        self,
        value: str,
        rules: dict[str, list[str]] | None = None,
        namespace: str = '',
    ) -> Token:
        """A token; ``rules`` maps path globs to capabilities (None: root)."""
        parsed = None
        if rules is not None:
            parsed = []
            for path, caps in rules.items():
                unknown = set(caps) - _CAPABILITIES
                if unknown:
                    raise ValueError(f'unknown capabilities {unknown}')
                parsed.append(Rule(path, frozenset(caps)))
        token = Token(value, parsed, namespace.strip('/'))
        self.tokens[value] = token
        return token

    def mount(
        self,
        path: str,
        version: int = 2,
        *,
        namespace: str = '',
        cas_required: bool = False,
        max_versions: int = 0,
    ) -> Mount:
        """Enable a KV engine of ``version`` at ``path``."""
        if version not in (1, 2):
            raise ValueError('KV version is 1 or 2')
        namespace = namespace.strip('/')
        self.add_namespace(namespace)
        mount = Mount(
            path.strip('/'),
            version,
            max_versions=max_versions,
            cas_required=cas_required,
        )
        self.mounts[namespace, mount.path] = mount
        return mount

    def add_namespace(self, namespace: str) -> None:
        """Create ``namespace`` and its parents (``a/b``: ``a``, ``a/b``)."""
        parts = [p for p in namespace.strip('/').split('/') if p]
        for end in range(1, len(parts) + 1):
            self.namespaces.add('/'.join(parts[:end]))

    def quota(self, per_second: int, *, headers: bool = False) -> None:
        """A rate limit quota over every path, like ``sys/quotas``."""
        self.rate_limit = (per_second, headers)
        self._window = (0, 0)

    def put(
        self,
        mount: str,
        path: str,
        data: dict[str, typing.Any],
        *,
        custom_metadata: dict[str, str] | None = None,
        namespace: str = '',
    ) -> None:
        """Write a secret directly (a new version on KV v2)."""
        target = self.mounts[namespace.strip('/'), mount.strip('/')]
        with self.lock:
            if target.version == 1:
                target.secrets[path] = dict(data)
                return
            entry = self._write_version(target, path, dict(data), None)
            if custom_metadata is not None:
                entry.custom_metadata = dict(custom_metadata)

    def soft_delete(
        self, mount: str, path: str, *, namespace: str = ''
    ) -> None:
        """Soft-delete the latest version of a KV v2 secret."""
        entry = self.entry(mount, path, namespace=namespace)
        with self.lock:
            entry.versions[
                entry.current_version
            ].deletion_time = self.clock.now()

    def destroy(self, mount: str, path: str, *, namespace: str = '') -> None:
        """Destroy the latest version of a KV v2 secret."""
        entry = self.entry(mount, path, namespace=namespace)
        with self.lock:
            version = entry.versions[entry.current_version]
            version.destroyed = True
            version.data = None

    def entry(self, mount: str, path: str, *, namespace: str = '') -> Entry:
        """A KV v2 key's state (KeyError when absent)."""
        return self.mounts[namespace.strip('/'), mount.strip('/')].entries[
            path
        ]

    def secret(
        self, mount: str, path: str, *, namespace: str = ''
    ) -> dict[str, typing.Any] | None:
        """The live data of a secret (latest version on KV v2), or None."""
        target = self.mounts[namespace.strip('/'), mount.strip('/')]
        if target.version == 1:
            return target.secrets.get(path)
        entry = target.entries.get(path)
        if entry is None or not entry.current_version:
            return None
        version = entry.versions.get(entry.current_version)
        return version.data if version and version.live else None

    # -- the app -------------------------------------------------------------

    def routes(self) -> list[starlette.routing.BaseRoute]:
        return [
            starlette.routing.Route(
                '/v1/{path:path}',
                self._handle,
                methods=['GET', 'POST', 'PUT', 'DELETE', 'LIST'],
            )
        ]

    async def _handle(
        self, request: starlette.requests.Request
    ) -> starlette.responses.Response:
        body = await request.body()
        headers: dict[str, str] = {}
        try:
            if len(body) > MAX_REQUEST_BYTES:
                raise _errors(413, 'http: request body too large')
            with self.lock:
                self._limit(request.path_params['path'], headers)
                status, payload = self._dispatch(request, body)
        except _Reply as reply:
            status, payload = reply.status, reply.body
        if payload is None:
            return starlette.responses.Response(
                status_code=status, headers=headers
            )
        return starlette.responses.Response(
            json.dumps(payload),
            status_code=status,
            headers=headers,
            media_type='application/json',
        )

    def _limit(self, path: str, headers: dict[str, str]) -> None:
        """A rate limit quota of one-second intervals, as OpenBao's."""
        if self.rate_limit is None:
            return
        limit, with_headers = self.rate_limit
        second = int(time.monotonic())
        start, used = self._window
        if start != second:
            start, used = second, 0
        used += 1
        self._window = (start, used)
        if with_headers:
            headers['X-Ratelimit-Limit'] = str(limit)
            headers['X-Ratelimit-Remaining'] = str(max(limit - used, 0))
            headers['X-Ratelimit-Reset'] = '0'
        if used > limit:
            if with_headers:
                # OpenBao's: whole seconds left, 0 within a 1 s interval.
                headers['Retry-After'] = '0'
            raise _errors(
                429, f'request path "{path}": rate limit quota exceeded'
            )

    def _dispatch(
        self, request: starlette.requests.Request, body: bytes
    ) -> tuple[int, typing.Any]:
        if self.sealed:
            raise _errors(503, 'Vault is sealed')
        method = request.method
        if method == 'GET' and request.query_params.get('list') == 'true':
            method = 'LIST'
        path = request.path_params['path']
        namespace = request.headers.get('x-vault-namespace', '').strip('/')
        if namespace not in self.namespaces:
            raise _errors(404, 'namespace not found')
        token = self.tokens.get(request.headers.get('x-vault-token', ''))
        if token is None:
            raise _errors(403, 'permission denied')
        if not _within(namespace, token.namespace):
            raise _errors(403, 'permission denied')
        if method == 'GET' and path.startswith(_UI_MOUNTS):
            return self._ui_mount(token, namespace, path[len(_UI_MOUNTS) :])
        try:
            mount, rest = self._route(namespace, path.rstrip('/'), path)
        except _Reply:
            # Vault checks the policy before routing: only a token that
            # may use the path learns that no mount serves it.
            if not any(token.allows(path, c) for c in _NEEDS[method]):
                raise _errors(403, _DENIED_BY_POLICY) from None
            raise
        if mount.version == 1:
            return self._kv1(token, mount, method, rest, body)
        return self._kv2(token, mount, method, rest, request, body)

    def _ui_mount(
        self, token: Token, namespace: str, path: str
    ) -> tuple[int, typing.Any]:
        """The mount serving ``path``, as the ``vault kv`` CLI reads it."""
        path = path.strip('/')
        candidates = [
            m
            for (ns, p), m in self.mounts.items()
            if ns == namespace and (path == p or path.startswith(p + '/'))
        ]
        mount = max(candidates, key=lambda m: len(m.path), default=None)
        first = path.split('/', 1)[0]
        if mount is None or not token.may_use(mount.path):
            raise _errors(
                403,
                'preflight capability check returned 403, please ensure '
                "client's policies grant access to path "
                f'"{mount.path if mount else first}/"',
            )
        named = uuid.uuid5(uuid.NAMESPACE_URL, f'{namespace}/{mount.path}')
        return 200, self._envelope(
            {
                'accessor': f'kv_{named.hex[:8]}',
                'config': {
                    'default_lease_ttl': 0,
                    'force_no_cache': False,
                    'max_lease_ttl': 0,
                },
                'deprecation_status': 'supported',
                'description': '',
                'external_entropy_access': False,
                'local': False,
                'options': {'version': str(mount.version)},
                'path': mount.path + '/',
                'plugin_version': '',
                'running_plugin_version': 'v2.7.2+builtin.bao',
                'running_sha256': '',
                'seal_wrap': False,
                'type': 'kv',
                'uuid': str(named),
            }
        )

    def _route(self, namespace: str, path: str, raw: str) -> tuple[Mount, str]:
        candidates = [
            m
            for (ns, p), m in self.mounts.items()
            if ns == namespace and (path == p or path.startswith(p + '/'))
        ]
        if not candidates:
            raise _errors(
                404,
                f'no handler for route "{raw}". route entry not found.',
            )
        mount = max(candidates, key=lambda m: len(m.path))
        return mount, path[len(mount.path) + 1 :]

    @staticmethod
    def _authorize(
        token: Token, mount: Mount, path: str, capability: str
    ) -> None:
        full = f'{mount.path}/{path}'
        if capability == 'list':
            full = full.rstrip('/') + '/'
        if not token.allows(full, capability):
            raise _errors(403, _DENIED_BY_POLICY)

    def _envelope(
        self, data: typing.Any, lease_duration: int = 0
    ) -> dict[str, typing.Any]:
        return {
            'request_id': str(uuid.uuid4()),
            'lease_id': '',
            'renewable': False,
            'lease_duration': lease_duration,
            'data': data,
            'wrap_info': None,
            'warnings': None,
            'auth': None,
        }

    @staticmethod
    def _json_object(body: bytes) -> dict[str, typing.Any]:
        if not body.strip():
            return {}
        try:
            parsed = json.loads(body)
        except ValueError:
            raise _errors(400, 'failed to parse JSON input') from None
        if not isinstance(parsed, dict):
            raise _errors(400, 'failed to parse JSON input')
        return parsed

    def _listing(
        self, names: list[str], folder: str
    ) -> tuple[int, typing.Any]:
        prefix = folder.strip('/')
        prefix = prefix + '/' if prefix else ''
        keys: set[str] = set()
        for name in names:
            if name.startswith(prefix):
                rest = name[len(prefix) :]
                head, slash, _ = rest.partition('/')
                keys.add(head + slash)
        if not keys:
            raise _errors(404)
        return 200, self._envelope({'keys': sorted(keys)})

    # -- KV v1 ---------------------------------------------------------------

    def _kv1(
        self,
        token: Token,
        mount: Mount,
        method: str,
        path: str,
        body: bytes,
    ) -> tuple[int, typing.Any]:
        if method == 'LIST':
            self._authorize(token, mount, path, 'list')
            return self._listing(mount.names(), path)
        if not path:
            raise _errors(405, 'unsupported operation')
        if method == 'GET':
            self._authorize(token, mount, path, 'read')
            data = mount.secrets.get(path)
            if data is None:
                raise _errors(404)
            return 200, self._envelope(dict(data), _KV1_LEASE_SECONDS)
        if method in ('POST', 'PUT'):
            exists = path in mount.secrets
            self._authorize(
                token, mount, path, 'update' if exists else 'create'
            )
            data = self._json_object(body)
            if not data:
                raise _errors(400, 'missing data fields')
            mount.secrets[path] = data
            return 204, None
        self._authorize(token, mount, path, 'delete')
        mount.secrets.pop(path, None)
        return 204, None

    # -- KV v2 ---------------------------------------------------------------

    def _kv2(
        self,
        token: Token,
        mount: Mount,
        method: str,
        path: str,
        request: starlette.requests.Request,
        body: bytes,
    ) -> tuple[int, typing.Any]:
        area, _, key = path.partition('/')
        if area == 'config':
            return self._config(token, mount, method, body)
        if area not in ('data', 'metadata', 'delete', 'undelete', 'destroy'):
            # A KV v1 path: 404 with a warning, no errors.
            full = f'{mount.path}/{path}'
            if method == 'LIST':
                full = full.rstrip('/') + '/'
            if not any(token.allows(full, c) for c in _NEEDS[method]):
                raise _errors(403, _DENIED_BY_POLICY)
            verb = _VERBS.get(method, 'put')
            envelope = self._envelope(None)
            envelope['warnings'] = [_VERSIONED_PATH.format(verb=verb)]
            raise _Reply(404, envelope)
        if method == 'LIST':
            if area != 'metadata':
                raise _errors(405, 'unsupported operation')
            self._authorize(token, mount, path, 'list')
            return self._listing(mount.names(), key)
        if not key:
            raise _errors(404, f'no handler for route "{path}"')
        if area == 'data':
            return self._data(token, mount, method, key, request, body)
        if area == 'metadata':
            return self._metadata(token, mount, method, key, body)
        return self._versions(token, mount, method, area, key, body)

    def _config(
        self, token: Token, mount: Mount, method: str, body: bytes
    ) -> tuple[int, typing.Any]:
        if method == 'GET':
            self._authorize(token, mount, 'config', 'read')
            return 200, self._envelope(
                {
                    'max_versions': mount.max_versions,
                    'cas_required': mount.cas_required,
                    'delete_version_after': mount.delete_version_after,
                }
            )
        if method not in ('POST', 'PUT'):
            raise _errors(405, 'unsupported operation')
        self._authorize(token, mount, 'config', 'update')
        fields = self._json_object(body)
        mount.max_versions = int(
            fields.get('max_versions', mount.max_versions)
        )
        mount.cas_required = bool(
            fields.get('cas_required', mount.cas_required)
        )
        mount.delete_version_after = str(
            fields.get('delete_version_after', mount.delete_version_after)
        )
        return 204, None

    def _write_version(
        self,
        mount: Mount,
        key: str,
        data: dict[str, typing.Any],
        cas: int | None,
    ) -> Entry:
        entry = mount.entries.get(key)
        current = entry.current_version if entry else 0
        cas_required = mount.cas_required or bool(entry and entry.cas_required)
        if cas is None and cas_required:
            raise _errors(400, _CAS_REQUIRED)
        if cas is not None and cas != current:
            raise _errors(400, _CAS_MISMATCH)
        now = self.clock.now()
        if entry is None:
            entry = Entry(created_time=now, updated_time=now)
            mount.entries[key] = entry
        entry.current_version += 1
        entry.versions[entry.current_version] = Version(dict(data), now)
        entry.updated_time = now
        limit = entry.max_versions or mount.max_versions or 10
        if len(entry.versions) > limit:
            while len(entry.versions) > limit:
                del entry.versions[min(entry.versions)]
            entry.oldest_version = min(entry.versions)
        return entry

    def _data(
        self,
        token: Token,
        mount: Mount,
        method: str,
        key: str,
        request: starlette.requests.Request,
        body: bytes,
    ) -> tuple[int, typing.Any]:
        full = f'data/{key}'
        entry = mount.entries.get(key)
        if method == 'GET':
            self._authorize(token, mount, full, 'read')
            return self._read(entry, request.query_params.get('version'))
        if method in ('POST', 'PUT'):
            exists = entry is not None and entry.current_version > 0
            self._authorize(
                token, mount, full, 'update' if exists else 'create'
            )
            fields = self._json_object(body)
            data = fields.get('data')
            if not isinstance(data, dict):
                raise _errors(400, 'no data provided')
            options = fields.get('options') or {}
            cas = options.get('cas') if isinstance(options, dict) else None
            if cas is not None and not isinstance(cas, int):
                raise _errors(400, 'invalid cas parameter')
            entry = self._write_version(mount, key, data, cas)
            version = entry.versions[entry.current_version]
            return 200, self._envelope(
                {
                    **version.metadata(),
                    'custom_metadata': entry.custom_metadata,
                    'version': entry.current_version,
                }
            )
        self._authorize(token, mount, full, 'delete')
        if entry is not None and entry.current_version in entry.versions:
            latest = entry.versions[entry.current_version]
            if latest.live:
                latest.deletion_time = self.clock.now()
                entry.updated_time = latest.deletion_time
        return 204, None

    def _read(
        self, entry: Entry | None, version_text: str | None
    ) -> tuple[int, typing.Any]:
        if entry is None or not entry.current_version:
            raise _errors(404)
        number = entry.current_version
        if version_text and version_text != '0':
            try:
                number = int(version_text)
            except ValueError:
                raise _errors(400, 'invalid version') from None
        version = entry.versions.get(number)
        if version is None:
            raise _errors(404)
        body = self._envelope(
            {
                'data': dict(version.data)
                if version.live and version.data
                else None,
                'metadata': {
                    **version.metadata(),
                    'custom_metadata': entry.custom_metadata,
                    'version': number,
                },
            }
        )
        return (200 if version.live else 404), body

    def _metadata(
        self,
        token: Token,
        mount: Mount,
        method: str,
        key: str,
        body: bytes,
    ) -> tuple[int, typing.Any]:
        full = f'metadata/{key}'
        entry = mount.entries.get(key)
        if method == 'GET':
            self._authorize(token, mount, full, 'read')
            if entry is None:
                raise _errors(404)
            return 200, self._envelope(
                {
                    'cas_required': entry.cas_required,
                    'created_time': entry.created_time,
                    'current_metadata_version': entry.metadata_version,
                    'current_version': entry.current_version,
                    'custom_metadata': entry.custom_metadata,
                    'delete_version_after': entry.delete_version_after,
                    'max_versions': entry.max_versions,
                    'metadata_cas_required': False,
                    'oldest_version': entry.oldest_version,
                    'updated_time': entry.updated_time,
                    'versions': {
                        str(n): v.metadata()
                        for n, v in sorted(entry.versions.items())
                    },
                }
            )
        if method in ('POST', 'PUT'):
            self._authorize(
                token, mount, full, 'create' if entry is None else 'update'
            )
            fields = self._json_object(body)
            custom = fields.get('custom_metadata')
            if custom is not None:
                custom = _custom_metadata(custom)
            now = self.clock.now()
            if entry is None:
                entry = Entry(created_time=now, updated_time=now)
                mount.entries[key] = entry
            # Vault keeps a field the request omits (or sends as null).
            if fields.get('max_versions') is not None:
                entry.max_versions = int(fields['max_versions'])
            if fields.get('cas_required') is not None:
                entry.cas_required = bool(fields['cas_required'])
            if fields.get('delete_version_after') is not None:
                entry.delete_version_after = str(
                    fields['delete_version_after']
                )
            if custom is not None:
                entry.custom_metadata = dict(custom)
            entry.metadata_version += 1
            entry.updated_time = now
            return 204, None
        self._authorize(token, mount, full, 'delete')
        mount.entries.pop(key, None)
        return 204, None

    def _versions(
        self,
        token: Token,
        mount: Mount,
        method: str,
        area: str,
        key: str,
        body: bytes,
    ) -> tuple[int, typing.Any]:
        if method not in ('POST', 'PUT'):
            raise _errors(405, 'unsupported operation')
        self._authorize(token, mount, f'{area}/{key}', 'update')
        numbers = self._json_object(body).get('versions')
        if not isinstance(numbers, list) or not numbers:
            raise _errors(400, 'no version number provided')
        entry = mount.entries.get(key)
        if entry is None:
            return 204, None
        now = self.clock.now()
        for number in numbers:
            version = entry.versions.get(int(number))
            if version is None:
                continue
            if area == 'delete' and not version.deletion_time:
                version.deletion_time = now
            elif area == 'undelete' and not version.destroyed:
                version.deletion_time = ''
            elif area == 'destroy':
                version.destroyed = True
                version.data = None
        entry.updated_time = now
        return 204, None


def _custom_metadata(custom: object) -> dict[str, str]:
    """custom_metadata as OpenBao keeps it: values as strings, 64 keys."""
    if not isinstance(custom, dict):
        raise _errors(400, 'custom_metadata must be a map')
    if len(custom) > MAX_CUSTOM_METADATA_KEYS:
        raise _errors(
            400,
            '1 error occurred:\n\t* custom_metadata validation failed: '
            f'payload must contain at most {MAX_CUSTOM_METADATA_KEYS} keys, '
            f'provided {len(custom)}\n\n',
        )
    return {
        str(k): v if isinstance(v, str) else json.dumps(v).strip('"')
        for k, v in custom.items()
    }


def _within(namespace: str, token_namespace: str) -> bool:
    """A token works in its own namespace and the ones below it."""
    if not token_namespace:
        return True
    return namespace == token_namespace or namespace.startswith(
        token_namespace + '/'
    )
