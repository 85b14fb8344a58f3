"""The Vault stand-in against a real OpenBao server: same requests.

Each step is sent, in order, to the real server and to the harness's
stand-in (``imbi_plugin_testing.fakes.vault``) set up alike: same root
token, mounts, namespace and policy. Their answers must agree on the
status, Vault's ``errors`` and ``warnings`` texts, and the body's shape
(top-level fields, the fields of ``data``). A divergence means the
stand-in makes a claim about Vault that the real server contradicts.
"""

import collections.abc
import dataclasses
import typing

import pytest
from imbi_plugin_testing.fakes.vault import VaultFake

from .conftest import Answer, Bao, send

BIG = 33 * 1024 * 1024


@dataclasses.dataclass
class Pair:
    """The real server and the stand-in, configured alike."""

    bao: Bao
    fake_url: str
    fake: VaultFake
    v1: str
    v2: str
    namespace: str
    limited: str  # a token with one policy on both

    def both(
        self, method: str, path: str, body: object = None, **kwargs: typing.Any
    ) -> tuple[Answer, Answer]:
        real = self.bao.api(method, path, body, **kwargs)
        kwargs.setdefault('token', self.bao.root)
        fake = send(self.fake_url, method, path, body, **kwargs)
        return real, fake


@pytest.fixture(scope='module')
def pair(bao: Bao) -> collections.abc.Iterator[Pair]:
    fake = VaultFake(root_token=bao.root)
    v1, v2 = bao.mount(1), bao.mount(2)
    fake.mount(v1, 1)
    fake.mount(v2, 2)
    namespace = bao.unique('diff-ns-')
    bao.cli('namespace', 'create', namespace)
    fake.add_namespace(namespace)
    limited = bao.token(
        f'path "{v2}/data/f/*" {{ capabilities = ["read"] }}\n'
    )
    fake.add_token(limited, {f'{v2}/data/f/*': ['read']})
    with fake.serve() as url:
        yield Pair(bao, url, fake, v1, v2, namespace, limited)


def shape(answer: Answer) -> dict[str, typing.Any]:
    """What must agree: status, messages, field names."""
    body = answer.body
    if not isinstance(body, dict):
        return {'status': answer.status, 'body': body}
    data = body.get('data')
    return {
        'status': answer.status,
        'fields': sorted(body),
        'errors': body.get('errors'),
        'warnings': body.get('warnings'),
        'data': sorted(data) if isinstance(data, dict) else data,
    }


def agree(real: Answer, fake: Answer) -> None:
    assert shape(fake) == shape(real)


def _steps(pair: Pair) -> list[tuple[str, str, object]]:
    v1, v2 = pair.v1, pair.v2
    many = {f'k{i}': 'v' for i in range(65)}
    return [
        # KV v2: write, read, metadata, custom_metadata, CAS, listings.
        ('POST', f'{v2}/data/f/k', {'data': {'value': 'a'}}),
        ('GET', f'{v2}/data/f/k', None),
        ('GET', f'{v2}/metadata/f/k', None),
        (
            'POST',
            f'{v2}/metadata/f/k',
            {'custom_metadata': {'n': 1, 'imbi_data_type': 'string'}},
        ),
        ('POST', f'{v2}/metadata/f/k', {'custom_metadata': many}),
        ('POST', f'{v2}/data/f/k', {'options': {'cas': 0}, 'data': {'v': 1}}),
        ('GET', f'{v2}/data/f/missing', None),
        ('GET', f'{v2}/metadata/f/nothing?list=true', None),
        ('GET', f'{v2}/metadata/f?list=true', None),
        # KV v1 paths on the KV v2 mount: 404, a warning, no errors.
        ('GET', f'{v2}/f/k', None),
        ('GET', f'{v2}/f?list=true', None),
        ('POST', f'{v2}/f/k', {'value': 'x'}),
        ('DELETE', f'{v2}/f/k', None),
        # Soft delete, a deleted version read, deleting what is absent.
        ('DELETE', f'{v2}/data/f/k', None),
        ('GET', f'{v2}/data/f/k', None),
        ('DELETE', f'{v2}/data/f/missing', None),
        ('DELETE', f'{v2}/metadata/f/missing', None),
        # No mount; the mount lookup the plugin starts with.
        ('GET', 'nosuch/data/x', None),
        ('GET', f'sys/internal/ui/mounts/{v2}', None),
        ('GET', f'sys/internal/ui/mounts/{v2}/f/k', None),
        ('GET', f'sys/internal/ui/mounts/{v1}', None),
        ('GET', 'sys/internal/ui/mounts/nosuch', None),
        # KV v1, and a KV v2-style write there (a plain v1 secret).
        ('POST', f'{v1}/f/k', {'value': 'a', 'imbi_data_type': 'string'}),
        ('GET', f'{v1}/f/k', None),
        ('GET', f'{v1}/f?list=true', None),
        ('POST', f'{v1}/f/data/k', {'data': {'value': 'a'}}),
        ('GET', f'{v1}/f/data/k', None),
        ('DELETE', f'{v1}/f/k', None),
        ('GET', f'{v1}/f/k', None),
        ('GET', f'{v1}/nothing?list=true', None),
    ]


def test_the_same_requests_get_the_same_answers(pair: Pair) -> None:
    for method, path, body in _steps(pair):
        real, fake = pair.both(method, path, body)
        assert shape(fake) == shape(real), (method, path)
    metadata = [
        answer.body['data']
        for answer in pair.both('GET', f'{pair.v2}/metadata/f/k')
    ]
    for field in (
        'custom_metadata',
        'current_metadata_version',
        'oldest_version',
        'metadata_cas_required',
    ):
        assert metadata[1][field] == metadata[0][field], field
    lookups = [
        answer.body['data']
        for answer in pair.both('GET', f'sys/internal/ui/mounts/{pair.v1}')
    ]
    for field in ('type', 'path', 'options'):
        assert lookups[1][field] == lookups[0][field], field


def test_tokens_and_namespaces(pair: Pair) -> None:
    v2 = pair.v2
    cases: list[tuple[str, str, dict[str, typing.Any]]] = [
        ('GET', f'{v2}/data/f/k', {'namespace': 'nowhere'}),
        ('GET', f'{v2}/data/f/k', {'namespace': f'{pair.namespace}/x'}),
        ('GET', f'{v2}/data/f/k', {'token': 'not-a-token'}),
        (
            'GET',
            f'{v2}/data/f/k',
            {'token': 'not-a-token', 'namespace': 'nowhere'},
        ),
        # Policy denials, and permissions checked before routing.
        ('GET', f'{v2}/data/g/k', {'token': pair.limited}),
        ('POST', f'{v2}/data/f/k', {'token': pair.limited}),
        ('GET', 'nosuch/data/x', {'token': pair.limited}),
        ('GET', f'{v2}/data/f/missing', {'token': pair.limited}),
        ('GET', f'sys/internal/ui/mounts/{v2}', {'token': pair.limited}),
        ('GET', f'sys/internal/ui/mounts/{pair.v1}', {'token': pair.limited}),
    ]
    for method, path, kwargs in cases:
        body = {'data': {'value': 'x'}} if method == 'POST' else None
        real, fake = pair.both(method, path, body, **kwargs)
        assert shape(fake) == shape(real), (method, path, kwargs)


def test_the_mount_lookup_for_rules_written_every_way(pair: Pair) -> None:
    # Any capability on a path under the mount opens the lookup.
    v2 = pair.v2
    for rule in ('+/data/f/*', f'{v2[:3]}*', v2, f'{v2}x/*', 'nosuch/*'):
        token = pair.bao.token(f'path "{rule}" {{ capabilities = ["read"] }}')
        pair.fake.add_token(token, {rule: ['read']})
        real, fake = pair.both(
            'GET', f'sys/internal/ui/mounts/{v2}', token=token
        )
        assert shape(fake) == shape(real), rule


def test_a_body_over_32_mib(pair: Pair) -> None:
    raw = b'{"data":{"value":"' + b'x' * BIG + b'"}}'
    real, fake = pair.both('POST', f'{pair.v2}/data/f/big', raw=raw)
    agree(real, fake)


@pytest.mark.parametrize('headers', [False, True], ids=['plain', 'headers'])
def test_rate_limit_quotas(pair: Pair, headers: bool) -> None:
    quota = pair.bao.unique('diff-quota-')
    pair.bao.cli(
        'write',
        'sys/quotas/config',
        f'enable_rate_limit_response_headers={str(headers).lower()}',
    )
    pair.bao.cli(
        'write',
        f'sys/quotas/rate-limit/{quota}',
        'rate=2',
        'interval=1s',
        f'path={pair.v2}/',
    )
    pair.fake.quota(2, headers=headers)
    try:
        answers = [
            pair.both('GET', f'{pair.v2}/data/f/missing') for _ in range(6)
        ]
    finally:
        pair.bao.cli('delete', f'sys/quotas/rate-limit/{quota}')
        pair.fake.rate_limit = None
    limited = {
        side: next(a[side] for a in answers if a[side].status == 429)
        for side in (0, 1)
    }
    agree(limited[0], limited[1])
    names = ('retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining')
    for name in names:
        assert limited[1].headers.get(name) == limited[0].headers.get(name)


def test_a_sealed_server(fresh: Bao) -> None:
    fake = VaultFake(root_token=fresh.root)
    fake.mount('secret', 2)
    fresh.cli('operator', 'seal')
    fake.sealed = True
    with fake.serve() as url:
        for method, path in (
            ('GET', 'secret/data/f/k'),
            ('GET', 'sys/internal/ui/mounts/secret'),
            ('POST', 'secret/data/f/k'),
            ('GET', 'secret/metadata/f?list=true'),
        ):
            body = {'data': {'value': 'x'}} if method == 'POST' else None
            real = fresh.api(method, path, body)
            fake_answer = send(url, method, path, body, token=fresh.root)
            assert shape(fake_answer) == shape(real), (method, path)
