"""The contract suite every plugin's tests run.

``check_plugin_contract(spec)`` checks, and raises :class:`ContractViolation`
listing every rule broken:

- the class loads through the real registry with no error and no skip;
- v1: class and ``plugin_type`` agree, ``api_version == 1``; v3: a
  ``Plugin`` subclass with ``api_version == 2`` and exactly one
  capability whose handler the registry accepts;
- option, credential and data type names are unique, and every option and
  credential name is documented in the package README (as `name`);
- ``supports_histogram`` (v3: the capability hint) is true exactly when
  ``histogram`` is overridden;
- data types named like secrets are flagged ``secret=True``;
- with each required credential removed or empty (and each extra
  incomplete set the spec lists) the call raises
  ``PluginCredentialsMissing`` before any network traffic; a required
  credential the spec lists as ``inferred_credentials`` instead reaches
  the upstream without it (``PluginTimeoutError`` from the stalled one);
- against an upstream that accepts connections and never answers, the call
  ends with ``PluginTimeoutError`` inside the ``timeout_seconds`` budget;
- no attribute is set on the instance by any of those calls.
"""

import asyncio
import collections.abc
import dataclasses
import pathlib
import re
import time
import typing

from imbi_plugin_testing import _host
from imbi_plugin_testing import context as contexts
from imbi_plugin_testing._host import (
    PluginContext,
    PluginCredentialsMissing,
    PluginTimeoutError,
)
from imbi_plugin_testing.generation import (
    ManifestView,
    handler_of,
    is_v3_plugin,
)
from imbi_plugin_testing.registry import installed
from imbi_plugin_testing.secrets import current_scan
from imbi_plugin_testing.standin import StallServer

Call = collections.abc.Callable[
    [typing.Any, PluginContext, dict[str, str]],
    collections.abc.Awaitable[typing.Any],
]

#: v1 plugin_type -> the base class's name (looked up in the installed
#: imbi-common: v3 releases have none of them).
_BASES: dict[str, str] = {
    'configuration': 'ConfigurationPlugin',
    'logs': 'LogsPlugin',
    'identity': 'IdentityPlugin',
    'deployment': 'DeploymentPlugin',
    'lifecycle': 'LifecyclePlugin',
    'webhook': 'WebhookActionPlugin',
}
_SECRET_NAME = re.compile(
    r'secret|password|passphrase|token|private|credential|key',
    re.IGNORECASE,
)
_ABSENT = object()
#: How far past its budget a call may end (scheduling, thread hand-off).
BUDGET_SLACK_SECONDS = 1.0


class ContractViolation(AssertionError):
    """The plugin breaks one or more rules of the contract."""


@dataclasses.dataclass
class ContractSpec:
    """What the suite needs to know to exercise one plugin.

    ``options(url)`` returns the plugin options pointing every upstream at
    ``url``; ``call(instance, ctx, credentials)`` makes one call that
    talks to the upstream; ``credentials`` is a complete set.
    """

    plugin: type
    readme: pathlib.Path
    credentials: dict[str, str]
    options: collections.abc.Callable[[str], dict[str, typing.Any]]
    call: Call
    context_kind: contexts.ContextKind
    context_fields: dict[str, typing.Any] = dataclasses.field(
        default_factory=dict
    )
    missing_credentials: list[dict[str, str]] = dataclasses.field(
        default_factory=list
    )
    budget_seconds: int = 1
    #: Required credentials the plugin infers when they are blank: an
    #: Integration saved before one became required has none stored,
    #: and imbi-api checks no required credential on logs or
    #: configuration calls. Names the manifest does not declare (v1's,
    #: say) are ignored.
    inferred_credentials: collections.abc.Collection[str] = ()


def _generation_failures(cls: type, manifest: typing.Any) -> list[str]:
    failures: list[str] = []
    if is_v3_plugin(cls):
        if manifest.api_version != 2:
            failures.append(f'api_version is {manifest.api_version}, not 2')
        if len(manifest.capabilities) != 1:
            failures.append(
                f'{len(manifest.capabilities)} capabilities, expected one'
            )
        return failures
    base = _host.optional(_BASES[manifest.plugin_type])
    if base is None or not issubclass(cls, base):
        failures.append(
            f'plugin_type {manifest.plugin_type!r} but the class does not '
            f'subclass {_BASES[manifest.plugin_type]}'
        )
    if manifest.api_version != 1:
        failures.append(f'api_version is {manifest.api_version}, not 1')
    return failures


def _static_failures(spec: ContractSpec) -> list[str]:
    cls = spec.plugin
    manifest = getattr(cls, 'manifest', None)
    if manifest is None:
        return ['class has no manifest attribute']
    failures = _generation_failures(cls, manifest)
    view = ManifestView(cls)
    handler = handler_of(cls)
    for what, names in (
        ('option', [o.name for o in view.options]),
        ('credential', [c.name for c in view.credentials]),
        ('data type', [d.name for d in view.data_types]),
    ):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            failures.append(f'duplicate {what} names: {duplicates}')
    readme = (
        spec.readme.read_text(encoding='utf-8')
        if spec.readme.is_file()
        else ''
    )
    if not readme:
        failures.append(f'README not found at {spec.readme}')
    for name in [o.name for o in view.options] + [
        c.name for c in view.credentials
    ]:
        if readme and f'`{name}`' not in readme:
            failures.append(f'{name!r} is not documented in the README')
    logs_base = _host.optional('LogsCapability' if view.v3 else 'LogsPlugin')
    overridden = (
        logs_base is not None
        and issubclass(handler, logs_base)
        and getattr(handler, 'histogram', None) is not logs_base.histogram
    )
    if view.supports_histogram != overridden:
        failures.append(
            f'supports_histogram is {view.supports_histogram} but '
            f'histogram is {"" if overridden else "not "}overridden'
        )
    for data_type in view.data_types:
        if _SECRET_NAME.search(data_type.name) and not data_type.secret:
            failures.append(
                f'data type {data_type.name!r} looks secret but is not '
                'flagged secret=True'
            )
    return failures


def _without_each(spec: ContractSpec, inferred: bool) -> list[dict[str, str]]:
    """The complete set with each required credential (those inferred,
    or the others) removed, then empty."""
    cases = []
    for field in ManifestView(spec.plugin).credentials:
        if (
            not field.required
            or (field.name in spec.inferred_credentials) != inferred
        ):
            continue
        removed = dict(spec.credentials)
        removed.pop(field.name, None)
        cases.append(removed)
        cases.append({**spec.credentials, field.name: ''})
    return cases


def _incomplete_credentials(spec: ContractSpec) -> list[dict[str, str]]:
    return [*_without_each(spec, inferred=False), *spec.missing_credentials]


async def _call_once(
    spec: ContractSpec,
    url: str,
    credentials: dict[str, str],
    failures: list[str],
    label: str,
) -> BaseException | None:
    options = dict(spec.options(url))
    options['timeout_seconds'] = spec.budget_seconds
    ctx = contexts.make_context(
        spec.context_kind, options=options, **spec.context_fields
    )
    handler = handler_of(spec.plugin)
    instance = handler()
    class_state = dict(vars(handler))
    error: BaseException | None = None
    try:
        # The host's own limit: a plugin that ignores its budget is cut
        # here rather than hanging the suite.
        await asyncio.wait_for(
            spec.call(instance, ctx, credentials),
            spec.budget_seconds + 2 * BUDGET_SLACK_SECONDS,
        )
    except Exception as exc:
        error = exc
        scan = current_scan()
        if scan is not None:
            scan.record_exception(exc)
    state = vars(instance) if hasattr(instance, '__dict__') else {}
    if state:
        failures.append(
            f'{label}: the call left state on the instance: {sorted(state)}'
        )
    changed = sorted(
        name
        for name, value in vars(handler).items()
        if class_state.get(name, _ABSENT) is not value
    )
    if changed:
        failures.append(
            f'{label}: the call changed class attributes: {changed}'
        )
    return error


async def check_plugin_contract_async(spec: ContractSpec) -> None:
    """The contract suite, from inside a running event loop."""
    failures = _static_failures(spec)
    with installed(spec.plugin) as result:
        if result.errors or result.skipped:
            failures.append(
                f'registry did not load it: errors={result.errors} '
                f'skipped={result.skipped}'
            )
    if 'timeout_seconds' not in {
        o.name for o in ManifestView(spec.plugin).options
    }:
        failures.append('no timeout_seconds option')

    for index, creds in enumerate(_incomplete_credentials(spec)):
        label = f'credentials case {index} ({sorted(creds)})'
        with StallServer() as server:
            error = await _call_once(spec, server.url, creds, failures, label)
        # Read once the accept thread has stopped: it counts every
        # connection made during the call.
        connections = server.connections
        if not isinstance(error, PluginCredentialsMissing):
            failures.append(
                f'{label}: expected PluginCredentialsMissing, got '
                f'{type(error).__name__}: {error}'
            )
        if connections:
            failures.append(
                f'{label}: {connections} connection(s) made before the '
                'credentials were checked'
            )

    for index, creds in enumerate(_without_each(spec, inferred=True)):
        label = f'inferred credentials case {index} ({sorted(creds)})'
        with StallServer() as server:
            error = await _call_once(spec, server.url, creds, failures, label)
        if not isinstance(error, PluginTimeoutError):
            failures.append(
                f'{label}: expected the call to reach the stalled upstream '
                f'(PluginTimeoutError), got {type(error).__name__}: {error}'
            )

    with StallServer() as server:
        started = time.monotonic()
        error = await _call_once(
            spec, server.url, spec.credentials, failures, 'stalled upstream'
        )
        elapsed = time.monotonic() - started
    if not isinstance(error, PluginTimeoutError):
        failures.append(
            'stalled upstream: expected PluginTimeoutError, got '
            f'{type(error).__name__}: {error}'
        )
    if elapsed > spec.budget_seconds + BUDGET_SLACK_SECONDS:
        failures.append(
            f'stalled upstream: took {elapsed:.2f}s for a budget of '
            f'{spec.budget_seconds}s'
        )
    if failures:
        raise ContractViolation(
            f'{spec.plugin.__name__} breaks the plugin contract:\n- '
            + '\n- '.join(failures)
        )


def check_plugin_contract(spec: ContractSpec) -> None:
    """Run the contract suite (from sync code; see the async variant)."""
    asyncio.run(check_plugin_contract_async(spec))
