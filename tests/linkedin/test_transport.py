"""The aiohttp-backed transport: URLs sent exactly as built, and honest "never sent" errors."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from httpx_aiohttp import AiohttpTransport as ThirdPartyTransport

from app.core.settings import Settings
from app.linkedin.transport import AiohttpTransport, create_http_client, request_never_sent
from tests.servers import ThreadedServer

QUERY = (
    "q=search&search=(name:(values:List(a%2Cb%20%28c%29)),"
    "id:(values:List(urn%3Ali%3AsponsoredAccount%3A1)))&fields=id,name"
)
URN_PATH = "/rest/adAccounts/1/creatives/urn%3Ali%3AsponsoredCreative%3A9"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def hang_up_server() -> AsyncIterator[str]:
    """A loopback server that reads the request line and closes without responding."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/rest/adAccounts"
    server.close()
    await server.wait_closed()


async def last_request(sandbox: httpx.AsyncClient) -> dict[str, object]:
    log = (await sandbox.get("/_sandbox/requests")).json()["requests"]
    return dict(log[-1])


async def test_url_sent_verbatim(
    sandbox: httpx.AsyncClient, sandbox_server: ThreadedServer, settings: Settings
) -> None:
    http = create_http_client(settings)
    async with http:
        await http.get(f"{sandbox_server.url}{URN_PATH}?{QUERY}")
        seen = await last_request(sandbox)
        assert seen["path"] == URN_PATH
        assert seen["query"] == QUERY

        raw = await http.fetch("GET", f"{sandbox_server.url}{URN_PATH}?{QUERY}", headers={})
        assert raw.status == 400  # VERSION_MISSING: no LinkedIn-Version header was sent
        seen = await last_request(sandbox)
        assert seen["path"] == URN_PATH
        assert seen["query"] == QUERY


async def test_third_party_transport_decodes(
    sandbox: httpx.AsyncClient, sandbox_server: ThreadedServer
) -> None:
    # Why the service does not use httpx_aiohttp 0.2.0: yarl re-quotes the URL it is given.
    async with httpx.AsyncClient(transport=ThirdPartyTransport()) as http:
        await http.get(f"{sandbox_server.url}{URN_PATH}?{QUERY}")
    seen = await last_request(sandbox)
    assert seen["path"] == "/rest/adAccounts/1/creatives/urn:li:sponsoredCreative:9"
    assert seen["query"] != QUERY
    assert "urn:li:sponsoredAccount:1" in str(seen["query"])


async def test_refused_is_never_sent() -> None:
    url = f"http://127.0.0.1:{free_port()}/rest/adAccounts"
    async with httpx.AsyncClient(transport=AiohttpTransport(max_connections=2)) as http:
        with pytest.raises(httpx.ConnectError) as caught:
            await http.post(url, content=b"{}")
    assert request_never_sent(caught.value)


async def test_hang_up_is_unknown(hang_up_server: str) -> None:
    async with httpx.AsyncClient(transport=AiohttpTransport(max_connections=2)) as http:
        with pytest.raises(httpx.TransportError) as caught:
            await http.post(hang_up_server, content=b"{}")
    assert isinstance(caught.value, httpx.RemoteProtocolError)
    assert not request_never_sent(caught.value)


async def test_third_party_hang_up_is_unknown(hang_up_server: str) -> None:
    # httpx_aiohttp reports a server that hung up after the request as ConnectTimeout.
    async with httpx.AsyncClient(transport=ThirdPartyTransport()) as http:
        with pytest.raises(httpx.TransportError) as caught:
            await http.post(hang_up_server, content=b"{}")
    assert isinstance(caught.value, httpx.ConnectTimeout)
    assert not request_never_sent(caught.value)


async def test_httpx_transport_rules(hang_up_server: str) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.TransportError) as hung_up:
            await http.post(hang_up_server, content=b"{}")
        with pytest.raises(httpx.ConnectError) as refused:
            await http.post(f"http://127.0.0.1:{free_port()}/", content=b"{}")
    assert not request_never_sent(hung_up.value)
    assert request_never_sent(refused.value)
