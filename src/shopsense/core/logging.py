"""Logging set-up for shopsense: stdlib ``logging`` with personal data masked in every record.

:func:`configure_logging` installs :class:`PiiMaskingFilter` on the root logger's handlers. A filter
on a *handler* sees every record that reaches it, including records propagated from child loggers
(a filter on a logger would only see records logged on that very logger).
"""

from __future__ import annotations

import logging
import sys
from typing import IO

from shopsense.core.pii import mask_pii

DEFAULT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_HANDLER_FLAG = "_shopsense_handler"


class PiiMaskingFilter(logging.Filter):
    """Masks e-mails, phone numbers, card numbers, ID numbers and addresses in log records.

    The message is formatted with its arguments first (so a personal value passed as an argument is
    masked too), then ``record.msg`` becomes the masked text and ``record.args`` is emptied. The text of
    an attached exception and of a stack trace is masked as well. The filter never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_pii_masked", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: mask what there is, let logging report the rest
            message = f"{record.msg} {record.args}"
        record.msg = mask_pii(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_pii(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_pii(record.stack_info)
        record._pii_masked = True
        return True


def configure_logging(level: str | int = "INFO", stream: IO[str] | None = None,
                      fmt: str = DEFAULT_FORMAT) -> logging.Logger:
    """Configure the root logger once: a stream handler (stderr by default) and PII masking everywhere.

    Calling it again updates the level (and the stream, when given) instead of adding handlers. Every
    handler already on the root logger gets the masking filter too. Returns the root logger.
    """
    root = logging.getLogger()
    if isinstance(level, str):
        resolved = logging.getLevelName(level.upper())
        if not isinstance(resolved, int):
            raise ValueError(f"unknown log level {level!r}; use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        level = resolved
    root.setLevel(level)
    ours = next((h for h in root.handlers if getattr(h, _HANDLER_FLAG, False)), None)
    if ours is None:
        ours = logging.StreamHandler(stream or sys.stderr)
        setattr(ours, _HANDLER_FLAG, True)
        root.addHandler(ours)
    elif stream is not None and isinstance(ours, logging.StreamHandler):
        ours.setStream(stream)
    ours.setFormatter(logging.Formatter(fmt))
    for handler in root.handlers:
        if not any(isinstance(f, PiiMaskingFilter) for f in handler.filters):
            handler.addFilter(PiiMaskingFilter())
    return root
