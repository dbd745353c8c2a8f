"""The logging filter: personal data never reaches a log line, whatever path it takes."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from shopsense.core.logging import PiiMaskingFilter, configure_logging


@pytest.fixture
def clean_root() -> Iterator[logging.Logger]:
    """Restore the root logger's handlers and level after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    filters = {h: list(h.filters) for h in handlers}
    yield root
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        handler.filters[:] = filters[handler]
    root.setLevel(level)


def test_logged_personal_data_never_appears(clean_root: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    log = logging.getLogger("shopsense.some.module")  # a child logger: records propagate to the root
    log.info("order from john.smith@example.com")
    log.warning("call back %s about card %s", "+44 20 7946 0958", "4111 1111 1111 1111")
    log.debug("地址 %(addr)s 手机 %(phone)s", {"addr": "北京市朝阳区建国路88号", "phone": "13800138000"})
    log.info("user %s rated %d stars on %s", "u123", 5, "2019-05-01")
    out = stream.getvalue()
    for secret in ("john.smith@example.com", "7946 0958", "4111 1111", "建国路88号", "13800138000"):
        assert secret not in out
    assert "order from [EMAIL]" in out
    assert "call back [PHONE] about card [CARD]" in out
    assert "地址 [ADDRESS] 手机 [PHONE]" in out
    assert "user u123 rated 5 stars on 2019-05-01" in out  # ordinary values are untouched


def test_exceptions_and_stacks_are_masked(clean_root: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        raise ValueError("could not reach jane@shop.example at 555-123-4567")
    except ValueError:
        logging.getLogger("shopsense.test").exception("import failed for %s", "jane@shop.example")
    logging.getLogger("shopsense.test").info("with stack", stack_info=True)
    out = stream.getvalue()
    assert "jane@shop.example" not in out and "555-123-4567" not in out
    assert "ValueError: could not reach [EMAIL] at [PHONE]" in out
    assert "Stack (most recent call last)" in out


def test_configure_is_idempotent_and_covers_existing_handlers(clean_root: logging.Logger) -> None:
    other = io.StringIO()
    existing = logging.StreamHandler(other)
    clean_root.addHandler(existing)
    first = io.StringIO()
    configure_logging("INFO", stream=first)
    second = io.StringIO()
    configure_logging("WARNING", stream=second)
    ours = [h for h in clean_root.handlers if getattr(h, "_shopsense_handler", False)]
    assert len(ours) == 1
    assert sum(isinstance(f, PiiMaskingFilter) for f in existing.filters) == 1
    logging.getLogger("x").info("hidden at WARNING level")
    logging.getLogger("x").warning("mail bob@example.org")
    assert first.getvalue() == ""
    assert "mail [EMAIL]" in second.getvalue()
    assert "bob@example.org" not in other.getvalue() and "mail [EMAIL]" in other.getvalue()
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("LOUD")


def test_filter_directly() -> None:
    record = logging.LogRecord("n", logging.INFO, __file__, 1, "to %s", ("a@b.com",), None)
    assert PiiMaskingFilter().filter(record) is True
    assert record.getMessage() == "to [EMAIL]"
