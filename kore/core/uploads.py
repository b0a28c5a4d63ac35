"""Uploads streamed to disk and refused as soon as they are known to be too large."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from .exceptions import RequestTooLarge

# Room for the multipart wrapping (boundaries, part headers, small form fields) around the file.
MULTIPART_OVERHEAD = 64 * 1024


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    """Subclasses name the setting holding the limit and the error to raise past it."""

    limit_setting = ""
    too_large: Callable[[int], RequestTooLarge] = staticmethod(
        lambda limit: RequestTooLarge(f"The upload is larger than {limit} bytes.")
    )
    limit = 0
    received = 0

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        self.limit = int(getattr(settings, self.limit_setting))
        self.received = 0
        if content_length > self.limit + MULTIPART_OVERHEAD:
            raise self.too_large(self.limit)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.file.close()  # removes the partial temporary file
            raise self.too_large(self.limit)
        return super().receive_data_chunk(raw_data, start)
