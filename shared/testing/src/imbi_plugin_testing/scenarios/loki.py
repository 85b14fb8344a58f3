"""Demo: a project's logs in Grafana Loki, as Grafana Cloud serves them.

Serves the Loki stand-in behind basic auth (the user is the tenant, as on
Grafana Cloud), with JSON logs of billing-api in production and staging,
and drives the plugin through the host model: a first page, paging with
the cursor through crowded nanoseconds, filters and levels, two
environments at once, the histogram summed over both, the schema, a
foreign cursor (409) and a regex RE2 refuses (no request made).
"""

import json
import secrets
import time
import urllib.parse

from imbi_plugin_testing.fakes.loki import LokiFake
from imbi_plugin_testing.host import Host
from imbi_plugin_testing.scenarios import Steps
from imbi_plugin_testing.secrets import current_scan

USER = '918273'
SECOND = 1_000_000_000
LEVELS = ['info', 'info', 'INFO', 'warning', 'Error']

#: One environment named, as the Imbi UI sends it.
PROD = ['production']


def _seed(fake: LokiFake) -> int:
    """Push 300 entries per environment; returns how many."""
    now = time.time_ns()
    for env, offset in (('production', 0), ('staging', 1)):
        for pod in range(3):
            entries = []
            for i in range(100):
                # Ten entries share each nanosecond across the pods.
                ts = now - (i // 10 + 1) * 10 * SECOND - offset * SECOND
                level = LEVELS[(i + pod) % len(LEVELS)]
                line = {
                    'level': level,
                    'message': f'{env} pod-{pod} request {i}',
                    'status': 500 if level == 'Error' else 200,
                }
                entries.append((ts, json.dumps(line)))
            fake.push(
                {'service_name': 'billing-api', 'env': env, 'pod': f'{pod}'},
                entries,
                tenant=USER,
            )
    return 300


async def run(steps: Steps) -> None:
    from imbi_plugin_testing.generation import plugin_under_test

    LokiPlugin = plugin_under_test('imbi_plugin_loki')

    fake = LokiFake()
    password = 'glc_' + secrets.token_urlsafe(24)
    fake.users = {USER: password}
    scan = current_scan()
    if scan is not None:
        scan.add(password)
    per_environment = _seed(fake)

    with fake.serve() as url:
        host = Host(
            LokiPlugin,
            plugin_options={
                'url': url,
                'line_format': 'json',
                'selector_template': (
                    '{service_name="${project_slug}", env="${environment}"}'
                ),
            },
            credentials={'username': USER, 'password': password},
        )

        async with steps.step('search production: newest first'):
            response = await host.search(host.log_query(limit=25), PROD)
            steps.check(response.ok, f'search: {response.body}')
            entries = response.result.entries
            steps.check(len(entries) == 25, f'{len(entries)} entries')
            stamps = [e.timestamp for e in entries]
            steps.check(stamps == sorted(stamps, reverse=True), 'order')
            steps.check(
                all(e.level == e.level.lower() for e in entries if e.level),
                'levels are not lower case',
            )
            steps.check(
                response.result.next_cursor is not None, 'no next cursor'
            )

        async with steps.step('page with the cursor: every entry once'):
            query = host.log_query(limit=25)
            seen: list[str] = []
            while True:
                page = await host.search(query, PROD)
                steps.check(page.ok, f'page: {page.body}')
                seen.extend(e.raw['line'] for e in page.result.entries)
                if page.result.next_cursor is None:
                    break
                query = query.model_copy(
                    update={'cursor': page.result.next_cursor}
                )
            steps.check(
                len(seen) == per_environment == len(set(seen)),
                f'{len(seen)} entries, {len(set(seen))} distinct',
            )

        async with steps.step('filters and levels become LogQL'):
            response = await host.search(
                host.log_query(filters=['status:eq:500'], levels=['ERROR']),
                PROD,
            )
            steps.check(response.ok, f'search: {response.body}')
            steps.check(
                {e.level for e in response.result.entries} == {'error'},
                'levels',
            )
            sent = urllib.parse.parse_qs(fake.requests[-1].query)['query'][0]
            steps.check(
                sent.endswith(
                    '| json | status="500" | level=~"(?i)(?:err|error)"'
                ),
                f'LogQL: {sent}',
            )

        async with steps.step('search production and staging at once'):
            response = await host.search(
                host.log_query(limit=40), ['production', 'staging']
            )
            steps.check(response.ok, f'search: {response.body}')
            envs = {e.raw['environment'] for e in response.result.entries}
            steps.check(envs == {'production', 'staging'}, f'{envs}')
            steps.check(not response.result.warnings, 'warnings')

        async with steps.step('no environment named: every environment'):
            response = await host.search(host.log_query(limit=1000))
            steps.check(response.ok, f'search: {response.body}')
            count = len(response.result.entries)
            steps.check(count == 2 * per_environment, f'{count} entries')

        async with steps.step('histogram, summed over both environments'):
            response = await host.histogram(
                host.log_query(), ['production', 'staging'], bucket_count=30
            )
            steps.check(response.ok, f'histogram: {response.body}')
            counts = [b.count for b in response.result]
            steps.check(len(counts) == 30, f'{len(counts)} buckets')
            steps.check(
                sum(counts) == 2 * per_environment, f'{sum(counts)} counted'
            )

        async with steps.step('schema: labels and JSON fields'):
            response = await host.schema('production')
            steps.check(response.ok, f'schema: {response.body}')
            kinds = {e['name']: e['kind'] for e in response.body}
            steps.check(
                kinds.get('pod') == 'label' and kinds.get('status') == 'field',
                f'schema: {kinds}',
            )

        async with steps.step('a cursor from another query is a 409'):
            first = await host.search(host.log_query(limit=5), PROD)
            other = host.log_query(limit=5, levels=['warn']).model_copy(
                update={'cursor': first.result.next_cursor}
            )
            response = await host.search(other, PROD)
            steps.check(response.status == 409, f'{response.status}')

        async with steps.step('a lookahead regex is refused, no request'):
            before = len(fake.requests)
            response = await host.search(
                host.log_query(filters=['message:regex:(?=x)'])
            )
            steps.check(
                isinstance(response.error, ValueError)
                and 'RE2' in str(response.error),
                f'{response.error!r}',
            )
            steps.check(len(fake.requests) == before, 'a request was made')
