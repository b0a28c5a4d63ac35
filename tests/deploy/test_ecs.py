"""ECS: the task definition is a valid RegisterTaskDefinition request (botocore's input shape)
and keeps the documents' health check (30 s / 10 s / 3 / 40 s)."""

import json

import botocore.session
from botocore.validate import ParamValidator

from .helpers import ROOT

TASK = ROOT / "deploy/ecs/task-definition.json"


def test_task_definition_matches_botocore_shape():
    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(json.loads(TASK.read_text()), shape)
    assert not report.has_errors(), report.generate_report()


def test_task_definition_health_checks():
    task = json.loads(TASK.read_text())
    containers = {c["name"]: c for c in task["containerDefinitions"]}
    django = containers["django"]["healthCheck"]
    assert (django["interval"], django["timeout"], django["retries"], django["startPeriod"]) == (
        30,
        10,
        3,
        40,
    )
    # Liveness: a database outage must not get every task replaced.
    assert "/api/v1/health/live/" in django["command"][1]
    assert containers["nginx"]["dependsOn"] == [{"containerName": "django", "condition": "HEALTHY"}]
    assert containers["django"]["user"] == "1000:1000"
