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
