"""How to drive each plugin in the cross-package matrices (tests/).

A profile module per slug (dashes as underscores, like scenarios) defines
``profile() -> Profile``: a seeded stand-in, a :class:`Host` configured
against it, the plugin methods that talk upstream, the inputs that must be
refused without an upstream request, and the contract suite's spec. The
matrices in ``tests/`` combine them with the faults below, so every plugin
meets the same fault and bad-input cases.
"""

import collections.abc
import contextlib
import dataclasses
import importlib
import types
import typing

from imbi_plugin_testing import _host
from imbi_plugin_testing.contract import ContractSpec
from imbi_plugin_testing.host import Host, HostResponse
from imbi_plugin_testing.standin import Fault, StandIn

#: Budget the matrices give each plugin call (timeout_seconds).
MATRIX_BUDGET_SECONDS = 2

#: The fault matrix: name -> what the stand-in does to every request.
#: ``refused`` is not a fault: the Host points at a closed port instead.
FAULTS: dict[str, Fault | None] = {
    'stall': Fault(stall=True, times=None),
    'refused': None,
    '401': Fault(status=401, times=None),
    '403': Fault(status=403, times=None),
    '404': Fault(status=404, times=None),
    '429': Fault(status=429, headers={'Retry-After': '1'}, times=None),
    '500': Fault(status=500, times=None),
    '503': Fault(status=503, times=None),
    'malformed': Fault(malformed=True, times=None),
}

#: What the error policy (docs/design.md) says each fault becomes.
POLICY: dict[str, str] = {
    'stall': 'PluginTimeoutError',
    'refused': 'PluginUnavailableError',
    '401': 'PluginAuthenticationFailed',
    '403': 'PluginAuthenticationFailed',
    # PluginRateLimited(retry_at) where the installed imbi-common has it
    # (2.11+ and every v3 release): its queues back off until retry_at.
    '429': (
        'PluginRateLimited'
        if _host.optional('PluginRateLimited') is not None
        else 'PluginUnavailableError'
    ),
    '500': 'PluginUnavailableError',
    '503': 'PluginUnavailableError',
    'malformed': 'PluginUnavailableError',
}

Run = collections.abc.Callable[[Host], collections.abc.Awaitable[typing.Any]]


def outcome(result: typing.Any) -> str:
    """A HostResponse or LifecycleResult as one comparable word.

    The exception's class name when the call raised (``PluginTimeoutError``;
    the host's own ``TimeoutError`` stays ``TimeoutError``), ``ok`` for a
    successful answer; for lifecycle results the status, or the exception
    name the host put in front of a ``failed`` message.
    """
    if isinstance(result, HostResponse):
        if result.error is not None:
            return type(result.error).__name__
        return 'ok' if result.ok else f'http {result.status}'
    status = getattr(result, 'status', None)
    message = getattr(result, 'message', None) or ''
    head, sep, _ = message.partition(':')
    if (
        status == 'failed'
        and sep
        and head.isidentifier()
        and head[0].isupper()
    ):
        return head
    return str(status)


@dataclasses.dataclass
class UpstreamCall:
    """A plugin method that talks upstream, run through the Host.

    ``expect`` overrides :data:`POLICY` per fault, and must say what a
    404 means for this method (``ValueError``, ``ok`` when the contract
    treats not-found as an answer, ``skipped``...).
    """

    name: str
    run: Run
    expect: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Which requests get the fault (its path, method and when); None:
    #: every request, so the call fails at its first one. A target lets a
    #: variant fail at a later step (a transfer, a profile read).
    target: Fault | None = None

    def expected(self, fault: str) -> str:
        if fault in self.expect:
            return self.expect[fault]
        if fault not in POLICY:
            raise KeyError(f'{self.name}: say what a {fault} becomes')
        return POLICY[fault]


@dataclasses.dataclass
class BadInput:
    """Caller input the plugin must refuse before any upstream request."""

    name: str
    run: Run
    #: ValueError, CursorExpiredError, PluginCredentialsMissing, or a
    #: lifecycle status, as outcome() names it.
    error: str
    message: str  # a piece of the message that makes it actionable


@dataclasses.dataclass
class Profile:
    """Everything the matrices need to drive one plugin."""

    slug: str
    folder: str  # packages/<folder>
    make_fake: collections.abc.Callable[[], StandIn]
    #: A Host for the given fake served at the given base URL, with
    #: ``timeout_seconds`` set to the given budget.
    make_host: collections.abc.Callable[[StandIn, str, int], Host]
    calls: list[UpstreamCall]
    bad_inputs: list[BadInput]
    contract: collections.abc.Callable[[], ContractSpec]
    #: Per fault, a faithful error body/headers for the upstream (the
    #: generic Fault above gets them merged in).
    error_bodies: dict[str, Fault] = dataclasses.field(default_factory=dict)

    def fault(self, name: str, target: Fault | None = None) -> Fault | None:
        """The named fault, shaped for this upstream, on ``target``."""
        base = FAULTS[name]
        if base is None:
            return None
        fault = dataclasses.replace(base)
        shaped = self.error_bodies.get(name)
        if shaped is not None:
            fault.body = shaped.body
            fault.headers = {**base.headers, **shaped.headers}
        for selector in (shaped, target):
            if selector is None:
                continue
            fault.path = selector.path or fault.path
            fault.method = selector.method or fault.method
            fault.when = selector.when or fault.when
        return fault

    @contextlib.contextmanager
    def serving(self) -> collections.abc.Iterator[tuple[StandIn, str]]:
        fake = self.make_fake()
        with fake.plugged() as url:
            yield fake, url


#: v3 slugs that differ from the v1 slug naming the profile module.
V3_SLUGS = {'github-identity': 'github', 'sonarqube-sync': 'sonarqube'}


def profile_for(slug: str) -> Profile | None:
    """The profile of ``slug`` (v1 or v3 slug), or None when it has none."""
    slug = V3_SLUGS.get(slug, slug)
    name = f'{__name__}.{slug.replace("-", "_")}'
    try:
        module: types.ModuleType = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise
    made: Profile = module.profile()
    return made
