"""Record a deploy for the status page: ``manage.py ops_deploy_record ENV VERSION RESULT``."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kore.ops.deploys import RESULTS, deploy_record


class Command(BaseCommand):
    help = "Append a deploy (environment, version, result) to KORE_DEPLOY_LOG."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("env")
        parser.add_argument("version")
        parser.add_argument("result", choices=RESULTS)
        parser.add_argument("--previous", default="", help="the version it replaced")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            entry = deploy_record(
                env=options["env"],
                version=options["version"],
                result=options["result"],
                previous=options["previous"],
            )
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"recorded deploy {entry['version']} ({entry['result']}) at {entry['time']}"
        )
