"""The one shared HTTP client for LinkedIn: httpx's API over an aiohttp connection pool.

Why not httpx's own transport: with 50 concurrent reads over loopback on a 2-core machine it
reached about a fifth of plain aiohttp's throughput (`python -m bench.bench_client
--compare-transports`).

Why not `httpx_aiohttp.AiohttpTransport` (0.2.0), although it is the obvious choice:
- it passes the URL to aiohttp as a string, and yarl then decodes `%3A`, `%2C`, `%27` and more
  in the path and the query. `List(urn%3Ali%3A...)` reaches LinkedIn as `List(urn:li:...)`, and
  an encoded comma inside a value becomes a list separator.
- it maps every `aiohttp.ClientConnectionError` to `httpx.ConnectTimeout`. That includes
  `ServerDisconnectedError` and connection resets after the request was written, so a caller that
  reads "connect error" as "never sent" would repeat a create that LinkedIn already made.

This transport passes the URL through as built (`yarl.URL(..., encoded=True)`) and raises
`httpx.ConnectError` / `httpx.ConnectTimeout` only while no connection exists yet.
`request_never_sent` applies the same rule to errors from any transport.

`LinkedInHttpClient` is an `httpx.AsyncClient` (for OAuth and anything else that wants httpx)
with one extra method, `fetch`, that `LinkedInClient` uses to skip httpx's client layer
(request building, auth, cookies, redirects, event hooks), which costs a measurable share of
throughput in the same benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass

import aiohttp
import httpx
import yarl

from app.core.settings import Settings

KEEPALIVE_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 5.0
USER_AGENT = "linkedin-ads-integration/0.1 (aiohttp)"

# Errors aiohttp raises only while it opens a connection, before any request byte is written:
# refused or unreachable host, DNS, proxy and TLS handshake failures, and the connect timeout.
_BEFORE_SEND = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


@contextlib.contextmanager
def _mapped_errors(request: httpx.Request | None) -> Iterator[None]:
    """Re-raise aiohttp's errors as the httpx errors that mean the same thing."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as error:
        raise httpx.ConnectTimeout(str(error) or "connect timed out", request=request) from error
    except aiohttp.ClientConnectorError as error:
        raise httpx.ConnectError(str(error), request=request) from error
    except aiohttp.SocketTimeoutError as error:
        raise httpx.ReadTimeout(str(error) or "read timed out", request=request) from error
    except aiohttp.ServerDisconnectedError as error:
        raise httpx.RemoteProtocolError(str(error), request=request) from error
    except aiohttp.ClientPayloadError as error:
        raise httpx.ReadError(str(error), request=request) from error
    except aiohttp.ClientOSError as error:
        # A reset or broken pipe on an open connection: the request may have been written.
        raise httpx.ReadError(str(error), request=request) from error
    except aiohttp.InvalidURL as error:
        raise httpx.UnsupportedProtocol(str(error), request=request) from error
    except aiohttp.ClientError as error:
        raise httpx.RemoteProtocolError(str(error), request=request) from error
    except TimeoutError as error:
        raise httpx.ReadTimeout("timed out", request=request) from error


@dataclass(frozen=True)
class RawResponse:
    """A whole response as `fetch` returns it; `headers` look names up case-insensitively."""

    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes


def _client_timeout(timeouts: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
    pool, connect = timeouts.get("pool"), timeouts.get("connect")
    return aiohttp.ClientTimeout(
        total=None,
        # aiohttp's `connect` covers waiting for a pooled connection plus opening a new one.
        connect=None if pool is None or connect is None else pool + connect,
        sock_connect=connect,
        sock_read=timeouts.get("read"),
    )


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped_errors(self._request):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends requests through one `aiohttp.ClientSession`.

    The session is made on first use, because aiohttp binds it to the running event loop.
    HTTP/1.1 only. httpx's `write` timeout has no aiohttp equivalent and is not applied.
    """

    def __init__(self, *, max_connections: int, keepalive_seconds: float = KEEPALIVE_SECONDS):
        self.max_connections = max_connections
        self.keepalive_seconds = keepalive_seconds
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = self._open_session()
        return self._session

    def _open_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.max_connections,
            limit_per_host=0,
            keepalive_timeout=self.keepalive_seconds,
        )
        return aiohttp.ClientSession(
            connector=connector,
            # httpx owns cookies, redirects and proxies from the environment.
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def fetch(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None,
        client_timeout: aiohttp.ClientTimeout,
    ) -> RawResponse:
        """Send one request with the URL exactly as given and read the whole response."""
        session = self._get_session()
        with _mapped_errors(None):
            async with session.request(
                method,
                yarl.URL(url, encoded=True),
                headers=headers,
                data=content,
                allow_redirects=False,
                timeout=client_timeout,
            ) as response:
                body = await response.read()
        return RawResponse(response.status, response.reason or "", response.headers, body)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._get_session()
        timeout = _client_timeout(request.extensions.get("timeout", {}))
        data: bytes | AsyncIterator[bytes] | None
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            data = _stream_body(request)
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name.lower() != b"transfer-encoding"
        ]

        with _mapped_errors(request):
            response = await session.request(
                request.method,
                # encoded=True keeps the percent-encoding exactly as the caller built it.
                yarl.URL(str(request.url), encoded=True),
                headers=headers,
                data=data,
                allow_redirects=False,
                # httpx decodes Content-Encoding itself.
                auto_decompress=False,
                timeout=timeout,
            )
        return httpx.Response(
            status_code=response.status,
            headers=[
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in response.raw_headers
            ],
            stream=_ResponseStream(response, request),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1"),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _stream_body(request: httpx.Request) -> AsyncIterator[bytes]:
    assert isinstance(request.stream, httpx.AsyncByteStream)
    async for chunk in request.stream:
        yield chunk


def request_never_sent(error: httpx.TransportError) -> bool:
    """Tell whether a failed request certainly never reached the server.

    Only a failure to open the connection proves it; a timeout, reset or disconnect on an open
    connection leaves the outcome unknown. Errors that wrap an aiohttp error are judged by that
    error, because some adapters (httpx_aiohttp) report disconnects as `ConnectTimeout`.
    """
    cause = error.__cause__
    if isinstance(cause, aiohttp.ClientError | asyncio.TimeoutError):
        return isinstance(cause, _BEFORE_SEND)
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


class LinkedInHttpClient(httpx.AsyncClient):
    """The shared client: httpx's API, plus `fetch` for LinkedIn API calls."""

    def __init__(self, *, max_connections: int, timeout: httpx.Timeout) -> None:
        self.pool = AiohttpTransport(max_connections=max_connections)
        super().__init__(
            transport=self.pool, timeout=timeout, follow_redirects=False, trust_env=False
        )
        self._fetch_timeout = _client_timeout(timeout.as_dict())

    async def fetch(
        self, method: str, url: str, *, headers: Mapping[str, str], content: bytes | None = None
    ) -> RawResponse:
        """Send one request through the pool, bypassing httpx's client layer."""
        return await self.pool.fetch(
            method, url, headers=headers, content=content, client_timeout=self._fetch_timeout
        )


def create_http_client(settings: Settings) -> LinkedInHttpClient:
    """Build the process's one HTTP client: keep-alive, a bounded pool, explicit timeouts."""
    timeout = httpx.Timeout(
        settings.linkedin_ads_http_timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS
    )
    return LinkedInHttpClient(
        max_connections=settings.linkedin_ads_http_max_connections, timeout=timeout
    )
