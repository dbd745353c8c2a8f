"""``shopsense insights``: JSON and tables, alerts, the audit, the PNG chart, and clean errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from shopsense.cli import app

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["insights", *args])


def test_insights_json(marketing_workspace, opinions) -> None:
    result = _run("--home", str(marketing_workspace.home), "--json", "--top", "4", "--alerts")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["scope"] == "all reviews" and len(body["aspects"]) == 4
    assert body["aspects"][0]["aspect"] == opinions.aspect_table()["aspect"].iloc[0]
    assert body["alerts"] == []


def test_insights_tables_audit_and_chart(marketing_workspace, opinions, tmp_path) -> None:
    item = opinions.mentions["item_id"].value_counts().index[0]
    chart = tmp_path / "charts" / "trend.png"
    result = _run("--home", str(marketing_workspace.home), "--item", item, "--audit", "--chart", str(chart))
    assert result.exit_code == 0, result.output
    assert "top praised" in result.stdout and "description audit" in result.stdout
    assert chart.read_bytes()[:4] == b"\x89PNG"
    brand = _run("--home", str(marketing_workspace.home), "--by", "brand", "--top", "3")
    assert brand.exit_code == 0 and "brand" in brand.stdout


def test_insights_bad_options_fail_cleanly(marketing_workspace) -> None:
    home = str(marketing_workspace.home)
    for args, message in ((["--by", "colour"], "--by must be"), (["--freq", "D"], "--freq must be"),
                          (["--since", "someday"], "--since: not a date"), (["--item", "nope"], "unknown item")):
        result = _run("--home", home, *args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_insights_on_an_empty_workspace(tmp_path) -> None:
    result = _run("--home", str(tmp_path / "empty"))
    assert result.exit_code == 1 and "no workspace at" in result.output
    assert "shopsense import DIR" in result.output
    assert not (tmp_path / "empty").exists()  # a read-only command creates nothing
