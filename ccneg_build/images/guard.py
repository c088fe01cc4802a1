"""Image downloads never reach private, loopback, link-local, multicast or reserved addresses.

A URL list is untrusted input: ``http://169.254.169.254/...`` (a cloud metadata service),
``http://127.0.0.1:8080/admin`` or a public URL that redirects there would otherwise copy
a machine's internal services into a dataset that may be published. So every connection
the downloader opens is checked on the *resolved* address:

* the host is resolved once (so odd spellings such as ``0x7f000001`` or ``2130706433``,
  which the system resolver reads as 127.0.0.1, are judged by the address they reach);
* every resolved address is checked with :mod:`ipaddress`, including the IPv4 address
  inside IPv4-mapped, 6to4 and Teredo IPv6 addresses; one bad address refuses the host;
* the connection is then made to a checked address itself, not to the name, so a DNS
  answer that changes between the check and the connection cannot slip through;
* every redirect hop is a new request, so it passes the same check.

Behind an HTTP proxy the proxy connects, so the host is checked by resolving it before
the request is handed over (the proxy's own lookup cannot be pinned). A refused row gets
the reason ``private_address``. ``--allow-private-addresses`` turns the guard off, e.g.
for a URL list served from a local server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.request
from typing import Any, Iterable

import httpcore
import httpx

from ccneg_core.image_decode import ImageRejected
from ccneg_build.options.images import ALL_NETWORKS

PRIVATE_ADDRESS = "private_address"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_addresses(address: Address) -> list[Address]:
    """Any IPv4 address carried inside an IPv6 one (mapped, 6to4, Teredo), then the address itself."""
    found: list[Address] = []
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
    return found + [address]


def address_kind(address: Address) -> str | None:
    """Why an address must not be fetched from (``"loopback"``, ``"private"``, ...), else ``None``."""
    for candidate in embedded_addresses(address):
        for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
            if getattr(candidate, f"is_{kind}"):
                return kind.replace("_", "-")
        if not candidate.is_global:  # shared address space (100.64/10) and other non-public ranges
            return "not-global"
    return None


class AddressGuard:
    """Checks resolved addresses; networks in ``allowed`` are exempt."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = [ipaddress.ip_network(network, strict=False) for network in allowed]

    @property
    def allows_everything(self) -> bool:
        return {str(n) for n in self.allowed} >= set(ALL_NETWORKS)

    def problem(self, text: str) -> str | None:
        """Why ``text`` (an IP address) is refused, else ``None``."""
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if any(address.version == n.version and address in n for n in self.allowed):
            return None
        return address_kind(address)

    async def checked_addresses(self, host: str, port: int) -> list[str]:
        """Resolve ``host`` and return its addresses, or refuse it (``ImageRejected``)."""
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            kind = self.problem(address)
            if kind:
                shown = host if host == address else f"{host} = {address}"
                raise ImageRejected(
                    PRIVATE_ADDRESS,
                    f"refused to fetch from {shown} ({kind} address); pass --allow-private-addresses to allow it",
                )
        return addresses


class _GuardedNetwork(httpcore.AsyncNetworkBackend):
    """Connects only to checked addresses of the requested host."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, guard: AddressGuard) -> None:
        self.inner, self.guard = inner, guard

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self.guard.checked_addresses(host, port)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        return await self.inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_client_options(guard: AddressGuard, limits: httpx.Limits) -> dict[str, Any]:
    """``httpx.AsyncClient`` keyword arguments that put ``guard`` on every connection and hop."""
    if guard.allows_everything:
        return {"limits": limits}
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=True)
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):  # pin connections to checked addresses
        pool._network_backend = _GuardedNetwork(pool._network_backend, guard)
    options: dict[str, Any] = {"transport": transport}
    proxies = urllib.request.getproxies()
    if not hasattr(pool, "_network_backend") or any(k in proxies for k in ("http", "https", "all")):

        async def check_request(request: httpx.Request) -> None:  # each request and each redirect hop
            try:
                await guard.checked_addresses(request.url.host, request.url.port or 443)
            except socket.gaierror:
                pass  # the connection (or the proxy) reports it

        options["event_hooks"] = {"request": [check_request]}
    return options
