"""GET/POST /attachments/: upload checked by content, size limits, duplicates, roles, listing.

The byte builders here make tiny real files (or headers ``filetype`` recognises); the detail and
download tests import them.
"""

import hashlib
import re
import struct
import zlib

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Attachment
from kore.ledger.tests.factories import AccountFactory, base
from kore.ledger.tests.factories_tx import TransactionFactory

MB = 1024 * 1024


# --- Real files, built by hand --------------------------------------------------------------------
def pdf_bytes(salt: bytes = b"", pad_to: int = 0) -> bytes:
    body = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n% " + salt + b"\n"
    tail = b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    padding = b"%" + b"0" * max(0, pad_to - len(body) - len(tail) - 2) + b"\n" if pad_to else b""
    data = body + padding + tail
    assert not pad_to or len(data) == pad_to
    return data


def png_bytes() -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(tag + data))
        return struct.pack(">I", len(data)) + tag + data + crc

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1 by 1 pixel, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte + one red pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"\xff\xd9"


def webp_bytes() -> bytes:
    vp8l = b"VP8L" + struct.pack("<I", 5) + b"\x2f\x00\x00\x00\x00" + b"\x00"  # padded to even
    return b"RIFF" + struct.pack("<I", 4 + len(vp8l)) + b"WEBP" + vp8l


def heic_bytes() -> bytes:
    ftyp = b"ftyp" + b"heic" + b"\x00\x00\x00\x00" + b"mif1heic"
    box = struct.pack(">I", 4 + len(ftyp)) + ftyp
    return box + struct.pack(">I", 8) + b"meta" + b"\x00" * 16


def csv_bytes() -> bytes:
    return b"date,amount,description\n2026-01-15,-12.30,Coffee\n2026-01-16,-4.10,Bus\n"


def upload(name: str, content: bytes, declared: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=declared)


def url(world) -> str:
    return f"{base(world)}/attachments/"


def post_file(world, user, name: str, content: bytes, **extra):
    data = {"file": upload(name, content)} | extra
    return client_for(user).post(url(world), data, format="multipart")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media_root) -> list:
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


# --- Success for each type ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("receipt.pdf", pdf_bytes(), "application/pdf"),
        ("photo.png", png_bytes(), "image/png"),
        ("photo.jpg", jpeg_bytes(), "image/jpeg"),
        ("photo.webp", webp_bytes(), "image/webp"),
        ("IMG_0001.HEIC", heic_bytes(), "image/heic"),
        ("statement.csv", csv_bytes(), "text/csv"),
    ],
    ids=["pdf", "png", "jpeg", "webp", "heic", "csv"],
)
def test_upload_each_allowed_type(world, media_root, name, content, content_type):
    response = post_file(world, world.member, name, content)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id", "transaction", "original_name", "content_type", "size", "sha256", "uploaded_by",
        "created_at",
    }  # fmt: skip
    assert body["content_type"] == content_type
    assert body["original_name"] == name
    assert body["size"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["uploaded_by"] == world.member.pk
    assert body["transaction"] is None
    row = Attachment.objects.get(pk=body["id"])
    assert row.organization == world.org
    with default_storage.open(row.path, "rb") as handle:
        assert handle.read() == content
    assert (media_root / row.path).is_file()


def test_storage_path_is_random_and_ignores_the_name(world):
    first = post_file(world, world.member, "receipt.pdf", pdf_bytes(b"1")).json()
    second = post_file(world, world.member, "receipt.pdf", pdf_bytes(b"2")).json()
    paths = [Attachment.objects.get(pk=b["id"]).path for b in (first, second)]
    for path in paths:
        assert re.fullmatch(rf"attachments/{world.org.pk}/[0-9a-f]{{32}}", path), path
        assert "receipt" not in path
    assert paths[0] != paths[1]
    assert "path" not in first  # the storage path never leaves the server


def test_latin1_csv_is_accepted(world):
    content = "date;montant;libellé\n2026-01-15;-12,30;Café\n".encode("latin-1")
    response = post_file(world, world.member, "relevé.csv", content)
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "text/csv"


def test_pdf_renamed_png_is_415(world):
    data = {"file": upload("scan.png", pdf_bytes(), declared="image/png")}
    response = client_for(world.member).post(url(world), data, format="multipart")
    assert_error(response, 415, "unsupported_media_type")
    assert not Attachment.objects.exists()


def test_name_without_extension_is_typed_by_content(world):
    data = {"file": upload("scan", pdf_bytes(), declared="image/png")}
    response = client_for(world.member).post(url(world), data, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "application/pdf"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("invoice.pdf", b"Dear Sir\nPlease find the invoice attached\n"),  # no delimiter
        ("invoice.pdf", b"plain text without any separator\n"),
        ("table.csv", b"date,amount\n2026-01-15,\x00\x01\n"),  # control bytes: not text
        ("table.csv", b"date,amount\n\x81\x82\n"),  # neither UTF-8 nor Latin-1 text
        ("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),  # a real type, not allowed
        ("archive.pdf", b"PK\x03\x04" + b"\x00" * 40),  # a zip
        ("photo.avif", b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"),
    ],
    ids=["prose", "no-separator", "control-bytes", "c1-bytes", "gif", "zip", "avif"],
)
def test_content_that_is_not_allowed_is_415(world, media_root, name, content):
    response = post_file(world, world.member, name, content)
    assert_error(response, 415, "unsupported_media_type")
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_text_renamed_pdf_is_415(world):
    data = {"file": upload("invoice.pdf", b"hello world\n", declared="application/pdf")}
    response = client_for(world.member).post(url(world), data, format="multipart")
    assert_error(response, 415, "unsupported_media_type")


def test_json_body_is_415(world):
    response = client_for(world.member).post(url(world), {"file": "x"}, format="json")
    assert_error(response, 415, "unsupported_media_type")


# --- Size limits ----------------------------------------------------------------------------------
def test_over_a_small_limit_is_413(world, settings, media_root):
    settings.KORE_ATTACHMENT_MAX_BYTES = 1024
    response = post_file(world, world.member, "big.pdf", pdf_bytes(pad_to=2048))
    error = assert_error(response, 413, "request_too_large")
    assert "1024" in error["message"]
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_two_megabytes_over_a_one_megabyte_limit_is_413(world, settings, media_root):
    """A real over-limit body: refused by its Content-Length before it is read."""
    settings.KORE_ATTACHMENT_MAX_BYTES = MB
    response = post_file(world, world.member, "big.pdf", pdf_bytes(pad_to=2 * MB))
    assert_error(response, 413, "request_too_large")
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_one_byte_over_is_stopped_while_streaming(world, settings, media_root):
    """The Content-Length leaves room for multipart framing; the streamed count catches it."""
    settings.KORE_ATTACHMENT_MAX_BYTES = MB
    response = post_file(world, world.member, "big.pdf", pdf_bytes(pad_to=MB + 1))
    assert_error(response, 413, "request_too_large")
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_exactly_the_limit_is_accepted(world, settings):
    settings.KORE_ATTACHMENT_MAX_BYTES = MB
    response = post_file(world, world.member, "big.pdf", pdf_bytes(pad_to=MB))
    assert response.status_code == 201, response.content
    assert response.json()["size"] == MB


def test_sixty_megabytes_is_413_with_the_default_limit(world, settings, media_root):
    """A 60 MB upload against the default 50 MB: refused up front, nothing written to disk."""
    assert settings.KORE_ATTACHMENT_MAX_BYTES == 50 * MB
    response = post_file(world, world.member, "huge.pdf", pdf_bytes(pad_to=60 * MB))
    error = assert_error(response, 413, "request_too_large")
    assert response["Content-Type"] == "application/json"
    assert str(50 * MB) in error["message"]
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


# --- Duplicates and transactions ------------------------------------------------------------------
def test_same_bytes_twice_is_409_with_the_existing_id(world, media_root):
    first = post_file(world, world.member, "a.pdf", pdf_bytes())
    assert first.status_code == 201
    existing = first.json()["id"]
    again = post_file(world, world.admin, "renamed.pdf", pdf_bytes())
    error = assert_error(again, 409, "attachment_duplicate")
    assert str(existing) in error["message"]
    assert error["fields"]["file"][0]["code"] == "attachment_duplicate"
    assert str(existing) in error["fields"]["file"][0]["message"]
    assert Attachment.objects.count() == 1
    assert len(stored_files(media_root)) == 1


def test_another_organisation_may_hold_the_same_file(world):
    assert post_file(world, world.member, "a.pdf", pdf_bytes()).status_code == 201
    other = client_for(world.outsider).post(
        f"/api/v1/orgs/{world.other_org.slug}/attachments/",
        {"file": upload("a.pdf", pdf_bytes())},
        format="multipart",
    )
    assert other.status_code == 201, other.content
    assert Attachment.objects.filter(sha256=hashlib.sha256(pdf_bytes()).hexdigest()).count() == 2


def test_link_to_a_transaction(world):
    tx = TransactionFactory(account=AccountFactory(organization=world.org))
    response = post_file(world, world.member, "r.pdf", pdf_bytes(), transaction=str(tx.pk))
    assert response.status_code == 201, response.content
    assert response.json()["transaction"] == tx.pk
    assert list(tx.attachments.values_list("pk", flat=True)) == [response.json()["id"]]


def test_empty_transaction_means_none(world):
    response = post_file(world, world.member, "r.pdf", pdf_bytes(), transaction="")
    assert response.status_code == 201, response.content
    assert response.json()["transaction"] is None


@pytest.mark.parametrize("whose", ["other_org", "missing", "deleted"])
def test_transaction_outside_the_organisation_is_422_not_found(world, media_root, whose):
    if whose == "other_org":
        tx_id = TransactionFactory(account=AccountFactory(organization=world.other_org)).pk
    elif whose == "deleted":
        from django.utils import timezone

        tx = TransactionFactory(account=AccountFactory(organization=world.org))
        tx.deleted_at = timezone.now()
        tx.save()
        tx_id = tx.pk
    else:
        tx_id = 999_999_999
    response = post_file(world, world.member, "r.pdf", pdf_bytes(), transaction=str(tx_id))
    error = assert_error(response, 422, "invalid_reference")
    assert error["fields"]["transaction"][0]["code"] == "not_found"
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_idempotent_retry_replays_the_first_upload(world, media_root):
    api = client_for(world.member)
    key = {"HTTP_IDEMPOTENCY_KEY": "upload-1"}
    responses = [
        api.post(url(world), {"file": upload("r.pdf", pdf_bytes())}, format="multipart", **key)
        for _ in range(2)
    ]
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[1]["Idempotent-Replayed"] == "true"
    assert responses[0].json() == responses[1].json()
    assert Attachment.objects.count() == 1
    assert len(stored_files(media_root)) == 1


# --- Shape ----------------------------------------------------------------------------------------
def test_missing_file_is_400(world):
    response = client_for(world.member).post(url(world), {"transaction": "1"}, format="multipart")
    error = assert_error(response, 400)
    assert error["fields"]["file"][0]["code"] == "required"


def test_file_as_a_plain_field_is_400(world):
    response = client_for(world.member).post(url(world), {"file": "abc"}, format="multipart")
    error = assert_error(response, 400)
    assert "file" in error["fields"]


def test_unknown_field_is_400(world):
    response = post_file(world, world.member, "r.pdf", pdf_bytes(), colour="red")
    error = assert_error(response, 400, "unknown_field")
    assert "colour" in error["fields"]


def test_transaction_not_an_id_is_400(world):
    response = post_file(world, world.member, "r.pdf", pdf_bytes(), transaction="abc")
    error = assert_error(response, 400)
    assert "transaction" in error["fields"]


def test_two_files_at_once_is_400(world):
    data = {"file": [upload("a.pdf", pdf_bytes(b"a")), upload("b.pdf", pdf_bytes(b"b"))]}
    response = client_for(world.member).post(url(world), data, format="multipart")
    assert_error(response, 400)
    assert not Attachment.objects.exists()


def test_empty_file_is_refused(world):
    response = post_file(world, world.member, "empty.pdf", b"")
    error = assert_error(response, 422)
    assert error["fields"]["file"][0]["code"] == "empty"


# --- Who may -------------------------------------------------------------------------------------
def test_viewer_cannot_upload(world, media_root):
    response = post_file(world, world.viewer, "r.pdf", pdf_bytes())
    assert_error(response, 403, "permission_denied")
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_unauthenticated_is_401(world):
    response = client_for(None).post(
        url(world), {"file": upload("r.pdf", pdf_bytes())}, format="multipart"
    )
    assert_error(response, 401, "not_authenticated")
    assert_error(client_for(None).get(url(world)), 401, "not_authenticated")


def test_other_organisation_is_404(world):
    assert_other_org_is_404(world.outsider, "get", url(world))
    assert_other_org_is_404(world.outsider, "post", url(world), {"file": "x"})
    response = client_for(world.outsider).post(
        url(world), {"file": upload("r.pdf", pdf_bytes())}, format="multipart"
    )
    assert_error(response, 404, "not_found")
    assert not Attachment.objects.exists()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_wrong_method_is_405(world, method):
    response = getattr(client_for(world.member), method)(url(world))
    assert_error(response, 405, "method_not_allowed")


# --- Listing --------------------------------------------------------------------------------------
def test_list_is_newest_first_and_viewers_can_read(world):
    tx = TransactionFactory(account=AccountFactory(organization=world.org))
    ids = [
        post_file(world, world.member, f"{i}.pdf", pdf_bytes(str(i).encode())).json()["id"]
        for i in range(3)
    ]
    linked = post_file(world, world.member, "l.pdf", pdf_bytes(b"l"), transaction=str(tx.pk))
    post_file_other = client_for(world.outsider).post(
        f"/api/v1/orgs/{world.other_org.slug}/attachments/",
        {"file": upload("x.pdf", pdf_bytes(b"x"))},
        format="multipart",
    )
    assert post_file_other.status_code == 201
    response = client_for(world.viewer).get(url(world))
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["id"] for r in body["results"]] == [linked.json()["id"], *reversed(ids)]
    assert body["next_cursor"] is None
    only = client_for(world.viewer).get(url(world), {"transaction": tx.pk}).json()
    assert [r["id"] for r in only["results"]] == [linked.json()["id"]]


def test_list_pages_with_a_cursor(world):
    ids = [
        post_file(world, world.member, f"{i}.pdf", pdf_bytes(str(i).encode())).json()["id"]
        for i in range(5)
    ]
    api = client_for(world.member)
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = api.get(url(world), params).json()
        seen += [r["id"] for r in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    assert_error(api.get(url(world), {"cursor": "forged"}), 400, "invalid_cursor")
    assert_error(api.get(url(world), {"limit": 501}), 422, "limit_out_of_range")
