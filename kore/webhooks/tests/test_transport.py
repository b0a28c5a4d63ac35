"""Where a webhook may connect: checked at send time against a resolver the test controls."""

import ipaddress
import socket

import pytest

from kore.webhooks.transport import address_refused, post

from .receiver import Receiver


class Resolver:
    """Answers each name from a table (one answer list per call, the last one repeated), and
    counts the calls: DNS that changes its answer between two lookups."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, **_: object) -> list[tuple]:
        self.calls.append(host)
        sequence = self.answers[host]
        addresses = sequence[min(len(self.calls) - 1, len(sequence) - 1)]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]


REFUSED = [
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.1",
    "127.0.0.1",  # loopback
    "169.254.169.254",  # link-local (cloud metadata)
    "100.64.0.1",  # CGNAT
    "100.127.255.254",
    "0.0.0.0",  # noqa: S104 - unspecified
    "224.0.0.1",  # multicast
    "::1",
    "fe80::1",  # IPv6 link-local
    "fd12:3456::1",  # IPv6 unique-local
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:8.8.8.8",  # IPv4-mapped, even of a public address
    "64:ff9b::a01:203",  # NAT64 of 10.1.2.3
    "2002:a01:203::1",  # 6to4 of 10.1.2.3
]


@pytest.mark.parametrize("address", REFUSED)
def test_a_name_resolving_to_a_refused_address_is_not_contacted(address, receiver: Receiver):
    resolver = Resolver({"hooks.example.com": [[address]]})
    answer = post(
        "https://hooks.example.com/k", body=b"{}", headers={}, allow_private=False,
        timeout=2, resolver=resolver,
    )  # fmt: skip
    assert (answer.status_code, answer.error) == (None, "address_refused")
    assert receiver.requests == []


def test_public_addresses_are_allowed():
    for address in ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "100.128.0.1"):
        assert not address_refused(ipaddress.ip_address(address))


def test_one_refused_address_among_several_refuses_the_name():
    resolver = Resolver({"hooks.example.com": [["93.184.215.14", "10.0.0.7"]]})
    answer = post(
        "https://hooks.example.com/k", body=b"{}", headers={}, allow_private=False,
        timeout=2, resolver=resolver,
    )  # fmt: skip
    assert answer.error == "address_refused"


def test_a_literal_private_address_in_the_url_is_refused(receiver: Receiver):
    answer = post(receiver.url, body=b"{}", headers={}, allow_private=False, timeout=2)
    assert answer.error == "address_refused"
    assert receiver.requests == []


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(receiver: Receiver):
    # The first answer is the one checked and used; a second lookup would get another address.
    resolver = Resolver({"receiver.example.com": [["127.0.0.1"], ["10.9.9.9"]]})
    url = f"http://receiver.example.com:{receiver.port}/hooks?x=1"
    answer = post(url, body=b"{}", headers={}, allow_private=True, timeout=5, resolver=resolver)
    assert answer.status_code == 200
    assert resolver.calls == ["receiver.example.com"]  # resolved once: no second, rebound, answer
    [request] = receiver.requests
    assert request.headers["Host"] == f"receiver.example.com:{receiver.port}"
    assert request.path == "/hooks?x=1"


def test_dns_that_rebinds_to_a_private_address_after_the_check_is_never_reached(receiver):
    # Checked answer: a public address (unreachable here); the rebound answer would be the
    # receiver on loopback. The connection goes only where the check allowed.
    resolver = Resolver({"rebind.example.com": [["93.184.215.14"], ["127.0.0.1"]]})
    url = f"http://rebind.example.com:{receiver.port}/k"
    answer = post(url, body=b"{}", headers={}, allow_private=False, timeout=1, resolver=resolver)
    assert answer.status_code is None
    assert resolver.calls == ["rebind.example.com"]
    assert receiver.requests == []


def test_a_name_that_does_not_resolve_is_an_error_code():
    def resolver(host: str, port: int, **_: object) -> list[tuple]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    answer = post("https://nowhere.example.com/", body=b"", headers={}, allow_private=False,
                  timeout=1, resolver=resolver)  # fmt: skip
    assert answer.error == "dns_failed"
