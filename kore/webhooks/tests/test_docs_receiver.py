"""The receiver shown in docs/webhooks.md accepts Kore's deliveries and refuses forgeries."""

import json
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kore.core.testing import wait_until
from kore.webhooks.delivery import deliveries_send_due
from kore.webhooks.events import publish
from kore.webhooks.models import WebhookDelivery

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db
DOC = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"


def doc_receiver_code() -> str:
    [code] = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    return code


@pytest.fixture
def doc_receiver(tmp_path) -> Iterator[tuple[str, str, Path]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script, out = tmp_path / "receiver.py", tmp_path / "out.txt"
    script.write_text(doc_receiver_code())
    secret = "whsec_doc-test-secret"
    env = {"KORE_WEBHOOK_SECRET": secret, "PORT": str(port), "PATH": "/usr/bin:/bin"}
    with out.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, str(script)], env=env, stdout=log, stderr=subprocess.DEVNULL
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until(lambda: _listening(port), timeout=10, what="the documented receiver")
        yield url, secret, out
    finally:
        process.terminate()
        process.wait(5)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_the_documented_receiver_is_about_ten_lines_of_checking():
    body = doc_receiver_code().split("def do_POST(self):")[1].split("HTTPServer(")[0]
    assert len([line for line in body.splitlines() if line.strip()]) <= 10


def test_the_documented_receiver_accepts_a_real_delivery(world, doc_receiver, local_targets):
    url, secret, out = doc_receiver
    WebhookEndpointFactory(organization=world.org, url=url, secret=secret)
    event = publish(world.org, "export.ready", {"export": 9})
    deliveries_send_due()
    assert WebhookDelivery.objects.get().last_status_code == 204
    accepted = wait_until(lambda: out.read_text(), timeout=5, what="the receiver's line")
    assert accepted.startswith("accepted")
    assert json.loads(accepted.split(" ", 1)[1])["id"] == f"evt_{event.pk}"


def test_the_documented_receiver_refuses_a_forged_request(doc_receiver):
    url, _, _ = doc_receiver
    forged = urllib.request.Request(  # noqa: S310 - a local test server
        url, data=b'{"id":"evt_1"}', headers={"Kore-Signature": "t=1,v1=00"}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=5)  # noqa: S310 - a local test server
    assert refused.value.code == 400
