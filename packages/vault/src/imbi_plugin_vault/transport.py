"""How one Vault request is sent.

hvac over a requests session made for one plugin call: a connection
pool as large as the call's concurrency, the environment's proxy and CA
settings resolved once, every request's timeout taken from what is left
of the call's budget, and any non-2xx answer raised as
:class:`VaultResponseError` carrying the status, Vault's ``errors`` and
Retry-After, so the caller maps it to the error policy.
"""

import os
import threading
import time
import typing

import hvac
import hvac.adapters
import requests
import requests.adapters
import requests.utils
from imbi_common.plugins import PluginTimeoutError

from imbi_plugin_vault.options import VaultOptions

#: Older Vaults wrap messages: '1 error occurred:\n\t* permission denied'
_FRAMING = ('error occurred:', 'errors occurred:')


class VaultResponseError(Exception):
    """A non-2xx answer, raised by the adapter instead of hvac's errors.

    Keeps the status, Vault's ``errors`` and Retry-After; its text never
    carries the body (a 404 for a deleted version echoes metadata).
    """

    def __init__(
        self,
        status: int,
        errors: list[str],
        body: dict[str, typing.Any] | None,
        retry_after: float | None,
    ) -> None:
        super().__init__(f'Vault answered HTTP {status}')
        self.status = status
        self.errors = errors
        self.body = body
        self.retry_after = retry_after

    @classmethod
    def from_response(cls, response: requests.Response) -> VaultResponseError:
        body: dict[str, typing.Any] | None = None
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            body = parsed
        errors = body.get('errors') if body else None
        return cls(
            response.status_code,
            [str(e) for e in errors] if isinstance(errors, list) else [],
            body,
            retry_after(response.headers.get('Retry-After')),
        )

    @property
    def reason(self) -> str:
        """Vault's messages, with the older multi-error framing removed."""
        lines = []
        for error in self.errors:
            for line in error.splitlines():
                line = line.strip().removeprefix('* ').strip()
                if line and not line.endswith(_FRAMING):
                    lines.append(line)
        return '; '.join(lines) or f'HTTP {self.status}'


def retry_after(header: str | None) -> float | None:
    try:
        return max(float(header), 0.0) if header else None
    except ValueError:
        return None


class Deadline:
    """The call's deadline and whether the call has ended."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.ended = threading.Event()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def request_timeout(self) -> float:
        """Timeout of the next request; raises when none may start."""
        remaining = self.remaining()
        if self.ended.is_set() or remaining <= 0:
            raise PluginTimeoutError('the Vault call ran out of time')
        return remaining


class Adapter(hvac.adapters.JSONAdapter):
    """hvac's JSON adapter with per-request timeouts from the deadline.

    Raises :class:`VaultResponseError` (status, errors, Retry-After) for
    any non-2xx answer, so error mapping sees the whole answer.
    """

    def __init__(
        self, *args: typing.Any, deadline: Deadline, **kwargs: typing.Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = deadline

    def request(
        self, *args: typing.Any, **kwargs: typing.Any
    ) -> requests.Response | dict[typing.Any, typing.Any]:
        kwargs['timeout'] = self._deadline.request_timeout()
        kwargs['raise_exception'] = False
        answer = super().request(*args, **kwargs)
        if isinstance(answer, requests.Response) and not answer.ok:
            raise VaultResponseError.from_response(answer)
        return answer


def new_client(
    options: VaultOptions, token: str, deadline: Deadline
) -> hvac.Client:
    session = requests.Session()
    # One connection per worker thread, reused across the call.
    pool = requests.adapters.HTTPAdapter(
        pool_connections=1,
        pool_maxsize=options.max_concurrency,
        max_retries=0,
    )
    session.mount('https://', pool)
    session.mount('http://', pool)
    # requests reads the proxy and CA bundle variables (and ~/.netrc) on
    # every request when trust_env is on; resolve them once per call.
    session.trust_env = False
    session.proxies = requests.utils.get_environ_proxies(options.url)
    verify: bool | str = options.verify_tls
    if verify:
        verify = (
            os.environ.get('REQUESTS_CA_BUNDLE')
            or os.environ.get('CURL_CA_BUNDLE')
            or True
        )
    # hvac takes verify from the session when it is truthy.
    session.verify = verify
    # Every value explicit: hvac falls back to VAULT_ADDR, VAULT_TOKEN
    # and VAULT_CACERT from the environment otherwise.
    return hvac.Client(
        url=options.url,
        token=token,
        verify=verify,
        namespace=options.namespace,
        session=session,
        adapter=Adapter,
        strict_http=True,  # GET ?list=true: proxies reject LIST
        deadline=deadline,
    )
