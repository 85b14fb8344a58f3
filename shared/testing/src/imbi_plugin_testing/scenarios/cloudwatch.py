"""Demo: the CloudWatch Logs plugin against the CloudWatch/STS stand-in."""

import asyncio
import datetime
import typing

from imbi_plugin_testing._host import LogQuery
from imbi_plugin_testing.fakes.cloudwatch import CloudWatchFake
from imbi_plugin_testing.host import Host
from imbi_plugin_testing.scenarios import Steps

ENVIRONMENTS = ('production', 'staging')
TEMPLATE = '/${org_slug}/${environment}/${project_slug}'
#: One environment named, as the Imbi UI sends it.
PROD = ['production']


def _seed(fake: CloudWatchFake, end: datetime.datetime) -> None:
    levels = ('INFO', 'INFO', 'WARN', 'ERROR')
    for environment in ENVIRONMENTS:
        group = f'/aweber/{environment}/billing-api'
        fake.add_group(group)
        for index in range(40):
            moment = end - datetime.timedelta(seconds=20 * index + 5)
            level = levels[index % len(levels)]
            fake.put(
                group,
                f'web-{index % 2}',
                moment,
                f'{level} payment {index} {"declined" if index % 5 else "ok"}',
            )


async def run(steps: Steps) -> None:
    from imbi_plugin_testing.generation import plugin_under_test

    CloudWatchPlugin = plugin_under_test('imbi_plugin_cloudwatch')

    fake = CloudWatchFake()
    fake.polls_scheduled = fake.polls_running = 1
    key = fake.add_key()
    end = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    start = end - datetime.timedelta(minutes=15)
    _seed(fake, end)
    with fake.serve() as url:
        options = {
            'region': 'us-east-1',
            'endpoint_url': url,
            'sts_endpoint_url': url,
            'log_group_template': TEMPLATE,
        }
        host = Host(
            CloudWatchPlugin,
            plugin_options=options,
            credentials={
                'access_key_id': key.access_key_id,
                'secret_access_key': key.secret_access_key,
            },
        )

        def query(**fields: typing.Any) -> LogQuery:
            return host.log_query(start=start, end=end, **fields)

        async with steps.step('search "declined" with FilterLogEvents'):
            response = await host.search(
                query(filters=['message:contains:declined'], limit=5), PROD
            )
            steps.check(response.ok, f'search failed: {response.body}')
            entries = response.result.entries
            steps.check(len(entries) == 5, 'expected a full page of 5')
            steps.check(
                fake.operations() == ['FilterLogEvents'],
                f'expected FilterLogEvents only, saw {fake.operations()}',
            )

        async with steps.step('follow the cursor to the next page'):
            second = await host.search(
                query(
                    filters=['message:contains:declined'],
                    limit=5,
                    cursor=response.result.next_cursor,
                ),
                PROD,
            )
            steps.check(second.ok, f'next page failed: {second.body}')
            first_ids = {e.raw['event_id'] for e in entries}
            second_ids = {e.raw['event_id'] for e in second.result.entries}
            steps.check(
                not first_ids & second_ids, 'the second page repeats entries'
            )

        async with steps.step('levels ERROR/WARN through Logs Insights'):
            fake.requests.clear()
            levels = await host.search(
                query(levels=['error', 'warning']), PROD
            )
            steps.check(levels.ok, f'search failed: {levels.body}')
            found = {e.level for e in levels.result.entries}
            steps.check(found == {'error', 'warn'}, f'levels were {found}')
            steps.check(
                fake.operations()[0] == 'StartQuery',
                'expected a Logs Insights query',
            )

        async with steps.step('histogram of two environments, summed'):
            histogram = await host.histogram(
                query(), environments=list(ENVIRONMENTS), bucket_count=15
            )
            steps.check(histogram.ok, f'histogram failed: {histogram.body}')
            total = sum(b.count for b in histogram.result)
            steps.check(total == 80, f'expected 80 events, counted {total}')
            steps.check(
                len(histogram.result) == 15, 'not exactly bucket_count'
            )

        async with steps.step('schema of the log group'):
            schema = await host.schema('production')
            steps.check(schema.ok, f'schema failed: {schema.body}')
            names = [field['name'] for field in schema.result]
            steps.check(
                names[:3] == ['@timestamp', '@message', '@logStream'],
                f'unexpected schema {names}',
            )

        async with steps.step('assume a role with STS, then search'):
            role = fake.add_role('imbi-logs', [key], external_id='demo')
            host.plugin_options.update(role_arn=role.arn, external_id='demo')
            fake.calls.clear()
            assumed = await host.search(
                query(filters=['message:contains:ok']), PROD
            )
            steps.check(assumed.ok, f'search failed: {assumed.body}')
            steps.check(
                fake.calls[-1][1].startswith('ASIA'),
                "Logs was not called with the role's temporary keys",
            )
            del host.plugin_options['role_arn']

        async with steps.step('a cancelled Insights query is stopped'):
            fake.polls_running = 10**6
            host.timeout = 0.5
            cancelled = await host.search(query(levels=['error']), PROD)
            steps.check(cancelled.status == 503, "expected the host's 503")
            # StopQuery is awaited before the cancellation completes; on a
            # loaded machine it may still be on its way.
            for _ in range(100):
                if fake.operations()[-1] == 'StopQuery':
                    break
                await asyncio.sleep(0.02)
            steps.check(
                fake.operations()[-1] == 'StopQuery', 'StopQuery not sent'
            )
