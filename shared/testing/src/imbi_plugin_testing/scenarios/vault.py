"""Demo: a project's configuration in Vault KV v2 (and v1).

Serves the Vault stand-in and drives the plugin through the host model:
set two keys (one secret), list them, read them, delete one and list
again; then the same on a KV v1 mount, and a token without the right
capability (PluginAuthenticationFailed naming the path, never the token).
"""

import secrets

from imbi_plugin_testing.fakes.vault import VaultFake
from imbi_plugin_testing.host import Host
from imbi_plugin_testing.scenarios import Steps
from imbi_plugin_testing.secrets import current_scan

FOLDER = 'aweber/billing-api'


async def run(steps: Steps) -> None:
    from imbi_plugin_testing.generation import plugin_under_test

    VaultPlugin = plugin_under_test('imbi_plugin_vault')

    fake = VaultFake()
    fake.mount('secret', 2)
    fake.mount('kv', 1)
    reader = 'hvs.' + secrets.token_urlsafe(18)
    fake.add_token(
        reader, {'secret/data/*': ['read'], 'secret/metadata/*': ['list']}
    )
    password = secrets.token_urlsafe(18)
    scan = current_scan()
    if scan is not None:
        scan.add(password, reader)

    with fake.serve() as url:

        def host(
            mount: str = 'secret', version: str = '2', token: str = ''
        ) -> Host:
            return Host(
                VaultPlugin,
                plugin_options={
                    'url': url,
                    'mount_path': mount,
                    'kv_version': version,
                },
                credentials={'token': token or fake.root_token},
            )

        v2 = host()
        async with steps.step('KV v2: set a string and a secret'):
            plain = await v2.set_value('LOG_LEVEL', 'info', 'string')
            steps.check(plain.ok, f'set LOG_LEVEL: {plain.body}')
            secret = await v2.set_value(
                'database/password', password, 'secret'
            )
            steps.check(secret.ok, f'set database/password: {secret.body}')
            steps.check(
                secret.body['secret'] is True, 'the secret is not secret'
            )
            steps.check(
                fake.secret('secret', f'{FOLDER}/database/password')
                == {'value': password},
                'the secret is not stored as {"value": ...}',
            )

        async with steps.step('KV v2: list keys (metadata only)'):
            sent = len(fake.requests)
            listed = await v2.list_keys()
            steps.check(listed.ok, f'list: {listed.body}')
            steps.check(
                [(k['key'], k['secret']) for k in listed.body]
                == [('LOG_LEVEL', False), ('database/password', True)],
                f'unexpected keys: {listed.body}',
            )
            steps.check(
                all(k['last_modified'] for k in listed.body),
                'last_modified missing',
            )
            steps.check(
                not any(
                    '/secret/data/' in r.path for r in fake.requests[sent:]
                ),
                'listing read secret data',
            )

        async with steps.step('KV v2: get values'):
            values = await v2.get_values()
            steps.check(values.ok, f'get: {values.body}')
            steps.check(
                {v['key']: v['value'] for v in values.body}
                == {'LOG_LEVEL': 'info', 'database/password': password},
                'unexpected values',
            )

        async with steps.step('KV v2: delete the secret (soft), list again'):
            deleted = await v2.delete_key('database/password')
            steps.check(deleted.status == 204, f'delete: {deleted.body}')
            again = await v2.list_keys()
            steps.check(
                [k['key'] for k in again.body] == ['LOG_LEVEL'],
                f'unexpected keys: {again.body}',
            )

        v1 = host('kv', '1')
        async with steps.step('KV v1: set, list, get, delete, list'):
            await v1.set_value('LOG_LEVEL', 'debug', 'string')
            await v1.set_value('api/token', password, 'secret')
            listed = await v1.list_keys()
            steps.check(
                [(k['key'], k['data_type']) for k in listed.body]
                == [('LOG_LEVEL', 'string'), ('api/token', 'secret')],
                f'unexpected keys: {listed.body}',
            )
            values = await v1.get_values(['api/token'])
            steps.check(
                [v['value'] for v in values.body] == [password],
                'unexpected value',
            )
            await v1.delete_key('api/token')
            again = await v1.list_keys()
            steps.check(
                [k['key'] for k in again.body] == ['LOG_LEVEL'],
                f'unexpected keys: {again.body}',
            )

        async with steps.step('read-only token: write denied, path named'):
            denied = await host(token=reader).set_value('x', 'y', 'string')
            text = str(denied.error)
            steps.check(
                type(denied.error).__name__ == 'PluginAuthenticationFailed',
                f'unexpected: {denied.error!r}',
            )
            steps.check(
                f'secret/{FOLDER}/x' in text and reader not in text,
                f'unexpected message: {text}',
            )
