"""A stateful stand-in for HashiCorp Vault's KV secrets engine, v1 and v2.

Follows docs/upstreams/vault.md: everything under ``/v1``, the token in
``X-Vault-Token``, the namespace in ``X-Vault-Namespace``, ``LIST`` or
``GET ?list=true`` for listings, Vault's response envelope and error
shapes (``{"errors": [...]}``; 404 with ``[]`` for a missing key, ``no
handler for route`` for a path outside every mount, 403 ``permission
denied``, 503 ``Vault is sealed``, 400 for check-and-set failures).

KV v2 keeps versions, soft delete, undelete, destroy, custom_metadata,
``max_versions`` and ``cas_required`` (per mount and per key). Tokens
are either root (everything) or carry ACL rules: path globs (a trailing
``*`` matches any suffix, ``+`` one segment) with capabilities
``create read update delete list`` or ``deny``, checked like Vault does
(LIST paths end in ``/``, writes need ``create`` for a new entry and
``update`` for an existing one).
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
_CAPABILITIES = frozenset(
    {'create', 'read', 'update', 'delete', 'list', 'deny'}
)
_CAS_MISMATCH = 'check-and-set parameter did not match the current version'
_CAS_REQUIRED = 'check-and-set parameter required for this call'


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


@dataclasses.dataclass
class Token:
    """A Vault token. ``rules`` None is a root token."""

    value: str
    rules: list[Rule] | None = None
    namespace: str = ''

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
    oldest_version: int = 0
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
        mount = Mount(
            path.strip('/'),
            version,
            max_versions=max_versions,
            cas_required=cas_required,
        )
        self.mounts[namespace, mount.path] = mount
        return mount

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
        try:
            with self.lock:
                status, payload = self._dispatch(request, body)
        except _Reply as reply:
            status, payload = reply.status, reply.body
        if payload is None:
            return starlette.responses.Response(status_code=status)
        return starlette.responses.Response(
            json.dumps(payload),
            status_code=status,
            media_type='application/json',
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
        token = self.tokens.get(request.headers.get('x-vault-token', ''))
        if token is None:
            raise _errors(403, 'permission denied')
        namespace = request.headers.get('x-vault-namespace', '').strip('/')
        if not _within(namespace, token.namespace):
            raise _errors(403, 'permission denied')
        mount, rest = self._route(namespace, path.rstrip('/'), path)
        if mount.version == 1:
            return self._kv1(token, mount, method, rest, body)
        return self._kv2(token, mount, method, rest, request, body)

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
            raise _errors(403, 'permission denied')

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
        if method == 'LIST':
            if area != 'metadata':
                raise _errors(405, 'unsupported operation')
            self._authorize(token, mount, path, 'list')
            return self._listing(mount.names(), key)
        if not key or area not in (
            'data',
            'metadata',
            'delete',
            'undelete',
            'destroy',
        ):
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
        if not entry.oldest_version:
            entry.oldest_version = entry.current_version
        limit = entry.max_versions or mount.max_versions or 10
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
                    'current_version': entry.current_version,
                    'custom_metadata': entry.custom_metadata,
                    'delete_version_after': entry.delete_version_after,
                    'max_versions': entry.max_versions,
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
            if custom is not None and not (
                isinstance(custom, dict)
                and all(isinstance(v, str) for v in custom.values())
            ):
                raise _errors(400, 'custom_metadata must be a map of strings')
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


def _within(namespace: str, token_namespace: str) -> bool:
    """A token works in its own namespace and the ones below it."""
    if not token_namespace:
        return True
    return namespace == token_namespace or namespace.startswith(
        token_namespace + '/'
    )
