"""HTTPS to a pinned address: the host name still goes in SNI, Host and the certificate check."""

import datetime
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kore.webhooks.transport import post

from .test_transport import Resolver


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(subject: str, issuer: str, key, signer, *, ca: bool, dns: str | None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), False)
    return builder.sign(signer, hashes.SHA256())


@dataclass
class TlsReceiver:
    port: int
    ca_file: str
    server_names: list[str | None] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)


def _pem(path: Path, *items: bytes) -> str:
    path.write_bytes(b"".join(items))
    return str(path)


@pytest.fixture
def tls_receiver(tmp_path) -> Iterator[TlsReceiver]:
    """An HTTPS server on 127.0.0.1 whose certificate (from a CA of this test) names
    hooks.example.test only; it records the SNI name and Host header it gets."""
    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = _certificate("Test CA", "Test CA", ca_key, ca_key, ca=True, dns=None)
    leaf = _certificate("hooks", "Test CA", leaf_key, ca_key, ca=False, dns="hooks.example.test")
    pem = serialization.Encoding.PEM
    ca_file = _pem(tmp_path / "ca.pem", ca.public_bytes(pem))
    chain = _pem(tmp_path / "leaf.pem", leaf.public_bytes(pem))
    key = _pem(tmp_path / "key.pem", leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = TlsReceiver(server.server_address[1], ca_file)
    context.sni_callback = lambda sock, name, ctx: receiver.server_names.append(name)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.hosts.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server.RequestHandlerClass = Handler
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def test_https_to_the_pinned_address_keeps_the_name_for_sni_host_and_certificate(tls_receiver):
    resolver = Resolver({"hooks.example.test": [["127.0.0.1"]]})
    answer = post(
        f"https://hooks.example.test:{tls_receiver.port}/k", body=b"{}", headers={},
        allow_private=True, timeout=5, resolver=resolver, ca_certs=tls_receiver.ca_file,
    )  # fmt: skip
    assert answer.status_code == 204, answer
    assert tls_receiver.server_names == ["hooks.example.test"]
    assert tls_receiver.hosts == [f"hooks.example.test:{tls_receiver.port}"]


def test_a_certificate_for_another_name_is_refused(tls_receiver):
    resolver = Resolver({"other.example.test": [["127.0.0.1"]]})
    answer = post(
        f"https://other.example.test:{tls_receiver.port}/k", body=b"{}", headers={},
        allow_private=True, timeout=5, resolver=resolver, ca_certs=tls_receiver.ca_file,
    )  # fmt: skip
    assert (answer.status_code, answer.error) == (None, "tls_failed")
    assert tls_receiver.hosts == []
