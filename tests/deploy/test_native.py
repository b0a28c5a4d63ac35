"""Native host: systemd units pass `systemd-analyze verify` (with /srv/kore pointed at this
checkout), the supervisord file parses and names every program, the Makefile has the targets."""

import re
import subprocess

from supervisor.options import ServerOptions

from kore.core.testing_binaries import debian_binary

from .helpers import ROOT

NATIVE = ROOT / "deploy/native"


def test_systemd_units_verify(tmp_path):
    units = sorted((NATIVE / "systemd").iterdir())
    assert {u.name for u in units} >= {
        "kore.target",
        "kore-migrate.service",
        "kore-web.service",
        "kore-worker.service",
        "kore-beat.service",
        "kore-nginx.service",
    }
    for unit in units:
        (tmp_path / unit.name).write_text(unit.read_text().replace("/srv/kore", str(ROOT)))
    systemd_analyze = debian_binary("systemd-analyze", "systemd")
    debian_binary("nginx", "nginx", path="/usr/sbin/nginx")  # the units' ExecStart names it
    proc = subprocess.run(
        [systemd_analyze, "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    # verify only warns (exit 0) about unknown keys: any message at all is a failure here.
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, output
    assert not output, output


def test_supervisord_conf_parses(tmp_path, monkeypatch):
    monkeypatch.setenv("KORE_ROOT", str(ROOT))
    (tmp_path / "logs").mkdir()
    monkeypatch.setenv("KORE_STACK_DIR", str(tmp_path))
    monkeypatch.setenv("NGINX_BIN", "/usr/sbin/nginx")
    options = ServerOptions()
    options.realize(args=["-c", str(NATIVE / "supervisord.conf")])
    programs = {group.name: group.process_configs[0] for group in options.process_group_configs}
    assert set(programs) == {"gunicorn", "worker", "beat", "nginx"}
    assert "config/gunicorn.conf.py" in programs["gunicorn"].command
    assert "config.celery_app worker" in programs["worker"].command
    assert "config.celery_app beat" in programs["beat"].command
    assert f"{tmp_path}/nginx/nginx.conf" in programs["nginx"].command


def test_makefile_targets():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("stack-up", "stack-status", "stack-down", "validate"):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target
    assert re.search(r"^check:.*\bvalidate\b", makefile, flags=re.MULTILINE)
