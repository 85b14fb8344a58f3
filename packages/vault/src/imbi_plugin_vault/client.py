"""Vault KV calls through hvac, bounded by the call's budget.

hvac is synchronous, so every Vault request runs in a worker
thread of a pool that belongs to one plugin call: at most
``max_concurrency`` requests at once. When the call ends, queued work is
cancelled, no new request starts, and the call waits for requests in
flight, which end by the call's deadline because each one's timeout is
the time left in the budget (when the host cancels the call, it does not
wait: they still end by that deadline).
"""

import asyncio
import collections.abc
import concurrent.futures
import contextlib
import dataclasses
import datetime
import functools
import logging
import math
import random
import time
import typing
import urllib.parse

from imbi_plugin_vault import _host, layout, transport
from imbi_plugin_vault import keys as key_rules
from imbi_plugin_vault._host import (
    PluginAuthenticationFailed,
    PluginTimeoutError,
    PluginUnavailableError,
)
from imbi_plugin_vault.options import VaultOptions

LOGGER = logging.getLogger(__name__)

#: Retries of a rate-limited (429) request, the first after this delay.
MAX_RETRIES = 2
BACKOFF_SECONDS = 0.25
#: The furthest ``retry_at`` a rate limit reports (an endless
#: Retry-After included).
MAX_RETRY_AT_SECONDS = 3600.0
#: How long past the deadline a request in flight may take to notice it.
DRAIN_GRACE = 0.25
_CAS_MISMATCH = 'check-and-set parameter did not match'
_NO_HANDLER = 'no handler for route'
_NO_NAMESPACE = 'namespace not found'
#: The KV v2 engine's warning for a KV v1 path (404, no errors).
_VERSIONED_PATH = 'Invalid path for a versioned K/V secrets engine'
#: 4xx answers that are not the request's fault (a timeout, a standby
#: or unsealing node, a rate limit): reported as Vault unavailable, not
#: as a ValueError; 401/403/404/429 also have branches of their own.
_NOT_THE_REQUESTS_FAULT_4XX = frozenset({401, 403, 404, 408, 412, 425, 429})
#: Where the ``vault kv`` CLI learns a mount's engine and version.
_MOUNT_LOOKUP = '/v1/sys/internal/ui/mounts/'

R = typing.TypeVar('R')


@dataclasses.dataclass(frozen=True)
class Stored:
    """One key as Vault holds it: decoded type and value, timestamp."""

    key: str
    data_type: str
    value: str
    last_modified: datetime.datetime | None


@dataclasses.dataclass(frozen=True)
class Listed:
    """One key as listed (no value)."""

    key: str
    data_type: str
    last_modified: datetime.datetime | None


@dataclasses.dataclass(frozen=True)
class _Read:
    """A KV v2 data read: live data or None, and the current version."""

    # Secret values: out of the repr, which error trackers record for
    # the locals of a raising frame.
    data: dict[str, typing.Any] | None = dataclasses.field(repr=False)
    version: int
    metadata: dict[str, typing.Any]


class _Missing(Exception):
    """404 for an absent key, folder or version (not an absent mount)."""

    def __init__(self, body: dict[str, typing.Any] | None) -> None:
        super().__init__('not found')
        self.body = body


class _CasMismatch(Exception):
    """A KV v2 write whose check-and-set version was stale."""


def parse_time(text: object) -> datetime.datetime | None:
    """Vault's RFC 3339 nanosecond timestamps as aware UTC datetimes."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.astimezone(datetime.UTC)


class VaultClient:
    """One plugin call's access to the project's folder in a KV mount.

    Create it with :func:`connect`; the async methods are the plugin
    operations, the ``_`` sync methods run in the call's worker threads.
    """

    def __init__(
        self,
        options: VaultOptions,
        token: str,
        folder: str,
        data_types: collections.abc.Mapping[str, bool],
    ) -> None:
        self.options = options
        self.folder = folder
        #: The manifest's data types: name -> secret flag.
        self.data_types = data_types
        self.mount = options.mount_path
        #: The mount's KV version: the option's until Vault says.
        self.kv_version = options.kv_version or 2
        self.deadline = transport.Deadline(options.timeout_seconds)
        self._hvac = transport.new_client(options, token, self.deadline)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=options.max_concurrency,
            thread_name_prefix='imbi-plugin-vault',
        )
        self._work: list[concurrent.futures.Future[typing.Any]] = []
        self._futures: list[asyncio.Future[typing.Any]] = []

    def close(self) -> None:
        """Cancel queued work, stop new requests, release the threads."""
        self.deadline.ended.set()
        for future in self._futures:
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" log
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._hvac.adapter.close()

    async def drain(self) -> None:
        """Wait for requests still in flight after :meth:`close`.

        Each one's timeout ends at the call's deadline, so this waits at
        most until then (plus a moment for the thread to notice).
        """
        running = [
            asyncio.wrap_future(work) for work in self._work if not work.done()
        ]
        if not running:
            return
        await asyncio.wait(
            running, timeout=max(self.deadline.remaining(), 0) + DRAIN_GRACE
        )
        for future in running:
            # Work a worker had taken but not started yet can still be
            # cancelled by the pool's shutdown.
            if future.done():
                if not future.cancelled():
                    future.exception()
            else:
                future.cancel()

    def _submit(
        self, fn: collections.abc.Callable[..., R], *args: typing.Any
    ) -> asyncio.Future[R]:
        work = self._pool.submit(fn, *args)
        future = asyncio.wrap_future(work)
        self._work.append(work)
        self._futures.append(future)
        return future

    # -- the operations ---------------------------------------------------

    async def list_keys(self) -> list[Listed]:
        """Every live key under the folder (KV v2: metadata only)."""
        await self._ready()
        if self.kv_version == 2:
            found = await self._walk(self._listed_v2)
        else:
            found = await self._walk(self._listed_v1)
        return sorted(
            (item for item in found if item is not None),
            key=lambda item: item.key,
        )

    async def get_values(self, requested: list[str] | None) -> list[Stored]:
        """Values of the requested keys (None: every key) that exist."""
        await self._ready()
        if requested is None:
            found = await self._walk(self._read)
            stored = [item for item in found if item is not None]
            return sorted(stored, key=lambda item: item.key)
        reads = [self._submit(self._read, key) for key in requested]
        return [item for item in await asyncio.gather(*reads) if item]

    async def set_value(self, key: str, value: str, data_type: str) -> Stored:
        """Create or update ``key``; refuses data Imbi did not write."""
        await self._ready()
        if self.kv_version == 2:
            return await self._submit(self._set_v2, key, value, data_type)
        return await self._submit(self._set_v1, key, value, data_type)

    async def delete_key(self, key: str) -> None:
        """Delete ``key``; an absent key is not an error."""
        await self._ready()
        await self._submit(self._delete, key)

    async def _ready(self) -> None:
        """The mount checked before the operation's first KV request."""
        self.kv_version = await self._submit(self._mount_version)

    async def _walk(
        self, per_key: collections.abc.Callable[[str], R]
    ) -> list[R]:
        """List the folder recursively; ``per_key`` runs on each key.

        Folder listings and per-key work share the pool, so reads start
        while deeper folders are still being listed.
        """
        folders = {self._submit(self._list_folder, '')}
        work: list[asyncio.Future[R]] = []
        while folders:
            done, folders = await asyncio.wait(
                folders, return_when=asyncio.FIRST_COMPLETED
            )
            for future in done:
                folder, entries = future.result()
                for entry in entries:
                    name = folder + entry
                    if entry.endswith('/'):
                        folders.add(self._submit(self._list_folder, name))
                    elif _valid(name):
                        work.append(self._submit(per_key, name))
        return list(await asyncio.gather(*work))

    # -- requests (worker threads) ----------------------------------------

    def _path(self, key: str) -> str:
        return f'{self.folder}/{key}' if key else self.folder

    def _call(
        self,
        operation: str,
        path: str,
        request: collections.abc.Callable[[], typing.Any],
    ) -> typing.Any:
        """One request with 429 retries; errors mapped to the policy."""
        attempt = 0
        while True:
            try:
                return request()
            except transport.VaultResponseError as exc:
                if exc.status == 429 and attempt < MAX_RETRIES:
                    self._pause(exc, operation, path, attempt)
                    attempt += 1
                    continue
                raise self._translate(exc, operation, path) from exc
            except transport.RequestTimedOut as exc:
                raise PluginTimeoutError(
                    f'Vault did not answer {operation} on '
                    f'{self._where(path)} in time'
                ) from exc
            except transport.Unreachable as exc:
                raise PluginUnavailableError(
                    f'cannot reach Vault at {self.options.url} ({exc.kind})'
                ) from exc
            except transport.RedirectRefused as exc:
                raise PluginUnavailableError(
                    f'{exc} ({operation} on {self._where(path)})'
                ) from exc

    def _pause(
        self,
        exc: transport.VaultResponseError,
        operation: str,
        path: str,
        attempt: int,
    ) -> None:
        """Wait before retrying a 429, if the wait fits the budget."""
        delay = exc.retry_after
        # OpenBao's quotas send Retry-After: 0 within 1 s intervals:
        # retrying at once would only be refused again.
        if not delay:
            delay = BACKOFF_SECONDS * 2**attempt
            delay += random.uniform(0, delay)  # noqa: S311 - jitter
        if delay >= self.deadline.remaining():
            raise _rate_limited(
                delay, f'{operation} on {self._where(path)}'
            ) from exc
        LOGGER.debug(
            'Vault rate limited %s on %s; retrying in %.2f s',
            operation,
            self._where(path),
            delay,
        )
        if self.deadline.ended.wait(delay):
            raise PluginTimeoutError('the Vault call ended')

    def _where(self, path: str) -> str:
        return f'{self.mount}/{path}'

    def _translate(
        self, exc: transport.VaultResponseError, operation: str, path: str
    ) -> Exception:
        where = self._where(path)
        if exc.status in (401, 403):
            return PluginAuthenticationFailed(
                f'Vault denied {operation} on {where}: {exc.reason}'
            )
        if exc.status == 404:
            if any(_NO_NAMESPACE in error for error in exc.errors):
                return ValueError(
                    f'the Vault namespace {self.options.namespace!r} does '
                    "not exist: check the 'namespace' option"
                )
            if any(_NO_HANDLER in error for error in exc.errors):
                return ValueError(
                    f'Vault has no mount {self.mount!r}'
                    f"{self._in_namespace()}: check the 'mount_path' option"
                )
            if exc.warned(_VERSIONED_PATH):
                return ValueError(self._other_version(2))
            if not exc.vault_shaped:
                # Vault's own not-found carries {"errors": []}: this is a
                # proxy, a load balancer or another server.
                return PluginUnavailableError(
                    f'{self.options.url} answered HTTP 404 to {operation} '
                    f'on {where}, which is not a Vault answer: check the '
                    "'url' option"
                )
            if operation.startswith('write'):
                # A write creates what is absent: not found means the
                # route itself is wrong (mount, namespace or a proxy).
                return ValueError(
                    f'Vault answered not found to {operation} on {where}: '
                    "check the 'mount_path' and 'namespace' options"
                )
            return _Missing(exc.body)
        if exc.status == 400 and any(
            _CAS_MISMATCH in error for error in exc.errors
        ):
            return _CasMismatch()
        if exc.status == 429:
            return _rate_limited(exc.retry_after, f'{operation} on {where}')
        if (
            400 <= exc.status < 500
            and exc.status not in _NOT_THE_REQUESTS_FAULT_4XX
        ):
            # Too large, too many custom_metadata keys, a check-and-set
            # the key's settings require: retrying cannot help.
            return ValueError(
                f'Vault refused {operation} on {where}: {exc.reason}'
            )
        return PluginUnavailableError(
            f'Vault failed {operation} on {where}: {exc.reason}'
        )

    def _answer(
        self, answer: object, operation: str, path: str
    ) -> dict[str, typing.Any]:
        """The ``data`` object of a JSON answer, else unavailable."""
        data = answer.get('data') if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise PluginUnavailableError(
                f'Vault sent a malformed answer to {operation} on '
                f'{self._where(path)}'
            )
        return data

    def _mount_version(self) -> int:
        """The mount's KV version, as Vault reports it.

        ValueError when ``mount_path`` is not a KV mount or the
        ``kv_version`` option names the other version. A token that may
        not look the mount up (or a proxy that blocks ``sys/``) leaves
        the option in charge; without it that is an authentication
        error, never a guess.
        """
        configured = self.options.kv_version
        lookup = _MOUNT_LOOKUP + urllib.parse.quote(self.mount)
        try:
            answer = self._call(
                'look up the mount',
                '',
                lambda: self._hvac.adapter.get(lookup),
            )
        except PluginAuthenticationFailed as exc:
            if configured is not None:
                return configured
            # Guessing would be unsafe: a KV v2 write on a KV v1 mount
            # stores data/... and metadata/... secrets.
            raise PluginAuthenticationFailed(
                f'{exc} (mount {self.mount!r}{self._in_namespace()}): '
                'the token needs a capability under the mount, or set '
                "the 'kv_version' option"
            ) from None
        except _Missing:
            # Vault answers the lookup for every path (200 or 403); a 404
            # comes from a url with a path Vault does not serve.
            raise PluginUnavailableError(
                f'{self.options.url} answered HTTP 404 to the mount lookup, '
                "which is not a Vault answer: check the 'url' option"
            ) from None
        data = self._answer(answer, 'look up the mount', '')
        found = str(data.get('path') or '').strip('/')
        engine = data.get('type')
        options = data.get('options')
        version = options.get('version') if isinstance(options, dict) else None
        where = self._in_namespace()
        # A mount of a child namespace named from the request's one
        # (namespace 'team', mount_path 'sub/kv') comes back named from
        # the root ('team/sub/kv'), in Vault as in OpenBao.
        named = {self.mount}
        if self.options.namespace:
            named.add(f'{self.options.namespace}/{self.mount}')
        # Older Vaults leave 'path' out of the answer, as the CLI allows.
        if found and found not in named:
            raise ValueError(
                f'Vault has no mount {self.mount!r}{where} (the path lies '
                f"in mount {found!r}): check the 'mount_path' option"
            )
        if engine not in ('kv', 'generic'):
            raise ValueError(
                f'the mount {self.mount!r}{where} is a {engine!r} secrets '
                "engine, not KV: check the 'mount_path' option"
            )
        actual = 2 if str(version) == '2' else 1
        if configured is not None and configured != actual:
            raise ValueError(self._other_version(actual))
        return actual

    def _other_version(self, actual: int) -> str:
        return (
            f'the mount {self.mount!r}{self._in_namespace()} is KV version '
            f"{actual}, but the 'kv_version' option says "
            f'{self.kv_version}: set it to {actual} or leave it '
            'empty'
        )

    def _in_namespace(self) -> str:
        if not self.options.namespace:
            return ''
        return f' in namespace {self.options.namespace!r}'

    def _list_folder(self, folder: str) -> tuple[str, list[str]]:
        """``(folder, entries)``: names in a folder, subfolders end in /."""
        path = self._path(folder.rstrip('/'))
        kv = self._hvac.secrets.kv
        engine = kv.v2 if self.kv_version == 2 else kv.v1
        try:
            answer = self._call(
                'list',
                path,
                lambda: engine.list_secrets(path, mount_point=self.mount),
            )
        except _Missing:
            return folder, []
        entries = self._answer(answer, 'list', path).get('keys')
        if not isinstance(entries, list) or not all(
            isinstance(e, str) for e in entries
        ):
            raise PluginUnavailableError(
                f'Vault sent a malformed answer to list on {self._where(path)}'
            )
        return folder, entries

    def _read_v2(self, key: str) -> _Read:
        path = self._path(key)
        kv = self._hvac.secrets.kv.v2
        try:
            answer = self._call(
                'read',
                path,
                lambda: kv.read_secret_version(
                    path, mount_point=self.mount, raise_on_deleted_version=True
                ),
            )
        except _Missing as missing:
            # A deleted or destroyed version still reports its number,
            # which a check-and-set write must name.
            body = missing.body or {}
            data = body.get('data')
            meta = data.get('metadata') if isinstance(data, dict) else None
            version = meta.get('version') if isinstance(meta, dict) else 0
            return _Read(None, version if isinstance(version, int) else 0, {})
        data = self._answer(answer, 'read', path)
        secret, meta = data.get('data'), data.get('metadata')
        if not isinstance(secret, dict) or not isinstance(meta, dict):
            raise PluginUnavailableError(
                f'Vault sent a malformed answer to read on {self._where(path)}'
            )
        version = meta.get('version')
        return _Read(secret, version if isinstance(version, int) else 0, meta)

    def _read_v1(self, key: str) -> dict[str, typing.Any] | None:
        path = self._path(key)
        kv = self._hvac.secrets.kv.v1
        try:
            answer = self._call(
                'read',
                path,
                lambda: kv.read_secret(path, mount_point=self.mount),
            )
        except _Missing:
            return None
        return self._answer(answer, 'read', path)

    def _metadata(self, key: str) -> dict[str, typing.Any] | None:
        path = self._path(key)
        kv = self._hvac.secrets.kv.v2
        try:
            answer = self._call(
                'read metadata',
                path,
                lambda: kv.read_secret_metadata(path, mount_point=self.mount),
            )
        except _Missing:
            return None
        return self._answer(answer, 'read metadata', path)

    def _read(self, key: str) -> Stored | None:
        """The key's value, or None when absent, deleted or destroyed."""
        if self.kv_version == 1:
            data = self._read_v1(key)
            if data is None:
                return None
            data_type, value = layout.decode(data, None, 1, self.data_types)
            return Stored(key, data_type, value, None)
        read = self._read_v2(key)
        if read.data is None:
            return None
        custom = read.metadata.get('custom_metadata') or {}
        data_type, value = layout.decode(
            read.data,
            custom.get(layout.TYPE_FIELD)
            if isinstance(custom, dict)
            else None,
            2,
            self.data_types,
        )
        return Stored(
            key,
            data_type,
            value,
            parse_time(read.metadata.get('created_time')),
        )

    def _listed_v2(self, key: str) -> Listed | None:
        meta = self._metadata(key)
        if meta is None:
            return None
        current = meta.get('current_version')
        versions = meta.get('versions')
        version = (
            versions.get(str(current)) if isinstance(versions, dict) else None
        )
        if (
            not isinstance(version, dict)
            or version.get('deletion_time')
            or version.get('destroyed')
        ):
            return None
        custom = meta.get('custom_metadata') or {}
        recorded = (
            custom.get(layout.TYPE_FIELD) if isinstance(custom, dict) else None
        )
        return Listed(
            key,
            layout.data_type(recorded, self.data_types),
            parse_time(meta.get('updated_time')),
        )

    def _listed_v1(self, key: str) -> Listed | None:
        stored = self._read(key)
        if stored is None:
            return None
        return Listed(key, stored.data_type, None)

    def _refuse_foreign(
        self, key: str, data: dict[str, typing.Any] | None
    ) -> None:
        if data is not None and not layout.owned_by_imbi(
            data, self.kv_version
        ):
            raise ValueError(
                f'key {key!r} holds Vault data that Imbi did not write '
                '(fields other than "value"); Imbi will not overwrite it'
            )

    def _set_v1(self, key: str, value: str, data_type: str) -> Stored:
        self._refuse_foreign(key, self._read_v1(key))
        path = self._path(key)
        kv = self._hvac.secrets.kv.v1
        self._call(
            'write',
            path,
            lambda: kv.create_or_update_secret(
                path,
                layout.stored_data(value, data_type, 1),
                method='POST',
                mount_point=self.mount,
            ),
        )
        return Stored(key, data_type, value, None)

    def _set_v2(self, key: str, value: str, data_type: str) -> Stored:
        path = self._path(key)
        kv = self._hvac.secrets.kv.v2
        retried = False
        while True:
            read = self._read_v2(key)
            self._refuse_foreign(key, read.data)
            custom = read.metadata.get('custom_metadata') or {}
            recorded = (
                custom.get(layout.TYPE_FIELD)
                if isinstance(custom, dict)
                else None
            )
            # Which write goes first decides what a failure between the
            # two leaves behind: never a secret value under a type that
            # is not secret (a secret type, or a key with no version yet,
            # is recorded first), and never a new value under the old
            # type: before the value, the type the key shows now is
            # written (same size as the final metadata), so a token that
            # may not write metadata, or custom_metadata at Vault's
            # 64-key cap, is refused before anything else is written.
            changes = recorded != data_type
            type_first = changes and (
                self.data_types[data_type] or read.version == 0
            )
            if type_first:
                self._record_type(key, data_type)
            elif changes:
                self._record_type(
                    key, layout.data_type(recorded, self.data_types)
                )
            try:
                answer = self._call(
                    'write',
                    path,
                    functools.partial(
                        kv.create_or_update_secret,
                        path,
                        layout.stored_data(value, data_type, 2),
                        cas=read.version,
                        mount_point=self.mount,
                    ),
                )
            except _CasMismatch:
                if retried:
                    raise PluginUnavailableError(
                        f'{self._where(path)} changed while Imbi was '
                        'writing it; try again'
                    ) from None
                LOGGER.debug('CAS mismatch on %s; retrying', path)
                retried = True
                continue
            if recorded != data_type and not type_first:
                self._record_type(key, data_type)
            written = self._answer(answer, 'write', path)
            return Stored(
                key, data_type, value, parse_time(written.get('created_time'))
            )

    def _record_type(self, key: str, data_type: str) -> None:
        """Merge the data type into the key's custom_metadata."""
        path = self._path(key)
        meta = self._metadata(key) or {}
        custom = meta.get('custom_metadata') or {}
        merged = dict(custom) if isinstance(custom, dict) else {}
        merged[layout.TYPE_FIELD] = data_type
        kv = self._hvac.secrets.kv.v2
        # A metadata write replaces the settings it names: send the
        # current ones so only custom_metadata changes.
        self._call(
            'write metadata',
            path,
            lambda: kv.update_metadata(
                path,
                max_versions=meta.get('max_versions'),
                cas_required=meta.get('cas_required'),
                delete_version_after=meta.get('delete_version_after', '0s'),
                custom_metadata=merged,
                mount_point=self.mount,
            ),
        )

    def _delete(self, key: str) -> None:
        path = self._path(key)
        kv = self._hvac.secrets.kv
        if self.kv_version == 1:
            operation = 'delete'

            def request() -> typing.Any:
                return kv.v1.delete_secret(path, mount_point=self.mount)

        elif self.options.delete_mode == 'destroy':
            operation = 'delete metadata'

            def request() -> typing.Any:
                return kv.v2.delete_metadata_and_all_versions(
                    path, mount_point=self.mount
                )

        else:
            operation = 'delete'

            def request() -> typing.Any:
                return kv.v2.delete_latest_version_of_secret(
                    path, mount_point=self.mount
                )

        with contextlib.suppress(_Missing):
            self._call(operation, path, request)


def _rate_limited(delay: float | None, what: str) -> Exception:
    """The host's rate-limit error: retry ``delay`` seconds from now.

    ``PluginRateLimited(retry_at)`` where the host has it (v3, and v1
    from 2.11; v3 job queues back off until then), else
    ``PluginUnavailableError``. A wait of less than a second, or none at
    all, is a second (Vault quotas count in seconds); an endless one
    (``Retry-After: inf``) an hour, a time a host can schedule.
    """
    wait = max(delay or 0.0, 1.0)
    if not math.isfinite(wait):
        wait = MAX_RETRY_AT_SECONDS
    return _host.rate_limited(
        time.time() + wait,
        f'Vault rate limit reached for {what}; retry in {wait:.0f} s',
    )


def _valid(key: str) -> bool:
    try:
        key_rules.validate_key(key)
    except ValueError:
        LOGGER.debug('skipping a Vault entry that is not a valid Imbi key')
        return False
    return True


@contextlib.asynccontextmanager
async def connect(
    options: VaultOptions,
    token: str,
    folder: str,
    data_types: collections.abc.Mapping[str, bool],
) -> collections.abc.AsyncIterator[VaultClient]:
    """A client for one call, inside the ``timeout_seconds`` budget."""
    try:
        async with asyncio.timeout(options.timeout_seconds) as budget:
            client = VaultClient(options, token, folder, data_types)
            try:
                yield client
            finally:
                client.close()
                # Unless the host cancelled the call (its own timeout),
                # return only once no thread still talks to Vault.
                task = asyncio.current_task()
                if budget.expired() or not (task and task.cancelling()):
                    await client.drain()
    except TimeoutError:
        raise PluginTimeoutError(
            f'Vault call exceeded its {options.timeout_seconds} s budget'
        ) from None
