"""Keeping secrets out of the logs: a logging filter that rewrites bearer tokens, API keys, JWTs, passwords
in URLs and ``password=...``-style values before a record is written.

``install_log_redaction()`` puts it on every handler of the root logger and of uvicorn's loggers (the
access log prints request lines, whose query strings may carry a key); add ``RedactSecrets()`` to any
handler configured later.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[REDACTED]"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)(\s+|%20)[A-Za-z0-9\-._~+/%]+=*"), rf"\1\2{REDACTED}"),
    (re.compile(r"crmhub_[A-Za-z0-9_\-]{8,}"), f"crmhub_{REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), REDACTED),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^:/@\s]+:)[^@\s]+@"), rf"\1{REDACTED}@"),
    (
        re.compile(
            r"(?i)\b(password|passwd|pwd|secret|client_secret|api[_-]?key|access_token|refresh_token|token|"
            r"authorization)(\"?'?\s*[:=]\s*\"?'?)([^\s\"'&,;}]+)"
        ),
        rf"\1\2{REDACTED}",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites the record's message and its exception text.

    A record without secrets is left as it is. One with secrets keeps its arguments, each redacted, when
    that removes every secret: formatters that read ``record.args`` themselves (uvicorn's access log takes
    its five fields from there) go on working. Only a secret made by the message and an argument together
    merges them into one redacted message.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = _redacted_parts(record, cleaned)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _redacted_parts(record: logging.LogRecord, cleaned: str) -> tuple[object, Any]:
    """The record's message and arguments with the secrets out: redacted one by one where that suffices,
    else ``cleaned`` (the whole message redacted) with no arguments."""
    args = record.args
    if isinstance(args, tuple) and args and isinstance(record.msg, str):
        msg = redact(record.msg)
        parts = tuple(redact(arg) if isinstance(arg, str) else arg for arg in args)
        try:
            formatted = msg % parts
        except (TypeError, ValueError):
            formatted = None
        if formatted is not None and redact(formatted) == formatted:
            return msg, parts
    return cleaned, None


LOGGERS = ("", "uvicorn", "uvicorn.access", "uvicorn.error", "crmhub")


def install_log_redaction(loggers: tuple[str, ...] = LOGGERS) -> None:
    """Add the filter to every handler of ``loggers`` that lacks it (idempotent)."""
    for name in loggers:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())
