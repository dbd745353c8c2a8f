"""``shopsense data check DIR``: summary, every problem as file:line, exit status, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from shopsense.cli.data import app

DATA = Path(__file__).resolve().parents[1] / "data"
GOOD, BROKEN = DATA / "good_store", DATA / "broken"
runner = CliRunner()

BROKEN_LOCATIONS = [
    "faq.csv:3:question:", "interactions.csv:3:timestamp:", "interactions.csv:4:item_id:",
    "interactions.csv:7:item_id:", "interactions.csv:8:", "items.csv:7:item_id:", "items.csv:8:price:",
    "orders.csv:1:status:", "policies/shipping.md:3:", "reviews.jsonl:2:rating:", "reviews.jsonl:3:rating:",
    "reviews.jsonl:4:timestamp:", "reviews.jsonl:5:", "stock.tsv:", "users.csv:",
]


def test_broken_directory_lists_every_problem_and_fails() -> None:
    result = runner.invoke(app, ["check", str(BROKEN)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    lines = result.output.splitlines()
    for location in BROKEN_LOCATIONS:
        assert any(location in line for line in lines), location
    assert "error: users.csv: file is empty (0 bytes)" in result.output
    assert "warning: stock.tsv: unknown file" in result.output
    assert "FAILED: 13 error(s), 2 warning(s)" in result.output
    for row in ("items", "interactions", "reviews", "faq", "orders", "users"):
        assert any(line.lstrip("│┃ ").startswith(row) for line in lines), row


def test_good_store_passes() -> None:
    result = runner.invoke(app, ["check", str(GOOD)])
    assert result.exit_code == 0, result.output
    assert "OK: 43 rows kept, 0 warning(s)" in result.output
    assert "error" not in result.output


def test_missing_directory_is_a_clean_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "store directory not found" in result.output and "Traceback" not in result.output
    (tmp_path / "file.csv").write_text("x\n")
    result = runner.invoke(app, ["check", str(tmp_path / "file.csv")])
    assert result.exit_code == 2 and "not a directory" in result.output


def test_json_report_has_all_problems_and_limit_shortens_the_listing(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "check.json"
    result = runner.invoke(app, ["check", str(BROKEN), "--json", str(out), "--limit", "2"])
    assert result.exit_code == 1
    assert "13 more problems not shown" in result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["ok"] is False and report["errors"] == 13 and report["warnings"] == 2
    assert {p["text"].split(": ")[0] for p in report["problems"]} >= {"faq.csv:3:question", "users.csv"}
    assert report["tables"]["interactions"]["reasons"] == {"unknown item": 2, "bad timestamp": 1,
                                                           "malformed line": 1}
    assert [p.name for p in out.parent.iterdir()] == ["check.json"]  # no temp file left behind


def test_installed_command_end_to_end() -> None:
    """The real entry point, in a fresh process: exit 1, problems on stdout, no traceback anywhere."""
    code = "import sys; from shopsense.cli import main; sys.argv = ['shopsense', *sys.argv[1:]]; main()"
    proc = subprocess.run([sys.executable, "-c", code, "data", "check", str(BROKEN)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "items.csv:8:price: price '£20' is not a number" in proc.stdout
