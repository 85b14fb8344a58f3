"""Matrix profile of the vault plugin (KV v2 mount, seeded keys)."""

import pathlib

from imbi_plugin_testing.contract import ContractSpec
from imbi_plugin_testing.fakes.vault import VaultFake
from imbi_plugin_testing.host import Host
from imbi_plugin_testing.profiles import BadInput, Profile, UpstreamCall
from imbi_plugin_testing.standin import Fault, StandIn

FOLDER = 'aweber/billing-api'
_TOKEN = 'hvs.matrix-root-token'  # noqa: S105 - the stand-in's own


def _fake() -> StandIn:
    fake = VaultFake(root_token=_TOKEN)
    fake.mount('secret', 2)
    fake.put('secret', f'{FOLDER}/LOG_LEVEL', {'value': 'info'})
    return fake


def _host(fake: StandIn, url: str, budget: int) -> Host:
    from imbi_plugin_testing.generation import plugin_under_test

    VaultPlugin = plugin_under_test('imbi_plugin_vault')

    return Host(
        VaultPlugin,
        plugin_options={
            'url': url,
            'mount_path': 'secret',
            'kv_version': '2',
            'timeout_seconds': budget,
        },
        credentials={'token': _TOKEN},
    )


def _contract() -> ContractSpec:
    from imbi_plugin_testing.generation import plugin_under_test

    VaultPlugin = plugin_under_test('imbi_plugin_vault')

    return ContractSpec(
        plugin=VaultPlugin,
        readme=pathlib.Path('packages/vault/README.md'),
        credentials={'token': 'hvs.contract-token'},
        options=lambda url: {'url': url, 'mount_path': 'secret'},
        call=lambda plugin, ctx, creds: plugin.list_keys(ctx, creds),
        context_kind='configuration',
    )


def profile() -> Profile:
    # A 404 is Vault's answer for a missing key or an empty folder: the
    # contract turns it into an empty listing, an omitted key, a created
    # key and an idempotent delete.
    return Profile(
        slug='vault',
        folder='vault',
        make_fake=_fake,
        make_host=_host,
        calls=[
            UpstreamCall('list_keys', lambda h: h.list_keys(), {'404': 'ok'}),
            UpstreamCall(
                'get_values',
                lambda h: h.get_values(['LOG_LEVEL']),
                {'404': 'ok'},
            ),
            UpstreamCall(
                'set_value',
                lambda h: h.set_value('LOG_LEVEL', 'debug', 'string'),
                {'404': 'ValueError'},
            ),
            # Every call starts with the mount lookup, whose answer must
            # be JSON: a malformed one fails the delete too.
            UpstreamCall(
                'delete_key',
                lambda h: h.delete_key('LOG_LEVEL'),
                {'404': 'ok'},
            ),
        ],
        bad_inputs=[
            BadInput(
                'key with a .. segment',
                lambda h: h.get_values(['../other-project/DB']),
                'ValueError',
                '..',
            ),
            BadInput(
                'key with a control character',
                lambda h: h.set_value('A\nB', 'x', 'string'),
                'ValueError',
                'control',
            ),
            BadInput(
                'unknown data type',
                lambda h: h.set_value('A', 'x', 'binary'),
                'ValueError',
                'binary',
            ),
            BadInput(
                'key with a leading slash',
                lambda h: h.get_values(['/etc/passwd']),
                'ValueError',
                '/',
            ),
            BadInput(
                'key of 513 characters',
                lambda h: h.delete_key('k' * 513),
                'ValueError',
                '512',
            ),
            BadInput(
                'key with a . segment',
                lambda h: h.set_value('a/./b', 'x', 'string'),
                'ValueError',
                'segment',
            ),
            BadInput(
                'bad delete_mode option',
                lambda h: _with(h, delete_mode='shred').delete_key('A'),
                'ValueError',
                'delete_mode',
            ),
            BadInput(
                'non-numeric timeout_seconds',
                lambda h: _with(h, timeout_seconds='soon').list_keys(),
                'ValueError',
                'timeout_seconds',
            ),
            BadInput(
                'url with a query',
                lambda h: _with(
                    h, url='https://vault.example?x=1'
                ).list_keys(),
                'ValueError',
                'url',
            ),
            BadInput(
                'bad kv_version option',
                lambda h: _with(h, kv_version='3').list_keys(),
                'ValueError',
                'kv_version',
            ),
            BadInput(
                'path template that expands empty',
                lambda h: _with(h, path_template='${environment}/x').list_keys(
                    environment=''
                ),
                'ValueError',
                'path_template',
            ),
        ],
        contract=_contract,
        error_bodies={
            '401': Fault(body={'errors': ['permission denied']}),
            '403': Fault(body={'errors': ['permission denied']}),
            # Vault's own not-found, which it sends for KV paths only
            # (its mount lookup answers 200 or 403).
            '404': Fault(path=r'^/v1/(?!sys/)', body={'errors': []}),
            '429': Fault(
                body={
                    'errors': ['request path "x": rate limit quota exceeded']
                }
            ),
            '500': Fault(body={'errors': ['internal error']}),
            '503': Fault(body={'errors': ['Vault is sealed']}),
        },
    )


def _with(host: Host, **options: str) -> Host:
    host.project_options.update(options)
    return host
