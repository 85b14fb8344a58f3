"""The ``imbi-plugins`` command: list, demo, show and call plugins.

It runs the installed imbi-common's own registry, whichever plugin API
generation that is. v1 (2.3-2.11): entry points, a ``plugin_type`` per
manifest. v3 (2.12+): the ``imbi_plugin_*`` convention scan, which also
imports this harness (``imbi_plugin_testing``, no ``PLUGIN``): that load
error is the harness's, reported apart and not counted (a host's
environment never holds the harness); each plugin shows its capability
kind and hints, and options are Integration or capability options.
"""

import annotationlib
import argparse
import asyncio
import collections.abc
import dataclasses
import datetime
import importlib.metadata
import inspect
import json
import logging
import os
import sys
import time
import typing

import pydantic
import rich.console
import rich.table

from imbi_plugin_testing import _host
from imbi_plugin_testing._host import (
    LoadResult,
    PluginContext,
    PluginCredentialsMissing,
    list_plugins,
    load_plugins,
)
from imbi_plugin_testing.firstparty import (
    HARNESS_MODULE,
    by_module,
    split_harness,
)
from imbi_plugin_testing.generation import (
    ManifestView,
    handler_of,
    is_v3_plugin,
)
from imbi_plugin_testing.host import Host, HostResponse
from imbi_plugin_testing.scenarios import (
    StepFailed,
    StepResult,
    Steps,
    scenario_for,
)

CREDENTIAL_PREFIX = 'IMBI_PLUGIN_CREDENTIAL_'
FIRST_PARTY_PREFIX = 'imbi-plugin-'
HARNESS = 'imbi-plugin-testing'


def _console(stream: typing.TextIO | None = None) -> rich.console.Console:
    return rich.console.Console(file=stream or sys.stdout, highlight=False)


# -- list -------------------------------------------------------------------


def _load() -> LoadResult:
    return load_plugins()


def _v3() -> bool:
    return _host.generation() == 3


def _plugin_of(entry: typing.Any) -> type:
    """The registered class: v1 ``handler_cls``, v3 ``plugin_cls``."""
    found: type = getattr(entry, 'plugin_cls', None) or entry.handler_cls
    return found


def _distribution(entry: typing.Any) -> str:
    """The distribution a registry entry came from.

    v3 registries record the module they imported (``imbi_plugin_vault``
    or an ``IMBI_PLUGINS`` path) as ``package_name``.
    """
    if not is_v3_plugin(_plugin_of(entry)):
        return str(entry.package_name)
    top = str(entry.package_name).split(':', 1)[0].split('.', 1)[0]
    names = importlib.metadata.packages_distributions().get(top)
    return names[0] if names else str(entry.package_name)


def _kinds(entry: typing.Any) -> str:
    """v3: the capability kinds, comma separated."""
    manifest: typing.Any = entry.manifest
    return ', '.join(c.kind for c in manifest.capabilities)


def _print_harness(console: rich.console.Console, error: str | None) -> None:
    if error is not None:
        console.print(
            f'[dim]harness[/dim] {HARNESS_MODULE} is not a plugin (the v3 '
            f'registry scans every imbi_plugin_* module: "{error}"); never '
            'install it next to a host'
        )


def command_list(args: argparse.Namespace) -> int:
    """Print what the real registry loads from installed distributions."""
    if _v3():
        return _list_v3(args)
    result = _load()
    entries = sorted(list_plugins(), key=lambda e: e.manifest.slug)
    if args.json:
        report = {
            'plugins': [
                {
                    'slug': e.manifest.slug,
                    'name': e.manifest.name,
                    'plugin_type': e.manifest.plugin_type,
                    'distribution': e.package_name,
                    'version': e.package_version,
                }
                for e in entries
            ],
            'errors': result.errors,
            'skipped': result.skipped,
        }
        print(json.dumps(report, indent=2))
        return 1 if result.errors else 0
    console = _console()
    if not entries and not result.errors and not result.skipped:
        console.print('No Imbi plugins are installed.')
        return 0
    table = rich.table.Table('slug', 'type', 'distribution', 'version')
    for e in entries:
        table.add_row(
            e.manifest.slug,
            e.manifest.plugin_type,
            e.package_name,
            e.package_version,
        )
    console.print(table)
    for name, error in sorted(result.errors.items()):
        console.print(f'[red]error[/red] {name}: {error}')
    for name in result.skipped:
        console.print(f'[yellow]skipped[/yellow] {name} (api_version)')
    return 1 if result.errors else 0


def _list_v3(args: argparse.Namespace) -> int:
    result = _load()
    errors, harness = split_harness(result.errors)
    entries: list[typing.Any] = sorted(
        list_plugins(), key=lambda e: e.manifest.slug
    )
    if args.json:
        report: dict[str, typing.Any] = {
            'plugins': [
                {
                    'slug': e.manifest.slug,
                    'name': e.manifest.name,
                    'kinds': [c.kind for c in e.manifest.capabilities],
                    'distribution': _distribution(e),
                    'version': e.package_version,
                }
                for e in entries
            ],
            'errors': errors,
            'skipped': result.skipped,
            'harness': harness,
        }
        print(json.dumps(report, indent=2))
        return 1 if errors else 0
    console = _console()
    if not entries and not errors and not result.skipped:
        console.print('No Imbi plugins are installed.')
    else:
        table = rich.table.Table('slug', 'kind', 'distribution', 'version')
        for e in entries:
            table.add_row(
                e.manifest.slug,
                _kinds(e),
                _distribution(e),
                e.package_version,
            )
        console.print(table)
    for name, error in sorted(errors.items()):
        console.print(f'[red]error[/red] {name}: {error}')
    for name in result.skipped:
        console.print(
            f'[yellow]skipped[/yellow] {name} (api_version, or disabled)'
        )
    _print_harness(console, harness)
    return 1 if errors else 0


# -- demo -------------------------------------------------------------------


@dataclasses.dataclass
class PluginReport:
    slug: str
    steps: list[StepResult]
    ok: bool
    seconds: float
    error: str = ''


def _scenario_name(entry: typing.Any) -> str:
    """Scenarios are named after the v1 slug (``github``, not the v3
    ``github-identity``): the one of the entry's distribution, if it is
    ours."""
    if not is_v3_plugin(_plugin_of(entry)):
        return str(entry.manifest.slug)
    ours = by_module(_plugin_of(entry).__module__)
    return ours.slug_v1 if ours is not None else str(entry.manifest.slug)


async def _run_scenario(
    slug: str,
    report: typing.Callable[[str, StepResult], None],
    scenario: str | None = None,
) -> PluginReport:
    started = time.monotonic()
    module = scenario_for(scenario or slug)
    if module is None:
        return PluginReport(slug, [], False, 0.0, 'no demo scenario')
    steps = Steps(slug, report)
    error = ''
    try:
        await module.run(steps)
    except StepFailed:
        pass
    except Exception as exc:
        error = f'{type(exc).__name__}: {exc}'
    ok = not error and bool(steps.results)
    ok = ok and all(step.ok for step in steps.results)
    return PluginReport(
        slug, steps.results, ok, time.monotonic() - started, error
    )


def command_demo(args: argparse.Namespace) -> int:
    """Drive every installed first-party plugin through its scenario."""
    result = _load()
    errors, _ = split_harness(result.errors)
    console = _console(sys.stderr if args.json else None)
    scenarios = {
        e.manifest.slug: _scenario_name(e)
        for e in list_plugins()
        if _distribution(e).startswith(FIRST_PARTY_PREFIX)
        and _distribution(e) != HARNESS
    }
    slugs = sorted(scenarios)
    if args.plugin:
        if args.plugin not in slugs:
            console.print(
                f'[red]plugin {args.plugin!r} is not installed[/red]'
            )
            return 2
        slugs = [args.plugin]
    if not slugs and not errors:
        console.print(
            'No first-party Imbi plugins are installed: nothing to demo.'
        )
        if args.json:
            print(json.dumps({'plugins': [], 'ok': True}))
        return 0

    def report(slug: str, step: StepResult) -> None:
        mark = '[green]ok[/green]  ' if step.ok else '[red]FAIL[/red]'
        detail = f' [red]{step.detail}[/red]' if step.detail else ''
        console.print(
            f'{mark} {slug:<15} {step.name} ({step.seconds * 1000:.0f} ms)'
            f'{detail}'
        )

    reports = [
        asyncio.run(_run_scenario(slug, report, scenarios[slug]))
        for slug in slugs
    ]
    reports.extend(
        PluginReport(name, [], False, 0.0, f'failed to load: {error}')
        for name, error in sorted(errors.items())
    )
    table = rich.table.Table('plugin', 'steps', 'result', 'time')
    for r in reports:
        passed = sum(step.ok for step in r.steps)
        outcome = '[green]pass[/green]' if r.ok else '[red]FAIL[/red]'
        if r.error:
            outcome += f' {r.error}'
        table.add_row(
            r.slug, f'{passed}/{len(r.steps)}', outcome, f'{r.seconds:.2f}s'
        )
    console.print(table)
    ok = all(r.ok for r in reports)
    if args.json:
        print(
            json.dumps(
                {
                    'ok': ok,
                    'plugins': [
                        {
                            'slug': r.slug,
                            'ok': r.ok,
                            'seconds': round(r.seconds, 3),
                            'error': r.error,
                            'steps': [
                                dataclasses.asdict(step) for step in r.steps
                            ],
                        }
                        for r in reports
                    ],
                },
                indent=2,
            )
        )
    return 0 if ok else 1


# -- call and show -----------------------------------------------------------


class UsageError(Exception):
    """A mistake on the command line: one line on stderr, exit code 2."""


#: Parameters the host supplies; never given with --arg.
_HOST_SUPPLIED = frozenset({'self', 'ctx', 'credentials'})
#: Context fields given some other way (--option, the environment).
_NOT_CONTEXT = {
    'assignment_options': 'use --option NAME=VALUE',
    'identity': 'identity tokens are not given on the command line',
    # imbi-common 2.11: what a plugin hands back to the host.
    'link_writeback': 'plugins set it, the host reads it',
    'service_writeback': 'plugins set it, the host reads it',
    # v3: the option layers, and what the host alone supplies.
    'integration_options': 'use --option NAME=VALUE',
    'capability_options': 'use --option NAME=VALUE',
    'credential_note': 'plugins set it, the host reads it',
    'resolve_linked_identifiers': 'a host callback',
    'resolve_user_by_identity': 'a host callback',
}


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, text = value.partition('=')
        if not sep or not name:
            raise UsageError(f'{what} must be NAME=VALUE, got {value!r}')
        pairs[name] = text
    return pairs


def credential_variable(name: str) -> str:
    """The environment variable ``call`` reads credential ``name`` from."""
    return CREDENTIAL_PREFIX + name.upper().replace('-', '_')


def _credentials_from_environment(names: list[str]) -> dict[str, str]:
    found = {}
    for name in names:
        variable = credential_variable(name)
        if variable in os.environ:
            found[name] = os.environ[variable]
    return found


def _accepts_str(hint: typing.Any) -> bool:
    if hint is str or hint is typing.Any:
        return True
    return any(_accepts_str(arg) for arg in typing.get_args(hint))


def _validation_message(exc: pydantic.ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        where = '.'.join(str(part) for part in error['loc'])
        parts.append(f'{where}: {error["msg"]}' if where else error['msg'])
    return '; '.join(parts)


def _type_name(hint: typing.Any) -> str:
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return str(hint).replace('typing.', '')


def _model_hint(hint: typing.Any) -> str:
    """For a pydantic model argument, the JSON object it expects."""
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and issubclass(
            candidate, pydantic.BaseModel
        ):
            fields = ', '.join(
                f'"{name}"' + ('' if field.is_required() else '?')
                for name, field in candidate.model_fields.items()
            )
            return f' (a JSON object with {fields})'
    return ''


def _coerce(what: str, name: str, text: str, hint: typing.Any) -> typing.Any:
    """One NAME=VALUE as ``hint``: JSON first; plain text for strings.

    A value that is not JSON is taken as text. A JSON value of another
    type (``2`` for a string) is taken as its text only when the type
    accepts a string, so a model or a number never hides its own error
    behind a string's.
    """
    adapter: pydantic.TypeAdapter[typing.Any] = pydantic.TypeAdapter(hint)
    try:
        value: typing.Any = json.loads(text)
    except json.JSONDecodeError:
        value = text
    try:
        return adapter.validate_python(value)
    except pydantic.ValidationError as exc:
        first = exc
    if value != text and _accepts_str(hint):
        try:
            return adapter.validate_python(text)
        except pydantic.ValidationError:
            pass
    raise UsageError(
        f'{what} {name}={text}: {_validation_message(first)}; '
        f'expected {_type_name(hint)}{_model_hint(hint)}'
    )


def _type_hints(method: typing.Any) -> dict[str, typing.Any]:
    """The method's annotations, evaluated.

    Plugins import the host's models for annotations only
    (``typing.TYPE_CHECKING``: one module serves both generations), so
    each annotation is evaluated with the installed plugin API's names
    (and the stdlib modules annotations use) behind the module's own;
    one that still does not evaluate is ``typing.Any``.
    """
    try:
        return typing.get_type_hints(method)
    except NameError:
        pass
    api = _host.api()
    names = {
        'collections': collections,
        'datetime': datetime,
        'typing': typing,
        **vars(api.errors),
        **vars(api.base),
        **vars(api),
        **getattr(method, '__globals__', {}),
    }
    hints = {}
    found = annotationlib.get_annotations(
        method, format=annotationlib.Format.STRING
    )
    for name, text in found.items():
        try:
            hints[name] = eval(text, names)  # noqa: S307 - the plugin's own
        except Exception:  # shown as Any: show and call still work
            hints[name] = typing.Any
    return hints


def _arguments_of(method: typing.Any) -> list[inspect.Parameter]:
    return [
        parameter
        for name, parameter in inspect.signature(
            # Annotations only: their names may be typing-time imports.
            method,
            annotation_format=annotationlib.Format.FORWARDREF,
        ).parameters.items()
        if name not in _HOST_SUPPLIED
    ]


def _coerce_arguments(
    method: typing.Any, raw: dict[str, str]
) -> dict[str, typing.Any]:
    """Turn NAME=VALUE strings into the method's parameter types."""
    hints = _type_hints(method)
    parameters = {p.name: p for p in _arguments_of(method)}
    for name in raw:
        if name not in parameters:
            known = ', '.join(parameters) or 'none'
            raise UsageError(
                f'{method.__name__} has no argument {name!r} '
                f'(its arguments: {known})'
            )
    missing = [
        name
        for name, parameter in parameters.items()
        if parameter.default is inspect.Parameter.empty and name not in raw
    ]
    if missing:
        raise UsageError(
            f'{method.__name__} needs '
            + ' '.join(f'--arg {name}=...' for name in missing)
        )
    return {
        name: _coerce('--arg', name, text, hints.get(name, typing.Any))
        for name, text in raw.items()
    }


def _context_fields(raw: dict[str, str]) -> dict[str, typing.Any]:
    """--context values, parsed as JSON where the field wants it."""
    fields = PluginContext.model_fields
    values = {}
    for name, text in raw.items():
        if name in _NOT_CONTEXT:
            raise UsageError(
                f'--context {name} is not accepted: {_NOT_CONTEXT[name]}'
            )
        if name not in fields:
            known = ', '.join(n for n in fields if n not in _NOT_CONTEXT)
            raise UsageError(
                f'--context {name}: no such context field (known: {known})'
            )
        values[name] = _coerce(
            '--context', name, text, fields[name].annotation
        )
    return values


def plugin_methods(handler_cls: type) -> list[str]:
    """The public coroutine methods a host can call on the handler.

    v3: those the plugin implements; a method left to the capability
    base (an optional hook, a deployment extra) is the host's default
    (``skipped``, ``NotImplementedError``), not the plugin's.
    """
    bases = _v3_bases(handler_cls)
    return sorted(
        name
        for name, member in inspect.getmembers(handler_cls)
        if not name.startswith('_')
        and inspect.iscoroutinefunction(member)
        and not any(getattr(base, name, None) is member for base in bases)
    )


def _v3_bases(handler_cls: type) -> list[type]:
    """The v3 capability contracts among the handler's bases."""
    contract = _host.optional('CapabilityHandler')
    if contract is None:
        return []
    api = _host.api()
    return [
        base
        for base in handler_cls.__mro__
        if issubclass(base, contract)
        and base.__module__.startswith(api.__name__)
    ]


def _entry(slug: str) -> typing.Any:
    _load()
    from imbi_plugin_testing._host import PluginNotFoundError, get_plugin

    try:
        return get_plugin(slug)
    except PluginNotFoundError:
        installed = ', '.join(sorted(e.manifest.slug for e in list_plugins()))
        raise UsageError(
            f'no plugin {slug!r} is installed (installed: '
            f'{installed or "none"})'
        ) from None


def _context_summary(ctx: PluginContext) -> str:
    layers = {'integration_options', 'capability_options'}
    shown = ctx.model_dump(
        exclude={'assignment_options', 'identity', *layers}
        & set(type(ctx).model_fields)
    )
    return json.dumps(
        {k: v for k, v in shown.items() if v not in (None, {}, [], '')},
        default=str,
    )


def _context_kind(view: ManifestView) -> str:
    """The context a call of this plugin gets (the gateway's: webhook)."""
    return 'webhook' if view.kind == 'webhook-actions' else view.kind


def command_call(args: argparse.Namespace) -> int:
    """Run one plugin method through the Host against a real upstream."""
    entry = _entry(args.slug)
    plugin = _plugin_of(entry)
    view = ManifestView(plugin)
    handler = handler_of(plugin)
    methods = plugin_methods(handler)
    if args.method not in methods:
        raise UsageError(
            f'{args.slug} has no method {args.method!r} '
            f'(its methods: {", ".join(methods)})'
        )
    method = getattr(handler, args.method)
    credentials = _credentials_from_environment(
        [c.name for c in view.credentials]
    )
    raw = _pairs(args.arg, '--arg')
    if {'ctx', 'credentials'} & set(raw):
        raise UsageError(
            'ctx and credentials are not arguments: use --context and '
            f'{CREDENTIAL_PREFIX}<NAME> environment variables'
        )
    options = _pairs(args.option, '--option')
    known_options = {o.name for o in view.options}
    for name in options:
        if name not in known_options:
            raise UsageError(
                f'{args.slug} has no option {name!r} (its options: '
                f'{", ".join(sorted(known_options)) or "none"})'
            )
    context = _context_fields(_pairs(args.context, '--context'))
    arguments = _coerce_arguments(method, raw)
    # v3: the Host splits --option into Integration and capability
    # options by the manifest, as an admin's settings are stored.
    host = Host(
        plugin,
        plugin_options=options,
        credentials=credentials,
        project=context,
    )
    kind = _context_kind(view)
    ctx = host.context(kind)  # type: ignore[arg-type]
    if args.show_context:
        print(
            json.dumps(
                ctx.model_dump(exclude={'identity'}), indent=2, default=str
            )
        )
        return 0
    print(f'context: {_context_summary(ctx)}', file=sys.stderr)
    response: HostResponse = asyncio.run(
        _call_as_host(host, kind, args.method, arguments)
    )
    _explain_missing_credential(response, view)
    print(
        f'{args.slug} {args.method}: HTTP {response.status} in '
        f'{response.elapsed * 1000:.0f} ms',
        file=sys.stderr,
    )
    output: dict[str, typing.Any] = {
        'status': response.status,
        'body': response.body,
    }
    if args.timing:
        output['seconds'] = round(response.elapsed, 3)
    print(json.dumps(output, indent=2, default=str))
    return 0 if response.ok else 1


def _explain_missing_credential(
    response: HostResponse, view: ManifestView
) -> None:
    """Name the environment variable of a credential a plugin missed.

    A v3 host refuses some calls before the plugin runs when no
    credential at all is stored: then every field's variable is named.
    """
    detail = str(
        response.body.get('detail', '')
        if isinstance(response.body, dict)
        else ''
    )
    blob_empty = (
        view.v3 and response.status == 503 and 'no credentials' in (detail)
    )
    for field in view.credentials:
        if blob_empty or f'credential {field.name!r} is missing' in detail:
            print(
                f'set {credential_variable(field.name)} to give the '
                f'{field.name!r} credential',
                file=sys.stderr,
            )


async def _call_as_host(
    host: Host, kind: str, method: str, arguments: dict[str, typing.Any]
) -> HostResponse:
    """Call as the host would for this plugin type.

    Identity calls run without the host's timeout; deployment and
    lifecycle calls get the credentials the host builds; logs searches
    answer an expired cursor with 409.
    """
    if kind in ('deployment', 'lifecycle'):
        try:
            credentials = host.call_credentials()
        except PluginCredentialsMissing:
            # The command binds no identity: only a stored token can do.
            return host.error_response(
                PluginCredentialsMissing(
                    "credential 'token' is missing: imbi-plugins call binds "
                    'no identity, so a stored token is needed'
                )
            )
    else:
        credentials = host.credentials
    return await host.respond(
        method,
        ctx=host.context(kind),  # type: ignore[arg-type]
        credentials=credentials,
        wrap=kind != 'identity',
        cursor_conflict=kind == 'logs',
        **arguments,
    )


def describe(entry: typing.Any) -> dict[str, typing.Any]:
    """What ``show`` prints: the manifest an operator configures.

    v3: the capability's ``kind`` and ``hints`` instead of
    ``plugin_type``, and each option's ``level``: ``integration`` (asked
    once per Integration) or ``capability`` (per project type and
    project).
    """
    plugin = _plugin_of(entry)
    view = ManifestView(plugin)
    manifest = entry.manifest
    handler = handler_of(plugin)
    methods = []
    for name in plugin_methods(handler):
        method = getattr(handler, name)
        hints = _type_hints(method)
        methods.append(
            {
                'name': name,
                'arguments': [
                    {
                        'name': p.name,
                        'type': _type_name(hints.get(p.name, typing.Any)),
                        'required': p.default is inspect.Parameter.empty,
                        **(
                            {}
                            if p.default is inspect.Parameter.empty
                            else {'default': p.default}
                        ),
                    }
                    for p in _arguments_of(method)
                ],
            }
        )

    def option(o: typing.Any, level: str | None) -> dict[str, typing.Any]:
        return {
            'name': o.name,
            **({} if level is None else {'level': level}),
            'type': o.type,
            'required': o.required,
            'default': o.default,
            'choices': o.choices,
            'description': o.description or o.label,
        }

    if view.v3:
        kind: dict[str, typing.Any] = {
            'kind': view.kind,
            'hints': dict(view.capability.hints),  # type: ignore[union-attr]
        }
        options = [
            option(o, 'integration') for o in view.integration_options
        ] + [option(o, 'capability') for o in view.capability_options]
    else:
        kind = {'plugin_type': manifest.plugin_type}
        options = [option(o, None) for o in manifest.options]
    return {
        'slug': manifest.slug,
        'name': manifest.name,
        **kind,
        'auth_type': manifest.auth_type,
        'description': manifest.description,
        'distribution': _distribution(entry),
        'version': entry.package_version,
        'options': options,
        'credentials': [
            {
                'name': c.name,
                'required': c.required,
                'environment_variable': credential_variable(c.name),
                'description': c.description or c.label,
            }
            for c in manifest.credentials
        ],
        'methods': methods,
    }


def command_show(args: argparse.Namespace) -> int:
    """Print a plugin's manifest: options, credentials, methods."""
    shown = describe(_entry(args.slug))
    if args.json:
        print(json.dumps(shown, indent=2, default=str))
        return 0
    # No markup: types such as list[str] and descriptions are shown as is.
    console = rich.console.Console(
        file=sys.stdout, highlight=False, markup=False
    )
    console.print(
        f'{shown["slug"]} ({shown.get("plugin_type") or shown["kind"]}) '
        f'{shown["distribution"]} {shown["version"]}',
        style='bold',
    )
    if shown['description']:
        console.print(shown['description'])
    if 'hints' in shown:
        console.print(
            'hints: '
            + (
                ', '.join(
                    f'{name}={json.dumps(value)}'
                    for name, value in sorted(shown['hints'].items())
                )
                or 'none'
            )
        )
    # v1: one table; v3: the Integration's options, then the capability's.
    levels = (
        [None]
        if 'hints' not in shown
        else [
            ('integration', 'Integration option'),
            ('capability', 'capability option'),
        ]
    )
    option_tables = []
    for level in levels:
        table = rich.table.Table(
            rich.table.Column(
                'option' if level is None else level[1], no_wrap=True
            ),
            'type',
            'required',
            'default',
            'description',
        )
        for o in shown['options']:
            if level is not None and o['level'] != level[0]:
                continue
            table.add_row(
                o['name'],
                o['type'] + (f' {o["choices"]}' if o['choices'] else ''),
                'yes' if o['required'] else 'no',
                '' if o['default'] is None else json.dumps(o['default']),
                o['description'],
            )
        option_tables.append(table)
    # Names are copied into commands: never wrapped, whatever the width.
    credentials = rich.table.Table(
        rich.table.Column('credential', no_wrap=True),
        'required',
        rich.table.Column('environment variable', no_wrap=True),
        'description',
    )
    for c in shown['credentials']:
        credentials.add_row(
            c['name'],
            'yes' if c['required'] else 'no',
            c['environment_variable'],
            c['description'],
        )
    methods = rich.table.Table('method', '--arg NAME: TYPE (? optional)')
    for m in shown['methods']:
        methods.add_row(
            m['name'],
            ', '.join(
                f'{a["name"]}: {a["type"]}' + ('' if a['required'] else '?')
                for a in m['arguments']
            ),
        )
    for table in (*option_tables, credentials, methods):
        console.print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='imbi-plugins',
        description='List, demo and call the installed Imbi plugins.',
    )
    parser.add_argument(
        '-v', '--verbose', action='store_true', help='show debug logs'
    )
    commands = parser.add_subparsers(dest='command', required=True)
    listing = commands.add_parser('list', help='what the registry loads')
    listing.add_argument('--json', action='store_true')
    listing.set_defaults(func=command_list)
    demo = commands.add_parser(
        'demo', help='run every plugin against the stand-ins'
    )
    demo.add_argument('--plugin', metavar='SLUG', help='run one plugin')
    demo.add_argument('--json', action='store_true')
    demo.set_defaults(func=command_demo)
    call = commands.add_parser(
        'call',
        help='run one method against a real upstream',
        description=(
            'Credentials come only from environment variables '
            f'{CREDENTIAL_PREFIX}<NAME> (never from the command line).'
        ),
    )
    call.add_argument('slug')
    call.add_argument('method')
    call.add_argument(
        '--option', action='append', default=[], metavar='NAME=VALUE'
    )
    call.add_argument(
        '--arg',
        action='append',
        default=[],
        metavar='NAME=VALUE',
        help='method argument (JSON values accepted)',
    )
    call.add_argument(
        '--context',
        action='append',
        default=[],
        metavar='FIELD=VALUE',
        help=(
            'PluginContext field (JSON values accepted), e.g. '
            'project_slug=billing-api or project_links=\'{"github": "..."}\''
        ),
    )
    call.add_argument(
        '--show-context',
        action='store_true',
        help='print the context the call would get, and do not call',
    )
    call.add_argument(
        '--timing',
        action='store_true',
        help='add the call\'s duration ("seconds") to the JSON output',
    )
    call.set_defaults(func=command_call)
    show = commands.add_parser(
        'show', help="a plugin's options, credentials and methods"
    )
    show.add_argument('slug')
    show.add_argument('--json', action='store_true')
    show.set_defaults(func=command_show)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``imbi-plugins`` console script."""
    args = build_parser().parse_args(argv)
    # Load failures are reported in the command's own output; the
    # registry's tracebacks are for --verbose.
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format='%(levelname)s %(name)s: %(message)s',
    )
    if not args.verbose:
        # imbi.common: the v3 registry (2.17+) logs there.
        for name in ('imbi_common', 'imbi'):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f'imbi-plugins: error: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
