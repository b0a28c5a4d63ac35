"""``manage.py ops_status`` (make monitor): the status page's report, as text for a terminal."""

from typing import Any

from django.core.management.base import BaseCommand
from django.template.defaultfilters import filesizeformat

from kore.ops.status import status_report


class Command(BaseCommand):
    help = "Print host, services, traffic, queues, backup, deploys and recent problems."

    def handle(self, *args: Any, **options: Any) -> None:
        report = status_report()
        out = self.stdout.write
        out(
            f"Kore {report['version']}: {report['overall'].upper()} "
            f"({report['now']:%Y-%m-%d %H:%M:%S %Z})"
        )
        out("services:")
        for service in report["services"]:
            latency = "" if service["status"] == "skipped" else f" {service['latency_ms']} ms"
            out(
                f"  {service['name']:<16} {service['status']}{latency} {service['detail']}".rstrip()
            )
        system = report["system"]
        if system:
            out(
                f"host: cpu {system['cpu_percent']} % of {system['cpu_count']}, memory "
                f"{filesizeformat(system['memory_used'])}/"
                f"{filesizeformat(system['memory_total'])}, "
                f"disk {system['disk_percent']} %, up {system['host_uptime']}"
            )
        traffic = report["traffic"]
        if traffic is not None:
            out(
                f"last hour: {traffic['requests']} requests, {traffic['errors']} server errors "
                f"({traffic['error_percent']} %)"
            )
        queues = report["queues"]
        if queues and queues["mode"] == "broker":
            waiting = ", ".join(f"{q['name']} {q['length']}" for q in queues["queues"])
            out(f"queues: {waiting}; workers answering: {queues['workers']}")
        else:
            out(f"queues: {queues['mode'] if queues else 'unavailable'}")
        backup = report["backup"] or {"state": "unavailable"}
        if backup["state"] == "ok":
            out(f"last good backup: {backup['finished_at']:%Y-%m-%d %H:%M} ({backup['age']} ago)")
        else:
            out("last good backup: " + ("none yet" if backup["state"] == "none" else "unavailable"))
        for deploy in (report["deploys"] or [])[:3]:
            out(
                f"deploy: {deploy.get('time')} {deploy.get('env')} {deploy.get('version')} "
                f"{deploy.get('result')}"
            )
        for problem in (report["problems"] or [])[:5]:
            out(
                f"problem: {problem.created:%m-%d %H:%M:%S} {problem.level} {problem.logger}: "
                f"{problem.message[:120]}"
            )
