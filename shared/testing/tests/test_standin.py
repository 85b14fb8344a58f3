"""Stand-in framework: serving, in-process use, request log and faults."""

import pathlib
import socket
import ssl
import time

import httpx
import pytest
import starlette.requests
import starlette.responses
import starlette.routing
from imbi_plugin_testing import (
    Fault,
    StallServer,
    StandIn,
    make_server_tls,
)


class Echo(StandIn):
    def routes(self) -> list[starlette.routing.BaseRoute]:
        async def echo(
            request: starlette.requests.Request,
        ) -> starlette.responses.Response:
            body = await request.body()
            return starlette.responses.JSONResponse(
                {'method': request.method, 'body': body.decode()}
            )

        return [
            starlette.routing.Route('/echo', echo, methods=['GET', 'POST'])
        ]


async def test_in_process_transport_and_request_log() -> None:
    fake = Echo()
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://fake'
    ) as client:
        response = await client.post('/echo?x=1', content=b'hello')
    assert response.json() == {'method': 'POST', 'body': 'hello'}
    [request] = fake.requests
    assert (request.method, request.path, request.query) == (
        'POST',
        '/echo',
        'x=1',
    )
    assert request.body == b'hello'
    assert request.url_text == '/echo?x=1'
    assert fake.requests_to('/echo', 'post') == [request]
    assert fake.requests_to('/echo', 'get') == []


def test_served_on_loopback_for_sync_clients() -> None:
    fake = Echo()
    with fake.serve() as url:
        assert url.startswith('http://127.0.0.1:')
        assert httpx.get(url + '/echo').json()['method'] == 'GET'
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + '/echo', timeout=1)


def test_served_over_tls_to_clients_that_trust_its_ca(
    tmp_path: pathlib.Path,
) -> None:
    tls = make_server_tls(tmp_path)
    fake = Echo()
    with fake.serve(tls) as url:
        assert url.startswith('https://127.0.0.1:')
        trusting = ssl.create_default_context(cafile=tls.ca_file)
        answer = httpx.get(url + '/echo', verify=trusting)
        assert answer.json()['method'] == 'GET'
        with pytest.raises(httpx.ConnectError, match='CERTIFICATE_VERIFY'):
            httpx.get(url + '/echo')


@pytest.mark.parametrize(
    ('fault', 'status', 'text'),
    [
        (Fault(status=503, body={'errors': ['sealed']}), 503, '"sealed"'),
        (Fault(status=400, body='parse error'), 400, 'parse error'),
        (Fault(status=204), 204, ''),
        (Fault(malformed=True), 200, '{"data": [unterminated'),
    ],
)
async def test_status_and_malformed_faults(
    fault: Fault, status: int, text: str
) -> None:
    fake = Echo()
    fake.inject(fault)
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://fake'
    ) as client:
        faulty = await client.get('/echo')
        healthy = await client.get('/echo')
    assert faulty.status_code == status
    assert text in faulty.text
    assert healthy.status_code == 200


async def test_faults_match_path_method_and_count() -> None:
    fake = Echo()
    fake.inject(
        path='^/echo$',
        method='POST',
        times=2,
        status=429,
        headers={'Retry-After': '1'},
    )
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://fake'
    ) as client:
        assert (await client.get('/echo')).status_code == 200
        first = await client.post('/echo')
        assert first.status_code == 429
        assert first.headers['retry-after'] == '1'
        assert (await client.post('/echo')).status_code == 429
        assert (await client.post('/echo')).status_code == 200
    fake.inject(path='/other', status=500, times=None)
    fake.clear_faults()
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://fake'
    ) as client:
        assert (await client.get('/echo')).status_code == 200


async def test_faults_can_match_on_the_whole_request() -> None:
    fake = Echo()
    fake.inject(
        status=400,
        when=lambda r: r.headers.get('x-amz-target', '').endswith('.Stop'),
    )
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://fake'
    ) as client:
        other = await client.post('/echo', headers={'X-Amz-Target': 'L.Go'})
        stop = await client.post('/echo', headers={'X-Amz-Target': 'L.Stop'})
    assert (other.status_code, stop.status_code) == (200, 400)


async def test_latency_fault_then_passes_through() -> None:
    fake = Echo()
    fake.inject(latency=0.2)
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://fake'
    ) as client:
        started = time.monotonic()
        response = await client.get('/echo')
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200


async def test_drop_in_process_looks_like_a_disconnect() -> None:
    fake = Echo()
    fake.inject(drop=True)
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://fake'
    ) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get('/echo')


def test_drop_and_stall_when_served() -> None:
    fake = Echo()
    with fake.serve() as url:
        fake.inject(drop=True)
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(url + '/echo')
        fake.inject(stall=True)
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(url + '/echo', timeout=0.3)
        assert httpx.get(url + '/echo').status_code == 200


def test_routes_must_be_written() -> None:
    with pytest.raises(NotImplementedError):
        StandIn().routes()


async def test_non_http_scopes_are_ignored() -> None:
    async def receive() -> dict[str, str]:
        raise AssertionError('not read')

    async def send(message: object) -> None:
        raise AssertionError('not sent')

    await Echo().app({'type': 'lifespan'}, receive, send)


def test_stall_server_counts_connections() -> None:
    with StallServer() as server:
        assert server.connections == 0
        with socket.create_connection(
            ('127.0.0.1', int(server.url.rsplit(':', 1)[1]))
        ):
            deadline = time.monotonic() + 2
            while not server.connections and time.monotonic() < deadline:
                time.sleep(0.01)
        assert server.connections == 1
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(server.url, timeout=0.2)


def test_plugged_stand_ins_share_one_server() -> None:
    first, second = Echo(), Echo()
    with first.plugged() as url:
        assert httpx.get(url + '/echo').status_code == 200
        with pytest.raises(RuntimeError, match='another stand-in'):
            second.plugged().__enter__()
    assert httpx.get(url + '/echo').status_code == 503
    with second.plugged() as again:
        assert again == url
        httpx.get(url + '/echo')
    assert (len(first.requests), len(second.requests)) == (1, 1)


async def test_latency_then_a_later_fault_and_zero_times() -> None:
    fake = Echo()
    fake.inject(latency=0.05, times=None)
    fake.inject(status=503)
    fake.inject(status=500, times=0)
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url='http://fake'
    ) as client:
        assert (await client.get('/echo')).status_code == 503
        assert (await client.get('/echo')).status_code == 200


async def test_one_fault_object_serves_several_stand_ins() -> None:
    shared = Fault(status=500)
    for _ in range(2):
        fake = Echo()
        fake.inject(shared)
        async with httpx.AsyncClient(
            transport=fake.transport(), base_url='http://fake'
        ) as client:
            assert (await client.get('/echo')).status_code == 500
    assert shared.times == 1
