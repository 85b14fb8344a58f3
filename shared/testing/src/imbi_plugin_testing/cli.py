"""The ``imbi-plugins`` command: list, demo and call installed plugins."""

import argparse
import asyncio
import dataclasses
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
from imbi_common.plugins import (
    LoadResult,
    PluginCredentialsMissing,
    list_plugins,
    load_plugins,
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
_KIND_OF_TYPE = {
    'configuration': 'configuration',
    'logs': 'logs',
    'identity': 'identity',
    'deployment': 'deployment',
    'lifecycle': 'lifecycle',
    'webhook': 'webhook',
}


def _console(stream: typing.TextIO | None = None) -> rich.console.Console:
    return rich.console.Console(file=stream or sys.stdout, highlight=False)


# -- list -------------------------------------------------------------------


def _load() -> LoadResult:
    return load_plugins()


def command_list(args: argparse.Namespace) -> int:
    """Print what the real registry loads from installed distributions."""
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


# -- demo -------------------------------------------------------------------


@dataclasses.dataclass
class PluginReport:
    slug: str
    steps: list[StepResult]
    ok: bool
    seconds: float
    error: str = ''


async def _run_scenario(
    slug: str, report: typing.Callable[[str, StepResult], None]
) -> PluginReport:
    started = time.monotonic()
    module = scenario_for(slug)
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
    console = _console(sys.stderr if args.json else None)
    slugs = sorted(
        e.manifest.slug
        for e in list_plugins()
        if e.package_name.startswith(FIRST_PARTY_PREFIX)
        and e.package_name != HARNESS
    )
    if args.plugin:
        if args.plugin not in slugs:
            console.print(
                f'[red]plugin {args.plugin!r} is not installed[/red]'
            )
            return 2
        slugs = [args.plugin]
    if not slugs and not result.errors:
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

    reports = [asyncio.run(_run_scenario(slug, report)) for slug in slugs]
    reports.extend(
        PluginReport(name, [], False, 0.0, f'failed to load: {error}')
        for name, error in sorted(result.errors.items())
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


# -- call -------------------------------------------------------------------


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, text = value.partition('=')
        if not sep or not name:
            raise SystemExit(f'{what} must be NAME=VALUE, got {value!r}')
        pairs[name] = text
    return pairs


def _credentials_from_environment(names: list[str]) -> dict[str, str]:
    found = {}
    for name in names:
        variable = CREDENTIAL_PREFIX + name.upper().replace('-', '_')
        if variable in os.environ:
            found[name] = os.environ[variable]
    return found


def _coerce_arguments(
    method: typing.Any, raw: dict[str, str]
) -> dict[str, typing.Any]:
    """Turn NAME=VALUE strings into the method's parameter types."""
    hints = typing.get_type_hints(method)
    parameters = inspect.signature(method).parameters
    coerced: dict[str, typing.Any] = {}
    for name, text in raw.items():
        if name not in parameters:
            raise SystemExit(f'{method.__name__} has no argument {name!r}')
        try:
            value: typing.Any = json.loads(text)
        except json.JSONDecodeError:
            value = text
        adapter = pydantic.TypeAdapter(hints.get(name, typing.Any))
        try:
            coerced[name] = adapter.validate_python(value)
        except pydantic.ValidationError:
            coerced[name] = adapter.validate_python(text)
    return coerced


def command_call(args: argparse.Namespace) -> int:
    """Run one plugin method through the Host against a real upstream."""
    _load()
    from imbi_common.plugins import PluginNotFoundError, get_plugin

    try:
        entry = get_plugin(args.slug)
    except PluginNotFoundError:
        raise SystemExit(
            f'no plugin {args.slug!r} is installed (see imbi-plugins list)'
        ) from None
    manifest = entry.manifest
    method = getattr(entry.handler_cls, args.method, None)
    if method is None or args.method.startswith('_'):
        raise SystemExit(f'{args.slug} has no method {args.method!r}')
    credentials = _credentials_from_environment(
        [c.name for c in manifest.credentials]
    )
    host = Host(
        entry.handler_cls,
        plugin_options=_pairs(args.option, '--option'),
        credentials=credentials,
        project=_pairs(args.context, '--context'),
    )
    raw = _pairs(args.arg, '--arg')
    if {'ctx', 'credentials'} & set(raw):
        raise SystemExit(
            'ctx and credentials are not arguments: use --context and '
            f'{CREDENTIAL_PREFIX}<NAME> environment variables'
        )
    arguments = _coerce_arguments(method, raw)
    kind = _KIND_OF_TYPE[manifest.plugin_type]
    response: HostResponse = asyncio.run(
        _call_as_host(host, kind, args.method, arguments)
    )
    print(
        json.dumps(
            {'status': response.status, 'body': response.body},
            indent=2,
            default=str,
        )
    )
    return 0 if response.ok else 1


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
        except PluginCredentialsMissing as exc:
            return host.error_response(exc)
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
        help='PluginContext field, e.g. project_slug=billing-api',
    )
    call.set_defaults(func=command_call)
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
        logging.getLogger('imbi_common').setLevel(logging.CRITICAL)
    return int(args.func(args))


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
