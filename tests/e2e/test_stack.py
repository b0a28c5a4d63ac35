"""The native production stack end to end, every request through Nginx (issue 6, item 9).

Runs before test_stack_faults.py (file order), which disturbs the stack; the strict login zone is
drained last here, so nothing after it needs to sign in.
"""

import gzip
import json
import secrets
import socket
import time

import requests

from .stack import HOST, Stack, send_task, wait_for

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_ledger(stack: Stack) -> tuple[str, int, list[int]]:
    """An organisation, an account and three transactions, created through Nginx."""
    name = f"E2E {secrets.token_hex(3)}"
    org = requests.post(
        stack.base + "/api/v1/orgs/",
        json={"name": name, "default_currency": "EUR"},
        headers=stack.auth(),
        timeout=10,
    )
    assert org.status_code == 201, org.text
    slug = org.json()["slug"]
    api = f"{stack.base}/api/v1/orgs/{slug}"
    account = requests.post(
        f"{api}/accounts/",
        json={"name": "Checking", "currency": "EUR", "opening_balance": "100.00"},
        headers=stack.auth(),
        timeout=10,
    )
    assert account.status_code == 201, account.text
    ids = []
    for day, amount in (("2026-01-15", "-12.30"), ("2026-01-16", "250.00"), ("2026-01-17", "-7")):
        tx = requests.post(
            f"{api}/transactions/",
            json={"account": account.json()["id"], "occurred_on": day, "amount": amount},
            headers=stack.auth() | {"Idempotency-Key": secrets.token_hex(8)},
            timeout=10,
        )
        assert tx.status_code == 201, tx.text
        ids.append(tx.json()["id"])
    return slug, account.json()["id"], ids


def test_health_is_ok_with_every_dependency(stack):
    status, body = stack.health()
    assert status == 200, body
    assert body["status"] == "ok"
    for check in ("database", "cache", "broker", "storage"):
        assert body["checks"][check]["status"] == "ok", body
    live = stack.get("/api/v1/health/live/")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert stack.get("/health").json() == {"status": "ok"}  # Nginx's own


def test_both_gunicorn_instances_serve_and_beat_holds_the_lock(stack):
    # Nginx balances over one shared view of the instances; one that a worker recycling under a
    # keepalive connection just got marked down (max_fails) is skipped for up to 10 s. Each
    # instance's own request log shows what it served.
    wanted = set(range(len(stack.web_ports)))
    served: set[int] = set()
    deadline = time.monotonic() + 30
    while served != wanted and time.monotonic() < deadline:
        assert stack.get("/api/v1/me/", headers=stack.auth()).status_code == 200
        served = {
            index
            for index in wanted
            if any(e["path"] == "/api/v1/me/" for e in stack.django_log(index))
        }
        time.sleep(0.05)
    assert served == wanted, served
    assert stack.beat_holds_lock()
    assert stack.beat is not None
    assert "lock acquired" in stack.beat.tail(10**6)


def test_login_create_and_list_transactions(stack):
    slug, account, ids = create_ledger(stack)
    listed = stack.get(f"/api/v1/orgs/{slug}/transactions/", headers=stack.auth())
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert sorted(t["id"] for t in body["results"]) == sorted(ids)
    assert {t["amount"] for t in body["results"]} == {"-12.30", "250.00", "-7.00"}
    assert all(t["account"] == account for t in body["results"])
    orgs = stack.get("/api/v1/orgs/", headers=stack.auth()).json()
    assert slug in json.dumps(orgs)


def test_static_file_is_served_by_nginx_with_cache_headers_and_gzip(stack):
    manifest = json.loads((stack.dir / "static/staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    response = stack.get(f"/static/{hashed}", headers={"Accept-Encoding": "gzip"}, stream=True)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert "Expires" in response.headers
    cache_control = response.headers["Cache-Control"]
    assert "max-age=2592000" in cache_control
    assert "immutable" in cache_control
    raw = gzip.decompress(response.raw.read())
    assert raw == (stack.dir / "static" / hashed).read_bytes()
    for header, value in SECURITY_HEADERS.items():
        assert response.headers[header] == value


def test_attachment_upload_and_download_through_x_accel_redirect(stack):
    slug, _, ids = create_ledger(stack)
    rows = "\n".join(f"2026-01-{d:02d},{d}.{secrets.randbelow(100):02d},e2e" for d in range(1, 29))
    content = ("date,amount,memo\n" + rows + "\n").encode() * 40
    upload = requests.post(
        f"{stack.base}/api/v1/orgs/{slug}/attachments/",
        files={"file": ("statement.csv", content, "text/csv")},
        data={"transaction": str(ids[0])},
        headers=stack.auth(),
        timeout=10,
    )
    assert upload.status_code == 201, upload.text
    attachment = upload.json()
    assert attachment["size"] == len(content)
    download = stack.get(
        f"/api/v1/orgs/{slug}/attachments/{attachment['id']}/download/", headers=stack.auth()
    )
    assert download.status_code == 200, download.text
    assert download.content == content
    assert "X-Accel-Redirect" not in download.headers  # Nginx consumed it
    assert download.headers["Content-Type"].startswith("text/csv")
    assert download.headers["Content-Disposition"].startswith("attachment")
    # The file was on disk and Nginx sent it: Gunicorn's response was empty.
    stored = list((stack.dir / "data/media/attachments").rglob("*"))
    assert any(p.is_file() and p.read_bytes() == content for p in stored)
    # /media/ is internal: a direct request is a 404.
    direct = stack.get(
        "/media/"
        + str(next(p for p in stored if p.is_file()).relative_to(stack.dir / "data/media"))
    )
    assert direct.status_code == 404


def test_oversize_body_is_a_json_413_from_nginx(stack):
    body = b"x" * (3 * 2**20)  # Nginx's limit here: 1 MiB attachments + 1 MiB envelope
    response = requests.post(
        stack.base + "/api/v1/orgs/demo/attachments/",
        data=body,
        headers=stack.auth() | {"Content-Type": "application/octet-stream"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "request_too_large"


def test_unknown_host_gets_444_no_response(stack):
    with socket.create_connection((HOST, stack.nginx_port), timeout=5) as sock:
        sock.sendall(b"GET /api/v1/health/ HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        assert sock.recv(4096) == b""  # closed without a single byte


def test_security_headers_on_a_404(stack):
    for path in ("/api/v1/no-such-thing/", "/no-such-page/"):
        response = stack.get(path)
        assert response.status_code == 404, path
        for header, value in SECURITY_HEADERS.items():
            assert response.headers[header] == value, (path, header)
        assert response.headers["Permissions-Policy"].startswith("accelerometer=()")
        assert "Server" not in response.headers or "nginx/" not in response.headers["Server"]


def test_request_id_is_passed_through_and_generated(stack):
    request_id = f"e2e-{secrets.token_hex(8)}"
    response = stack.get("/api/v1/no-such-thing/", headers={"X-Request-ID": request_id})
    assert response.headers["X-Request-ID"] == request_id  # one copy, Nginx's and Django's agree
    assert response.json()["error"]["request_id"] == request_id
    generated = stack.get("/api/v1/no-such-thing/")
    assert len(generated.headers["X-Request-ID"]) == 32
    assert generated.json()["error"]["request_id"] == generated.headers["X-Request-ID"]
    # Logged once: Django's kore.request line (it answered), not Nginx's access log as well.
    wait_for(
        "Django's request line",
        lambda: any(
            e["request_id"] == request_id
            for index in range(len(stack.web))
            for e in stack.django_log(index)
        ),
        10,
    )
    lines = [e for i in range(len(stack.web)) for e in stack.django_log(i)]
    django = [e for e in lines if e["request_id"] == request_id]
    assert [(e["path"], e["status"]) for e in django] == [("/api/v1/no-such-thing/", 404)]
    assert not [e for e in stack.nginx_log() if e["request_id"] == request_id]


def test_celery_task_round_trip_through_the_worker(stack):
    """kore.ops.flush_expired_tokens, sent to the broker, deletes an expired refresh token."""
    user_id = stack.sql("SELECT id FROM orgs_user WHERE email = %s", ["demo@kore.local"])[0][0]
    jti = secrets.token_hex(16)
    stack.sql(
        "INSERT INTO token_blacklist_outstandingtoken (user_id, jti, token, created_at, expires_at)"
        " VALUES (%s, %s, 'e2e', now() - interval '2 days', now() - interval '1 day')",
        [user_id, jti],
    )
    send_task(stack, "kore.ops.flush_expired_tokens")
    wait_for(
        "the worker to flush the expired token",
        lambda: not stack.sql(
            "SELECT 1 FROM token_blacklist_outstandingtoken WHERE jti = %s", [jti]
        ),
        20,
        0.2,
    )
    assert stack.worker is not None
    assert "kore.ops.flush_expired_tokens" in stack.worker.tail(10**6)


def test_strict_login_zone_answers_json_429(stack):
    """10 r/min with a burst of 10 per address: the 12th sign-in in a row is Nginx's 429."""
    statuses = []
    response = None
    for _ in range(25):
        response = requests.post(
            stack.base + "/api/v1/auth/token/",
            json={"email": "nobody@kore.local", "password": "wrong-password-123"},
            timeout=10,
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert response is not None
    assert statuses[-1] == 429, statuses
    assert set(statuses[:-1]) == {401}, statuses  # Django's own answers until the zone is full
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "throttled"
    for header, value in SECURITY_HEADERS.items():
        assert response.headers[header] == value
    # Health stays exempt while the address is limited.
    assert stack.get("/api/v1/health/live/").status_code == 200
