"""Subscriber endpoints and SSRF (DESIGN.md §7, issue 13 item 4): http(s) only; private, loopback,
link-local, metadata and other non-public addresses refused unless allowed (development, tests).

`resolve_endpoint` resolves once and checks every address; delivery then connects to a checked address
(with the original Host and TLS server name), so a DNS answer that changes in between cannot point the
connection anywhere else.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
# Cloud metadata services (also covered by link-local, listed for clarity and for IPv6 forms).
METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}

Resolver = Callable[[str, int], list[str]]


class EndpointRefused(ValueError):
    pass


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refused_address(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return "a metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private or ip.is_reserved or ip.is_multicast or ip.is_unspecified or not ip.is_global:
        return "a private or non-public address"
    return None


def parse_endpoint(url: str) -> tuple[str, str, int, str]:
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise EndpointRefused("endPoint must be an absolute http(s) URL")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise EndpointRefused("endPoint must be an absolute http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("endPoint must not carry credentials")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise EndpointRefused("endPoint has an invalid port") from exc
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port, path


def resolve_endpoint(url: str, *, allow_private: bool, resolver: Resolver = system_resolver) -> Endpoint:
    scheme, host, port, path = parse_endpoint(url)
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise EndpointRefused(f"endPoint host {host!r} does not resolve") from exc
    if not addresses:
        raise EndpointRefused(f"endPoint host {host!r} does not resolve")
    if not allow_private:
        for address in addresses:
            reason = refused_address(address)
            if reason is not None:
                raise EndpointRefused(f"endPoint resolves to {reason} ({address})")
    return Endpoint(scheme, host, port, path, tuple(addresses))
