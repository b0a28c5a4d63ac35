"""Sending one webhook request without letting a URL reach what it must not.

Outside the embedded runtime (``KORE_WEBHOOK_ALLOW_PRIVATE`` off) the host is resolved at send
time and every address it resolves to must be public: private, loopback, link-local, CGNAT
(100.64.0.0/10), IPv6 unique-local, IPv4-mapped, multicast and reserved addresses are refused.
The connection then goes to the address that was checked (the hostname is never resolved a
second time, so a DNS answer that changes in between cannot redirect it), with the hostname kept
in the Host header and TLS's SNI and certificate check. Redirects are never followed.
"""

import ipaddress
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, SSLError, TimeoutError

# socket.getaddrinfo's shape; tests pass a resolver of their own.
Resolver = Callable[..., Sequence[tuple[Any, Any, Any, Any, tuple[Any, ...]]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
READ_LIMIT = 64 * 1024  # of the receiver's answer: nothing of it is kept but the status


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status code, or an error code when there was no answer."""

    status_code: int | None
    error: str
    latency_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def address_refused(address: IPAddress) -> bool:
    """Whether a production webhook may not connect to ``address``."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None or address.sixtofour is not None:
            return True
        if address in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64 reaches IPv4 behind it
            return True
    return not address.is_global or address.is_multicast or address.is_reserved


def resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    """Every address ``host`` resolves to (a literal address is itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = resolver(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    allow_private: bool,
    timeout: float,
    resolver: Resolver = socket.getaddrinfo,
    ca_certs: str | None = None,
) -> Answer:
    """POST ``body`` to ``url`` once, connected to a checked address; never raises.

    ``ca_certs`` replaces the system's trusted certificates (tests sign their own)."""
    started = time.monotonic()

    def answer(status: int | None, error: str = "") -> Answer:
        return Answer(status, error, int((time.monotonic() - started) * 1000))

    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    try:
        addresses = resolve(host, port, resolver)
    except (OSError, UnicodeError):
        return answer(None, "dns_failed")
    if not addresses:
        return answer(None, "dns_failed")
    if not allow_private and any(address_refused(a) for a in addresses):
        return answer(None, "address_refused")
    target = str(addresses[0])
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = host if ":" not in host else f"[{host}]"
    if parts.port:
        host_header += f":{parts.port}"
    options: dict[str, Any] = {
        "timeout": urllib3.Timeout(connect=timeout, read=timeout),
        "retries": False,
        "maxsize": 1,
    }
    pool: urllib3.HTTPConnectionPool
    if https:
        pool = urllib3.HTTPSConnectionPool(
            target, port, server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED",
            ca_certs=ca_certs, **options,
        )  # fmt: skip
    else:
        pool = urllib3.HTTPConnectionPool(target, port, **options)
    try:
        response = pool.urlopen(
            "POST", path, body=body, headers={**headers, "Host": host_header},
            redirect=False, preload_content=False, assert_same_host=False,
        )  # fmt: skip
        response.read(READ_LIMIT)
        response.release_conn()
        return answer(response.status)
    except NewConnectionError:  # before TimeoutError: urllib3 makes it a kind of timeout
        return answer(None, "connection_failed")
    except TimeoutError:
        return answer(None, "timeout")
    except SSLError:
        return answer(None, "tls_failed")
    except (HTTPError, OSError):
        return answer(None, "connection_failed")
    finally:
        pool.close()
