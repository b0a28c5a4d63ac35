"""Nginx: the templates rendered by scripts/render-nginx.sh (the image's mechanism, natively) pass
`nginx -t` on Debian's Nginx (1.22 here), plain and TLS with a self-signed certificate.
Debian's nginx is required: `make test` installs it; without it these tests fail, never skip."""

import json
import re
import socket
import socketserver
import subprocess
import threading
from collections import Counter

import pytest
import requests

from kore.core.testing import wait_until
from kore.core.testing_binaries import debian_binary

from .helpers import ROOT, clean_env, run

TEMPLATES = ROOT / "docker/production/nginx/templates"
RENDER = ROOT / "scripts/render-nginx.sh"


@pytest.fixture(scope="module")
def nginx() -> str:
    return debian_binary("nginx", "nginx", path="/usr/sbin/nginx")


def _wait_for_nginx(base: str, proc: subprocess.Popen[bytes]) -> None:
    """Until the started nginx answers its own /health (it fails at once if nginx exited)."""

    def answers() -> bool:
        assert proc.poll() is None, f"nginx exited with {proc.returncode}"
        try:
            return requests.get(base + "/health", headers={"Host": "localhost"}, timeout=2).ok
        except requests.ConnectionError:
            return False

    wait_until(answers, timeout=30, what=f"nginx to answer {base}/health")


def render(out, **env: str) -> str:
    proc = run([str(RENDER), str(out)], env=clean_env(**env))
    return proc.stdout.strip()


def nginx_t(nginx: str, out) -> str:
    proc = run([nginx, "-t", "-p", str(out), "-c", str(out / "nginx.conf"), "-e", "stderr"])
    return proc.stderr


def rendered_text(out) -> str:
    return "\n".join(p.read_text() for p in sorted(out.rglob("*.conf")))


def test_templates_use_only_braced_nginx_variables():
    for template in TEMPLATES.rglob("*.template"):
        text = template.read_text()
        assert not re.search(r"\$NGINX_", text), f"{template}: write ${{NGINX_...}}"


def test_plain_config_passes_nginx_t(nginx, tmp_path):
    out = tmp_path / "plain"
    conf = render(
        out,
        NGINX_HTTP_PORT="18080",
        NGINX_UPSTREAM_SERVERS="127.0.0.1:18001 127.0.0.1:18002",
        NGINX_RATE_LIMIT_ALLOWLIST="127.0.0.1/32,10.0.0.0/8",
        NGINX_REAL_IP_FROM="10.1.2.3",
    )
    assert conf == str(out / "nginx.conf")
    assert "test is successful" in nginx_t(nginx, out)
    text = rendered_text(out)
    assert "${NGINX_" not in text
    assert "server 127.0.0.1:18001 max_fails=3" in text
    assert "server 127.0.0.1:18002" in text
    assert "10.0.0.0/8 1;" in text
    assert "set_real_ip_from 10.1.2.3;" in text
    assert "Strict-Transport-Security" not in (out / "kore/hsts-http.conf").read_text()
    # The Django attachment limit plus 1 MiB of multipart envelope.
    assert f"client_max_body_size {50 * 2**20 + 2**20};" in text


def test_plain_config_has_the_issue_features(tmp_path, nginx):
    out = tmp_path / "features"
    render(out)
    text = rendered_text(out)
    for directive in (
        "least_conn;",
        "keepalive 32;",
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Host $host;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Request-ID $kore_request_id;",
        "default $request_id;",
        "return 444;",
        "proxy_read_timeout 60s;",
        "gzip_proxied any;",
        "application/json",
        "expires 30d;",
        'add_header Cache-Control "public, immutable" always;',
        "internal;",
        'add_header X-Frame-Options "DENY" always;',
        'add_header X-Content-Type-Options "nosniff" always;',
        "add_header Referrer-Policy $kore_referrer_policy always;",
        "add_header Permissions-Policy",
        "server_tokens off;",
        "rate=200r/s;",
        "rate=500r/s;",
        "zone=kore_auth",
        "limit_req_status 429;",
        "geo $kore_rate_exempt",
        "real_ip_recursive on;",
        "proxy_next_upstream error timeout http_502 http_503 http_504;",
        "location = /health",
        "client_max_body_size 200m;",
    ):
        assert directive in text, directive
    # POSTs are never retried on another instance: no directive line names non_idempotent.
    directives = [line.split("#", 1)[0] for line in text.splitlines()]
    assert not any("non_idempotent" in line for line in directives)
    assert "proxy_hide_header Content-Security-Policy" not in text  # Django's CSP passes
    health = text.split("location ^~ /api/v1/health/", 1)[1].split("}", 1)[0]
    assert "limit_req" not in health
    # Readiness 503s are answers: neither retried elsewhere nor counted against the instance.
    assert "proxy_next_upstream error timeout;" in health


def test_tls_config_passes_nginx_t(nginx, tmp_path):
    openssl = debian_binary("openssl", "openssl")  # the self-signed test certificate
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(certs / "tls.key"),
            "-out",
            str(certs / "tls.crt"),
        ],
        check=True,
        capture_output=True,
    )
    out = tmp_path / "tls"
    render(
        out,
        NGINX_MODE="https",
        NGINX_HTTP_PORT="18080",
        NGINX_HTTPS_PORT="18443",
        NGINX_TLS_CERT=str(certs / "tls.crt"),
        NGINX_TLS_KEY=str(certs / "tls.key"),
    )
    assert "test is successful" in nginx_t(nginx, out)
    text = rendered_text(out)
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text
    assert "include kore/mode-https.conf;" in text
    assert 'Strict-Transport-Security "max-age=31536000; includeSubDomains" always' in text
    assert "return 301 https://$host:18443$request_uri;" in text
    assert "ssl_reject_handshake on;" in text


def test_render_refuses_an_unknown_mode(tmp_path):
    proc = subprocess.run(
        [str(RENDER), str(tmp_path)],
        env=clean_env(NGINX_MODE="ftp"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "NGINX_MODE must be http or https" in proc.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _FlakyInstance(socketserver.ThreadingTCPServer):
    """An instance that drops the first ``drops`` requests it reads without an answer (a worker
    exiting under a keepalive connection), then answers 200. Counts what it read by method."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, drops: int, headers: bytes = b"") -> None:
        self.drops, self.seen, self.headers = drops, Counter[str](), headers
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _FlakyHandler)


class _FlakyHandler(socketserver.StreamRequestHandler):
    server: _FlakyInstance

    def handle(self) -> None:
        while line := self.rfile.readline():
            method, length = line.split(b" ", 1)[0].decode(), 0
            while (header := self.rfile.readline()) not in (b"\r\n", b""):
                if header.lower().startswith(b"content-length:"):
                    length = int(header.split(b":", 1)[1])
            self.rfile.read(length)
            with self.server.lock:
                self.server.seen[method] += 1
                drop = self.server.drops > 0
                self.server.drops -= drop
            if drop:
                return  # closed without a response
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + self.server.headers
                + b"Content-Length: 12\r\n\r\n"
                + b'{"ok": true}'
            )


def test_a_get_no_instance_answered_is_tried_once_more_and_a_post_never(nginx, tmp_path):
    """Both instances fail a request (one refuses, one drops it, as during a rolling restart
    with a worker recycling): the GET gets the answer of a second pass, the POST its JSON error
    and was read by Django exactly once."""
    port, dead, listen = _free_port(), _free_port(), _free_port()
    out = tmp_path / "retry"
    render(
        out,
        NGINX_HTTP_PORT=str(listen),
        NGINX_SERVER_NAME="localhost",
        NGINX_UPSTREAM_SERVERS=f"127.0.0.1:{port} 127.0.0.1:{dead}",
        NGINX_ERROR_LOG=str(out / "error.log"),
    )
    instance = _FlakyInstance(port, drops=1)
    threading.Thread(target=instance.serve_forever, daemon=True).start()
    proc = subprocess.Popen(
        [nginx, "-p", str(out), "-c", str(out / "nginx.conf"), "-e", "stderr", "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base, host = f"http://127.0.0.1:{listen}", {"Host": "localhost"}
    try:
        _wait_for_nginx(base, proc)
        got = requests.get(base + "/api/v1/anything/", headers=host, timeout=10)
        assert (got.status_code, got.json()) == (200, {"ok": True})
        assert instance.seen["GET"] == 2  # dropped once, answered on the second pass

        instance.drops = 1
        posted = requests.post(base + "/api/v1/anything/", headers=host, json={}, timeout=10)
        assert posted.status_code == 502
        assert posted.json()["error"]["code"] == "service_unavailable"
        assert instance.seen["POST"] == 1  # never sent twice
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        instance.shutdown()
        instance.server_close()


AUTH_PATHS = (
    "/sign-in/",
    "/sign-in/code/",
    "/password-reset/",
    "/password-reset/confirm/",
    "/invitations/accept/",
    "/api/v1/auth/token/",
    "/api/v1/auth/password-reset/",
    "/api/v1/auth/password-reset/confirm/",
)


def test_every_credential_location_is_in_the_auth_zone(tmp_path):
    out = tmp_path / "zones"
    render(out)
    locations = (out / "kore/locations.conf").read_text()
    blocks = re.findall(r"location ~ (\S+) \{(.*?)\n\}", locations, re.S)
    for path in AUTH_PATHS:
        matching = [body for regex, body in blocks if re.search(regex, path)]
        assert matching, path
        assert "zone=kore_auth" in matching[0], path


@pytest.fixture
def upstream_headers() -> bytes:
    return b""


@pytest.fixture
def live_stack(nginx, tmp_path, upstream_headers):
    """Nginx with the default limits in front of an instance that answers 200 to everything:
    ``(base URL, rendered directory, the instance)``."""
    port, listen = _free_port(), _free_port()
    out = tmp_path / "live"
    render(
        out,
        NGINX_HTTP_PORT=str(listen),
        NGINX_SERVER_NAME="localhost",
        NGINX_UPSTREAM_SERVERS=f"127.0.0.1:{port}",
        NGINX_ERROR_LOG=str(out / "error.log"),
    )
    instance = _FlakyInstance(port, drops=0, headers=upstream_headers)
    threading.Thread(target=instance.serve_forever, daemon=True).start()
    proc = subprocess.Popen(
        [nginx, "-p", str(out), "-c", str(out / "nginx.conf"), "-e", "stderr", "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{listen}"
    try:
        _wait_for_nginx(base, proc)
        yield base, out, instance
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        instance.shutdown()
        instance.server_close()


@pytest.fixture
def live_nginx(live_stack):
    base, out, _ = live_stack
    return base, out


def _statuses(base: str, method: str, path: str, n: int) -> list[int]:
    host = {"Host": "localhost"}
    return [
        requests.request(method, base + path, headers=host, timeout=5).status_code for _ in range(n)
    ]


@pytest.mark.parametrize("path", ["/sign-in/", "/password-reset/", "/api/v1/auth/password-reset/"])
def test_credential_posts_beyond_the_burst_are_refused(live_nginx, path):
    base, _ = live_nginx
    codes = _statuses(base, "POST", path, 13)
    assert codes[:11] == [200] * 11  # the burst of 10, and the first of the 10/min rate
    assert codes[11:] == [429, 429]


def test_opening_the_sign_in_page_is_not_a_credential_attempt(live_nginx):
    base, _ = live_nginx
    assert _statuses(base, "GET", "/sign-in/", 30) == [200] * 30
    assert _statuses(base, "POST", "/sign-in/", 1) == [200]


def _access_log(out) -> list[dict[str, object]]:
    path = out / "access.log"
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_nginx_logs_only_what_the_application_did_not_answer(live_stack):
    """One line per request: Django logs what it answered, Nginx the rest (its own answers, no
    instance reachable, retries), so no request is logged twice."""
    base, out, instance = live_stack
    assert _statuses(base, "GET", "/api/v1/me/?page=1", 3) == [200] * 3
    assert _statuses(base, "POST", "/sign-in/", 13)[11:] == [429, 429]  # answered by Nginx
    instance.drops = 10**9  # from now on every request is dropped unanswered
    assert _statuses(base, "GET", "/api/v1/me/?page=2", 1) == [502]  # nobody to answer
    wait_until(lambda: any(e["status"] == 502 for e in _access_log(out)), timeout=10,
               what="the 502's access log line")  # fmt: skip
    logged = _access_log(out)
    assert [e["status"] for e in logged] == [429, 429, 502], logged
    assert all(e["uri"] != "/api/v1/me/?page=1" for e in logged)
    assert logged[-1]["uri"] == "/api/v1/me/?page=2"
    assert logged[-1]["upstream_status"].startswith("502")


def test_email_link_secrets_stay_out_of_the_access_and_error_logs(live_stack):
    base, out, instance = live_stack
    links = [
        "/password-reset/confirm/?uid=MQ&token=reset-secret-1",
        "/invitations/accept/?token=invite-secret-2",
        "/accounts/google/login/callback/?state=state-secret-3&code=code-secret-4",
    ]
    for link in links:
        assert _statuses(base, "GET", link, 1) == [200]
    # Refused and failed requests are where Nginx writes the request line to its error log.
    _statuses(base, "POST", "/password-reset/confirm/?uid=MQ&token=reset-secret-5", 13)
    _statuses(base, "POST", "/sign-in/", 13)
    # Nginx logs a request the application did not answer: with the instance failing, every
    # link gets Nginx's 502 and its access log line.
    instance.drops = 10**9  # from now on every request is dropped unanswered
    for link in links:
        assert _statuses(base, "GET", link, 1) == [502]
    _statuses(base, "GET", "/api/v1/transactions/?q=lunch&ordering=-date", 1)

    # Nginx logs a request once its answer is sent: the last line lands a moment later.
    last = '"uri":"/api/v1/transactions/?q=lunch&ordering=-date"'
    wait_until(lambda: last in (out / "access.log").read_text(), timeout=10,
               what="the last request's access log line")  # fmt: skip
    access = (out / "access.log").read_text()
    errors = (out / "error.log").read_text()
    assert "secret" not in access
    assert "secret" not in errors
    assert '"uri":"/password-reset/confirm/?[REDACTED]"' in access
    assert '"uri":"/invitations/accept/?[REDACTED]"' in access
    assert '"uri":"/accounts/google/login/callback/?[REDACTED]"' in access
    assert last in access  # other queries stay
    assert "limiting requests" in errors  # the error log still works elsewhere


def test_nginx_answers_carry_its_default_referrer_policy(live_nginx):
    base, _ = live_nginx
    for path in ("/health", "/api/v1/anything/"):
        response = requests.get(base + path, headers={"Host": "localhost"}, timeout=5)
        assert response.headers["Referrer-Policy"] == "same-origin", path


@pytest.mark.parametrize("upstream_headers", [b"Referrer-Policy: no-referrer\r\n"])
def test_the_applications_referrer_policy_is_the_only_one(live_nginx):
    base, _ = live_nginx
    response = requests.get(
        base + "/invitations/accept/?token=x", headers={"Host": "localhost"}, timeout=5
    )
    assert response.raw.headers.getlist("Referrer-Policy") == ["no-referrer"]
