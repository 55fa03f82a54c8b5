"""Logging filters (issue 14, walk29 F8)."""

from __future__ import annotations

import logging


class WithoutTraceback(logging.Filter):
    """A record on one line: Django logs each SuspiciousOperation (``django.security.*``: a
    refused ``?_to_field=password`` in admin, a bad Host header) with its whole traceback
    — 26 probes wrote 26 tracebacks into the log operators read for real errors. The
    message names the refusal; the traceback adds nothing, since the request was refused
    with a 400 as designed."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = record.exc_text = record.stack_info = None
        return True


class ClientErrorWithoutTraceback(WithoutTraceback):
    """``django.request``'s refusals on one line (walk31 F8): a 403 (a staff member without
    the permission) or a 404 was logged with the whole traceback of the PermissionDenied or
    Http404 the view raised as designed. A server error (5xx) keeps its traceback: that is
    the one operators need."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            return super().filter(record)
        return True
