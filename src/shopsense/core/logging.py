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

    The format and each argument are masked in place, so formatters that read ``record.args`` (uvicorn's
    access log does) keep working; if the formatted message still holds personal data (a value split
    between the format and an argument), the record becomes the masked text with no arguments. The text of
    an attached exception and of a stack trace is masked as well. The filter never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_pii_masked", False):
            return True
        record.msg = mask_pii(record.msg) if isinstance(record.msg, str) else record.msg
        if isinstance(record.args, tuple):
            record.args = tuple(_masked_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _masked_arg(v) for k, v in record.args.items()}
        try:  # a value split across the format and an argument: mask the whole message too
            message = record.getMessage()
        except Exception:  # a broken format string: mask what there is, let logging report the rest
            message = f"{record.msg} {record.args}"
        masked = mask_pii(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_pii(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_pii(record.stack_info)
        record._pii_masked = True
        return True


def _masked_arg(value: object) -> object:
    """An argument with personal data masked; numbers stay numbers (a ``%d`` must still format)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_pii(value if isinstance(value, str) else str(value))


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


SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "gunicorn.access", "shopsense")


def install_pii_filter(names: tuple[str, ...] = SERVER_LOGGERS) -> None:
    """Mask personal data on every handler of the root logger and of the server's loggers (uvicorn sets up
    its own handlers, which do not pass through the root's). Idempotent; call it once the server's logging
    is configured."""
    for logger in (logging.getLogger(), *(logging.getLogger(n) for n in names)):
        for handler in logger.handlers:
            if not any(isinstance(f, PiiMaskingFilter) for f in handler.filters):
                handler.addFilter(PiiMaskingFilter())
