"""The Kore-Signature header: what a receiver checks."""

from kore.webhooks.signing import secret_generate, signature_header, signature_verify

BODY = b'{"id":"evt_1","type":"export.ready"}'
NOW = 1_800_000_000


def test_a_fresh_signature_verifies():
    secret = secret_generate()
    header = signature_header(secret=secret, body=BODY, timestamp=NOW)
    assert signature_verify(secret=secret, body=BODY, header=header, now=NOW + 2)


def test_a_tampered_body_does_not_verify():
    secret = secret_generate()
    header = signature_header(secret=secret, body=BODY, timestamp=NOW)
    assert not signature_verify(
        secret=secret, body=BODY.replace(b"1", b"2"), header=header, now=NOW
    )


def test_a_tampered_timestamp_does_not_verify():
    secret = secret_generate()
    header = signature_header(secret=secret, body=BODY, timestamp=NOW)
    moved = header.replace(f"t={NOW}", f"t={NOW + 600}")
    assert not signature_verify(secret=secret, body=BODY, header=moved, now=NOW + 600)


def test_another_secret_does_not_verify():
    header = signature_header(secret=secret_generate(), body=BODY, timestamp=NOW)
    assert not signature_verify(secret=secret_generate(), body=BODY, header=header, now=NOW)


def test_a_request_replayed_outside_the_window_is_refused():
    secret = secret_generate()
    header = signature_header(secret=secret, body=BODY, timestamp=NOW)
    assert signature_verify(secret=secret, body=BODY, header=header, now=NOW + 300)
    assert not signature_verify(secret=secret, body=BODY, header=header, now=NOW + 301)
    assert not signature_verify(secret=secret, body=BODY, header=header, now=NOW - 301)


def test_a_malformed_header_does_not_verify():
    secret = secret_generate()
    for header in ("", "v1=abc", "t=soon,v1=abc", f"t={NOW}"):
        assert not signature_verify(secret=secret, body=BODY, header=header, now=NOW)
