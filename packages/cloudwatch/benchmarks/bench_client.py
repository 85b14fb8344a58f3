"""Per-call overhead of the CloudWatch plugin outside the network.

What one call does before its first request: read the options, check the
credentials, translate the query (filter pattern and Insights string) and
build the boto3 Logs client. The first call pays for importing boto3 and
loading botocore's service model; later calls reuse the module's session.
Target: at most 10 ms per call after the first.

    python packages/cloudwatch/benchmarks/bench_client.py

With IMBI_BENCH_RESULTS naming a JSON file, the figures are merged into it
under "cloudwatch".
"""

import datetime
import json
import os
import pathlib
import statistics
import time
import typing

from imbi_plugin_cloudwatch import client, options, query
from imbi_plugin_cloudwatch._host import LogFilter, LogQuery, PluginContext

ITERATIONS = 300
TARGET_MS = 10.0

CONTEXT = PluginContext(
    project_id='prj-0001',
    project_slug='billing-api',
    org_slug='aweber',
    environment='production',
    assignment_options={
        'region': 'us-east-1',
        'endpoint_url': 'http://127.0.0.1:9',
        'message_format': 'json',
        'log_group_template': '/${org_slug}/${environment}/${project_slug}',
    },
)
CREDENTIALS = {
    'access_key_id': 'AKIABENCHMARKKEY0001',
    'secret_access_key': 'benchmark-secret-access-key',
}
END = datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC)
QUERY = LogQuery(
    start_time=END - datetime.timedelta(hours=1),
    end_time=END,
    filters=[
        LogFilter(field='level', op='eq', value='ERROR'),
        LogFilter(field='path', op='starts_with', value='/v1/'),
        LogFilter(field='message', op='regex', value='time.?out'),
    ],
    levels=['error', 'warn'],
)


def one_call() -> tuple[float, float]:
    """(translate ms, client ms) of one call's preparation."""
    started = time.perf_counter()
    opts = options.read_options(CONTEXT)
    keys = client.resolve_keys(CREDENTIALS, opts)
    assert keys is not None
    translation = query.translate(QUERY, opts)
    try:
        query.filter_pattern(translation)
    except query.Untranslatable:
        query.search_query(translation, translation.end_ms, 101)
    query.fingerprint(translation, opts)
    translated = time.perf_counter()
    client.build_client(opts, 'logs', keys)
    built = time.perf_counter()
    return (translated - started) * 1000, (built - translated) * 1000


def main() -> None:
    first_translate, first_client = one_call()
    translate_ms, client_ms, total_ms = [], [], []
    for _ in range(ITERATIONS):
        translate, build = one_call()
        translate_ms.append(translate)
        client_ms.append(build)
        total_ms.append(translate + build)
    total_ms.sort()
    figures: dict[str, typing.Any] = {
        'first_call_ms': round(first_translate + first_client, 2),
        'per_call_mean_ms': round(statistics.fmean(total_ms), 3),
        'per_call_p50_ms': round(statistics.median(total_ms), 3),
        'per_call_p95_ms': round(total_ms[int(len(total_ms) * 0.95)], 3),
        'per_call_max_ms': round(total_ms[-1], 3),
        'translate_mean_ms': round(statistics.fmean(translate_ms), 3),
        'client_mean_ms': round(statistics.fmean(client_ms), 3),
        'iterations': ITERATIONS,
        'target_ms': TARGET_MS,
    }
    figures['within_target'] = figures['per_call_p95_ms'] <= TARGET_MS
    print('imbi-plugin-cloudwatch: per-call overhead outside the network')
    print(
        f'  first call (imports boto3, loads models): '
        f'{figures["first_call_ms"]:9.2f} ms'
    )
    for label, key in (
        ('per call, mean', 'per_call_mean_ms'),
        ('per call, p50', 'per_call_p50_ms'),
        ('per call, p95', 'per_call_p95_ms'),
        ('per call, max', 'per_call_max_ms'),
        ('  of which translating (mean)', 'translate_mean_ms'),
        ('  of which building the client (mean)', 'client_mean_ms'),
    ):
        print(f'  {label:<41} {figures[key]:9.3f} ms')
    verdict = 'within' if figures['within_target'] else 'OVER'
    print(f'  target <= {TARGET_MS:.0f} ms after the first call: {verdict}')
    results = os.environ.get('IMBI_BENCH_RESULTS')
    if results:
        path = pathlib.Path(results)
        merged = json.loads(path.read_text()) if path.exists() else {}
        merged['cloudwatch'] = figures
        path.write_text(json.dumps(merged, indent=2) + '\n')


if __name__ == '__main__':
    main()
