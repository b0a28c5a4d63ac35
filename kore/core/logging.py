import logging

from .request_id import get_request_id


class RequestIdFilter(logging.Filter):
    """Stamp each log record with the current request id ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_request_id()
        return True
