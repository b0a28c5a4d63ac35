"""Certificates that renew and reach Nginx without a restart, and alerts that reach someone.

TLS: certbot (production.yml, profile letsencrypt) answers Let's Encrypt's challenge through
Nginx's /.well-known/acme-challenge/, its deploy hook installs the renewed pair where Nginx reads
it, and Nginx's watcher reloads when the pair changes (never on half a pair). Alerts: Prometheus
sends to Alertmanager (profile monitoring), which mails KORE_ALERT_EMAIL."""

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from kore.core.testing import wait_until
from kore.core.testing_binaries import debian_binary

from .helpers import ROOT, load_yaml, run

WATCHER = ROOT / "docker/production/nginx/kore-watch-upstreams.sh"
HOOK = ROOT / "deploy/letsencrypt/kore-install-cert"


def _pair(directory: Path, name: str) -> Path:
    """A self-signed certificate and key as certbot lays out a lineage (fullchain, privkey)."""
    lineage = directory / name
    lineage.mkdir(parents=True)
    run([debian_binary("openssl", "openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-days", "1", "-subj", f"/CN={name}.kore.test", "-keyout", str(lineage / "privkey.pem"),
         "-out", str(lineage / "fullchain.pem")])  # fmt: skip
    return lineage


@pytest.fixture
def watched(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The watcher in the foreground every second, with `nginx` a recorder of its arguments."""
    certs = tmp_path / "certs"
    certs.mkdir()
    first = _pair(tmp_path / "live", "first")
    install(first, certs)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "nginx-calls"
    (bin_dir / "nginx").write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    (bin_dir / "nginx").chmod(0o755)
    env = os.environ | {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "KORE_WATCH_FOREGROUND": "1",
        "NGINX_UPSTREAM_WATCH_SECONDS": "1",
        "NGINX_UPSTREAM_SERVERS": "localhost:8000",
        "NGINX_MODE": "https",
        "NGINX_TLS_CERT": str(certs / "tls.crt"),
        "NGINX_TLS_KEY": str(certs / "tls.key"),
    }
    watcher = subprocess.Popen(["sh", str(WATCHER)], env=env)
    time.sleep(1.5)
    yield certs, calls
    watcher.kill()
    watcher.wait()


def install(lineage: Path, certs: Path) -> None:
    """What certbot does after a renewal: run the deploy hook with RENEWED_LINEAGE."""
    out = run(["sh", str(HOOK)], env=os.environ | {"RENEWED_LINEAGE": str(lineage),
                                                  "KORE_CERTS_DIR": str(certs)}).stdout  # fmt: skip
    assert "installed the certificate" in out


def reloads(calls: Path) -> int:
    return calls.read_text().count("-s reload") if calls.exists() else 0


def test_deploy_hook_installs_the_renewed_pair_privately(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    lineage = _pair(tmp_path / "live", "renewed")
    install(lineage, certs)
    assert (certs / "tls.crt").read_bytes() == (lineage / "fullchain.pem").read_bytes()
    assert (certs / "tls.key").read_bytes() == (lineage / "privkey.pem").read_bytes()
    assert (certs / "tls.key").stat().st_mode & 0o777 == 0o600
    assert not list(certs.glob("*.new"))


def test_nginx_reloads_when_the_certificate_is_renewed(watched, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    certs, calls = watched
    time.sleep(2.5)
    assert reloads(calls) == 0  # nothing changed, nothing reloaded
    install(_pair(tmp_path / "live", "second"), certs)
    wait_until(lambda: reloads(calls) == 1, timeout=10, what="Nginx reloaded once")


def test_half_a_renewal_is_not_loaded(watched, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A new certificate with the old key would stop Nginx's reload: wait for the matching key."""
    certs, calls = watched
    new = _pair(tmp_path / "live", "third")
    (certs / "tls.crt").write_bytes((new / "fullchain.pem").read_bytes())
    time.sleep(3)
    assert reloads(calls) == 0
    (certs / "tls.key").write_bytes((new / "privkey.pem").read_bytes())
    wait_until(lambda: reloads(calls) == 1, timeout=10, what="Nginx reloaded once")


def test_certbot_renews_through_nginx_and_shares_the_certificate_directory() -> None:
    services = load_yaml(ROOT / "production.yml")["services"]
    certbot, nginx = services["certbot"], services["nginx"]
    assert certbot["profiles"] == ["letsencrypt"]
    assert "certbot renew --webroot -w /var/www/acme" in " ".join(certbot["command"])
    assert "./deploy/letsencrypt/kore-install-cert:/etc/letsencrypt/renewal-hooks/deploy/" \
        "kore-install-cert:ro" in certbot["volumes"]  # fmt: skip
    certs = "${NGINX_CERTS_DIR:-./.envs/certs}"
    assert f"{certs}:/etc/nginx/certs" in certbot["volumes"]
    assert f"{certs}:/etc/nginx/certs:ro" in nginx["volumes"]
    assert "acme:/var/www/acme" in certbot["volumes"]
    assert "acme:/var/www/acme:ro" in nginx["volumes"]
    template = (
        ROOT / "docker/production/nginx/templates/kore/mode-https.conf.template"
    ).read_text()
    assert re.search(r"location \^~ /\.well-known/acme-challenge/ \{\s*root \$\{NGINX_ACME_ROOT\};",
                     template)  # fmt: skip


def test_alerts_go_to_alertmanager_which_mails_the_operators() -> None:
    prometheus = load_yaml(ROOT / "deploy/monitoring/prometheus/prometheus.yml")
    targets = prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["alertmanager:9093"]
    services = load_yaml(ROOT / "production.yml")["services"]
    manager = services["alertmanager"]
    assert manager["profiles"] == ["monitoring"]
    assert "/-/healthy" in " ".join(manager["healthcheck"]["test"])
    config_path = ROOT / "deploy/monitoring/alertmanager/alertmanager.yml"
    config = load_yaml(config_path)
    receivers = {r["name"]: r for r in config["receivers"]}
    # Every alert reaches a receiver that mails someone.
    routed = [config["route"]["receiver"], *(r["receiver"] for r in config["route"]["routes"])]
    for name in routed:
        assert receivers[name]["email_configs"][0]["to"] == "@KORE_ALERT_EMAIL@"
    severities = {
        rule["labels"]["severity"]
        for group in load_yaml(ROOT / "deploy/monitoring/prometheus/alerts.yml")["groups"]
        for rule in group["rules"] if "alert" in rule
    }  # fmt: skip
    matched = {m.split('"')[1] for r in config["route"]["routes"] for m in r["matchers"]}
    assert matched <= severities, (matched, severities)
    # Each placeholder is filled from the container's environment at start; the password is a file.
    placeholders = set(re.findall(r"@(KORE_[A-Z_]+)@", config_path.read_text()))
    command = " ".join(manager["command"])
    for name in placeholders:
        assert f"s|@{name}@|$${name}|g" in command, name
        assert name in manager["environment"], name
    assert config["global"]["smtp_auth_password_file"] == "/etc/alertmanager/smtp_password"
    assert {"source": "kore_alert_smtp_password", "target": "/etc/alertmanager/smtp_password"} in (
        manager["configs"]
    )
