"""Store-directory loading: every problem found at its exact file:line:column, valid data kept intact."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopsense.core.loaders import StoreDataError, load_store_dir, load_store_dir_strict, read_table
from shopsense.core.records import INTERACTION_EVENTS, TABLE_COLUMNS
from shopsense.core.validation import ValidationReport, format_problem

DATA = Path(__file__).resolve().parents[1] / "data"
GOOD, BROKEN = DATA / "good_store", DATA / "broken"
ITEMS = "item_id,title\ni1,Kite\ni2,Train\n"


def where(report: ValidationReport) -> set[tuple]:
    return {(p.file, p.line, p.column, p.reason, p.severity) for p in report.problems}


def accounted(report: ValidationReport, store) -> None:
    """Nothing silently dropped: every row read is kept or rejected, and every rejection has a reason."""
    for name, t in report.tables.items():
        assert t.rows_read == t.rows_kept + t.rows_rejected, name
        assert sum(t.reasons.values()) == t.rows_rejected, name
        if name != "policies" and name != "faq":
            assert len(store.table(name)) == t.rows_kept, name


def make_store(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root


# ------------------------------------------------------------------------------------------ broken store
def test_broken_store_reports_every_problem_at_its_file_and_line() -> None:
    result = load_store_dir(BROKEN)
    assert not result.report.ok
    assert where(result.report) == {
        ("faq.csv", 3, "question", "not UTF-8", "error"),
        ("interactions.csv", 3, "timestamp", "bad timestamp", "error"),
        ("interactions.csv", 4, "item_id", "unknown item", "error"),
        ("interactions.csv", 7, "item_id", "unknown item", "error"),
        ("interactions.csv", 8, None, "malformed line", "error"),
        ("items.csv", 7, "item_id", "duplicate id", "error"),
        ("items.csv", 8, "price", "bad price", "error"),
        ("orders.csv", 1, "status", "missing column", "error"),
        ("policies/shipping.md", 3, None, "empty section", "warning"),
        ("reviews.jsonl", 2, "rating", "bad rating", "error"),
        ("reviews.jsonl", 3, "rating", "bad rating", "error"),
        ("reviews.jsonl", 4, "timestamp", "bad timestamp", "error"),
        ("reviews.jsonl", 5, None, "malformed line", "error"),
        ("stock.tsv", None, None, "unknown file", "warning"),
        ("users.csv", None, None, "empty file", "error"),
    }
    accounted(result.report, result.store)


def test_broken_store_messages_say_what_is_wrong() -> None:
    text = "\n".join(format_problem(p) for p in load_store_dir(BROKEN).report.problems)
    for expected in ("items.csv:7:item_id: duplicate item_id 'i1': already used on line 2",
                     "items.csv:8:price: price '£20' is not a number",
                     "interactions.csv:4:item_id: item_id 'i9' is not in items.csv",
                     "interactions.csv:7:item_id: item_id 'i4' names an item that was rejected (items.csv:8)",
                     "interactions.csv:8: expected 5 fields, found 3 (truncated line?)",
                     "reviews.jsonl:2:rating: rating 7 is outside 1-5",
                     "reviews.jsonl:3:rating: rating 'five' is not a number 1-5",
                     "orders.csv:1:status: missing required column 'status'",
                     "users.csv: file is empty (0 bytes)"):
        assert expected in text


def test_latin1_file_is_reported_with_byte_offset_and_never_guessed() -> None:
    data = (BROKEN / "faq.csv").read_bytes()
    result = load_store_dir(BROKEN)
    (p,) = [p for p in result.report.problems if p.file == "faq.csv"]
    offset = data.index(b"\xf9")
    assert f"byte 0xF9 at byte offset {offset} (line 3," in p.message
    assert "re-encode" in p.message and "UTF-8" in p.message
    faq = result.store.faq
    assert list(faq.loc[faq["source"] == "faq.csv", "faq_id"]) == ["f1", "f3"]  # the clean rows are kept
    assert not faq["question"].str.contains("\udcf9|Où").any()


def test_broken_store_keeps_the_valid_rows() -> None:
    store = load_store_dir(BROKEN).store
    assert list(store.items["item_id"]) == ["i1", "i2", "007", "i3"]
    assert store.items["description"].iat[0] == "A train\nwith three carriages"
    assert store.items["description"].iat[2] == '1000 pieces, "hard"'
    assert list(store.interactions["item_id"]) == ["i1", "i3", "007"]
    assert list(store.reviews["review_id"]) == ["r1"]
    assert store.orders.empty and store.users.empty


def test_strict_loader_raises_with_the_first_problems() -> None:
    with pytest.raises(StoreDataError) as err:
        load_store_dir_strict(BROKEN, max_problems=3)
    assert "13 error(s)" in str(err.value) and "... and 10 more errors" in str(err.value)
    assert "faq.csv:3:question:" in str(err.value)
    assert len(err.value.report.errors) == 13
    assert load_store_dir_strict(GOOD).counts()["items"] == 10


# ------------------------------------------------------------------------------------------ good store
def test_good_store_loads_with_canonical_dtypes_and_counts() -> None:
    result = load_store_dir(GOOD)
    assert result.report.problems == []
    store = result.store
    assert store.counts() == {"items": 10, "interactions": 12, "reviews": 5, "faq": 6, "orders": 5,
                              "users": 5}
    accounted(result.report, store)
    for name in store.TABLES:
        assert list(store.table(name).columns[: len(TABLE_COLUMNS[name])]) == list(TABLE_COLUMNS[name])
    items = store.items.set_index("item_id")
    assert items.index[0] == "007"  # ids stay text
    assert items.loc["007", "description"] == "A 500-piece jigsaw with a spy map.\nFinished size 48 x 34 cm."
    assert items["price"].dtype == "float64" and pd.isna(items.loc["toy-005", "price"])
    assert items.loc["toy-003", "price"] == 8.0
    assert items.loc["007", "attributes"] == {"pieces": 500, "min_age_months": 96}
    assert items.loc["toy-003", "attributes"] == {}
    assert items.loc["007", "stock"] == "14"  # extra column kept as written
    inter = store.interactions
    assert str(inter["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert inter["timestamp"].iat[2] == pd.Timestamp("2024-01-06T08:00:00Z")  # +01:00 converted
    assert inter["timestamp"].iat[3] == pd.Timestamp(1704540000, unit="s", tz="UTC")
    assert inter["timestamp"].iat[5] == pd.Timestamp("2024-01-07T12:30:00Z")  # no offset means UTC
    assert inter["timestamp"].iat[11] == pd.Timestamp(1704900000.5, unit="s", tz="UTC")
    assert list(inter["event"].iloc[3:8]) == ["cart", "purchase", "click", "rating", "view"]
    assert inter["value"].iat[6] == 4.0 and inter["value"].isna().sum() == 11


def test_good_store_reviews_faq_policies_and_users() -> None:
    store = load_store_dir(GOOD).store
    reviews = store.reviews
    assert reviews["rating"].dtype == "int64" and list(reviews["rating"]) == [5, 4, 3, 1, 2]
    generated = reviews["review_id"].iat[2]  # it had none: a stable id from its content
    assert generated.startswith("rev-")
    assert generated == load_store_dir(GOOD).store.reviews["review_id"].iat[2]
    assert reviews["timestamp"].iat[1] == pd.Timestamp(1705000000, unit="s", tz="UTC")
    assert pd.isna(reviews["timestamp"].iat[4])
    assert list(reviews["verified"].iloc[[0, 3]]) == [True, False]  # JSON extra column, native types
    assert len(store.all_interactions()) == 12 + 5
    faq = store.faq.set_index("faq_id")
    assert faq.loc["faq-2", "answer"] == "Yes, until the order is dispatched:\nAccount settings > Addresses."
    assert set(faq.loc[faq["source"] == "faq.csv"].index) >= {"faq-1", "faq-2"}
    policy = faq[faq["source"] == "returns.md"]
    assert list(policy["question"]) == ["Returns and refunds", "How do I return an item?",
                                        "When do I get my money back?"]
    assert policy["answer"].iat[2].startswith("Refunds reach the original payment method")
    assert (policy["category"] == "Returns and refunds").all()
    assert list(store.orders.columns[:6]) == list(TABLE_COLUMNS["orders"])
    assert store.users["country"].tolist() == ["UK", "UK", "IE", "UK", "FR"]


def _write_format(store, root: Path, fmt: str) -> None:
    for name in store.TABLES:
        frame = store.table(name).copy()
        if name == "faq":
            frame = frame[frame["source"] == "faq.csv"]
        if fmt == "parquet":
            if name == "items":
                frame["attributes"] = frame["attributes"].map(json.dumps)
            frame.to_parquet(root / f"{name}.parquet", index=False)
        else:
            frame.to_json(root / f"{name}.jsonl", orient="records", lines=True, date_format="iso",
                          force_ascii=False)
    shutil.copytree(GOOD / "policies", root / "policies")


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_parquet_and_jsonl_stores_load_the_same_tables(fmt: str, tmp_path: Path) -> None:
    reference = load_store_dir(GOOD).store
    _write_format(reference, tmp_path, fmt)
    result = load_store_dir(tmp_path)
    assert result.report.problems == []
    for name in reference.TABLES:
        got, want = result.store.table(name), reference.table(name)
        cols = list(TABLE_COLUMNS[name])
        pd.testing.assert_frame_equal(got[cols], want[cols], check_dtype=True)
    assert result.store.items["stock"].tolist() == reference.items["stock"].tolist()


def test_parquet_typed_ids_and_bad_rows_are_located_by_row(tmp_path: Path) -> None:
    pd.DataFrame({"item_id": [7, 8], "title": ["Kite", "Train"]}).to_parquet(tmp_path / "items.parquet")
    pd.DataFrame({"user_id": [1, 2, 3], "item_id": [7, 8, 9], "rating": [5, 9, 4],
                  "text": ["ok", "no", "hm"]}).to_parquet(tmp_path / "reviews.parquet")
    result = load_store_dir(tmp_path)
    assert result.store.items["item_id"].tolist() == ["7", "8"]
    assert result.store.reviews["user_id"].tolist() == ["1"]
    texts = sorted(format_problem(p) for p in result.report.problems)
    assert texts == ["reviews.parquet:row 2:rating: rating 9 is outside 1-5",
                     "reviews.parquet:row 3:item_id: item_id '9' is not in items.parquet"]


# ------------------------------------------------------------------------------------------ one problem each
INTER = "interactions.csv"
CASES = {
    "unterminated quote": ({"items.csv": 'item_id,title\ni1,ok\ni2,"never closed\nmore\n'},
                           "items.csv", 3, None, "unterminated quoted field starting on line 3"),
    "after multi-line field": ({"items.csv": 'item_id,title,price\ni1,"a\nb\nc",1\ni2,x,-3\n'},
                               "items.csv", 5, "price", "price -3 is negative"),
    "crlf": ({"items.csv": "item_id,title,price\r\ni1,a,1\r\ni2,b,x\r\n"}, "items.csv", 3, "price", "'x'"),
    "lone carriage return": ({"items.csv": "item_id,title\ni1,a\rb\n"}, "items.csv", 2, None,
                             "carriage return"),
    "blank lines": ({"items.csv": "item_id,title,price\n\ni1,a,1\n\n\ni2,b,x\n"}, "items.csv", 6, "price",
                    "'x'"),
    "utf-16": ({"items.csv": "item_id,title\ni1,a\n".encode("utf-16")}, "items.csv", 1, None, "UTF-16"),
    "header only items": ({"items.csv": "item_id,title\n"}, "items.csv", 1, None, "no data rows"),
    "too many fields": ({"items.csv": "item_id,title\ni1,a,b\n"}, "items.csv", 2, None, "unquoted comma"),
    "bad attributes": ({"items.csv": 'item_id,title,attributes\ni1,a,"{""x"": 1"\n'}, "items.csv", 2,
                       "attributes", "not valid JSON"),
    "list attributes": ({"items.jsonl": '{"item_id": "i1", "title": "a", "attributes": [1]}\n'},
                        "items.jsonl", 1, "attributes", "must be a JSON object"),
    "blank title": ({"items.csv": "item_id,title\ni1,a\ni2, \n"}, "items.csv", 3, "title",
                    "'title' is blank"),
    "milliseconds": ({"items.csv": ITEMS, INTER: "user_id,item_id,timestamp\nu,i1,1704536400000\n"},
                     INTER, 2, "timestamp", "milliseconds"),
    "half star review": ({"items.csv": ITEMS, "reviews.csv": "user_id,item_id,rating,text\nu,i1,4.5,ok\n"},
                         "reviews.csv", 2, "rating", "not a whole number"),
    "unknown event": ({"items.csv": ITEMS, INTER: "user_id,item_id,timestamp,event\nu,i1,0,buy\n"},
                      INTER, 2, "event", "'buy' is not one of"),
    "not an item interaction": ({"items.csv": ITEMS, INTER: "user_id,item_id,timestamp,event\nu,i1,0,chat_feedback\n"},
                                INTER, 2, "event", "'chat_feedback' is not one of view, click, cart, purchase, rating"),
    "value not a number": ({"items.csv": ITEMS,
                            INTER: "user_id,item_id,timestamp,event,value\nu,i1,0,rating,good\n"},
                           INTER, 2, "value", "'good' is not a number"),
    "duplicate order line": ({"items.csv": ITEMS, "orders.csv": "order_id,user_id,item_id,status\n"
                              "o1,u,i1,new\no1,u,i2,new\no1,u,i1,paid\n"},
                             "orders.csv", 4, "order_id,item_id", "already used on line 2"),
    "same review twice": ({"items.csv": ITEMS,
                           "reviews.csv": "user_id,item_id,rating,text\nu,i1,5,ok\nu,i1,5,ok\n"},
                          "reviews.csv", 3, "review_id", "text as the review on line 2"),
    "latin-1 jsonl": ({"items.jsonl": '{"item_id": "i1", "title": "caf\xe9"}\n'.encode("latin-1")},
                      "items.jsonl", 1, None, "byte 0xE9 at byte offset 31"),
    "non-object jsonl": ({"items.jsonl": '{"item_id": "i1", "title": "a"}\n[1, 2]\n'}, "items.jsonl", 2, None,
                         "expected a JSON object"),
    "two formats": ({"items.csv": ITEMS, "items.jsonl": '{"item_id": "i1", "title": "a"}\n'},
                    "items.jsonl", None, None, "given twice"),
    "no items": ({INTER: "user_id,item_id,timestamp\nu,i1,0\n"}, "items", None, None, "required"),
    "column name case": ({"items.csv": "Item_ID,title\ni1,a\n"}, "items.csv", 1, "item_id",
                         "found 'Item_ID'"),
    "list as a price": ({"items.jsonl": '{"item_id": "i1", "title": "a", "price": [1]}\n'}, "items.jsonl", 1,
                        "price", "[1] is not a number"),
    "latin-1 policy": ({"items.csv": ITEMS,
                        "policies/returns.md": "## Retour\n\nGratuit \xe0 30 jours\n".encode("latin-1")},
                       "policies/returns.md", 3, None, "byte 0xE0"),
    "bad parquet": ({"items.parquet": b"PAR1 this is not parquet"}, "items.parquet", None, None, "parquet"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_problem_is_located(case: str, tmp_path: Path) -> None:
    files, file, line, column, fragment = CASES[case]
    result = load_store_dir(make_store(tmp_path, files))
    errors = [p for p in result.report.errors if (p.file, p.line, p.column) == (file, line, column)]
    assert errors, [format_problem(p) for p in result.report.problems]
    assert any(fragment in p.message for p in errors), [p.message for p in errors]
    accounted(result.report, result.store)


def test_bom_ids_and_optional_tables(tmp_path: Path) -> None:
    make_store(tmp_path, {"items.csv": b"\xef\xbb\xbfitem_id,title\r\n 0042 ,Kite\r\n",
                          "orders.csv": "order_id,user_id,item_id,status\n", "README.md": "notes",
                          "reviews.csv": "user_id,item_id,rating,text,title\nu1,0042,5,,Great\n"})
    result = load_store_dir(tmp_path)
    assert result.report.ok
    assert result.store.items["item_id"].tolist() == ["0042"]
    assert [(p.file, p.severity, p.message) for p in result.report.problems] == [
        ("orders.csv", "warning", "file has no data rows")]
    assert result.store.reviews["text"].tolist() == [""]  # a title-only review is a review


def test_unusable_items_table_skips_item_checks_with_a_warning(tmp_path: Path) -> None:
    make_store(tmp_path, {"items.csv": "item_id,name\ni1,Kite\n",
                          INTER: "user_id,item_id,timestamp\nu,i7,0\n"})
    result = load_store_dir(tmp_path)
    assert [(p.file, p.severity, p.reason) for p in result.report.problems] == [
        ("items", "warning", "not checked"), ("items.csv", "error", "missing column")]
    assert result.store.interactions["item_id"].tolist() == ["i7"]


def test_policy_files_become_faq_entries(tmp_path: Path) -> None:
    make_store(tmp_path, {"items.csv": ITEMS, "policies/gift-cards.md": "Gift cards never expire.\n",
                          "policies/delivery.md": "# Delivery\n\n## Do you ship abroad?\nNo.\n\n```\n"
                          "## not a heading\n```\n## Do you ship abroad?\nStill no.\n",
                          "policies/notes.txt": "ignored"})
    result = load_store_dir(tmp_path)
    faq = result.store.faq
    assert faq[["question", "source", "category"]].values.tolist() == [
        ["Do you ship abroad?", "delivery.md", "Delivery"], ["Gift cards", "gift-cards.md", "Gift cards"]]
    assert faq["answer"].tolist() == ["No.\n\n```\n## not a heading\n```", "Gift cards never expire."]
    assert [(p.file, p.line, p.reason) for p in result.report.problems if p.reason != "missing table"] == [
        ("policies/delivery.md", 9, "duplicate id"), ("policies/notes.txt", None, "unknown file")]
    assert result.report.tables["policies"].rows_rejected == 1


def test_header_oddities_are_warnings(tmp_path: Path) -> None:
    make_store(tmp_path, {"items.csv": "item_id,title,,title\ni1,a,x,b\n"})
    result = load_store_dir(tmp_path)
    assert [(p.line, p.column, p.severity) for p in result.report.problems if p.file == "items.csv"] == [
        (1, "unnamed_3", "warning"), (1, "title", "warning")]
    assert result.store.items[["title", "unnamed_3", "title_4"]].values.tolist() == [["a", "x", "b"]]


def test_missing_interactions_and_reviews_is_a_warning(tmp_path: Path) -> None:
    report = load_store_dir(make_store(tmp_path, {"items.csv": ITEMS})).report
    assert report.ok and [p.reason for p in report.warnings] == ["missing table"]


def test_read_table_reads_one_file_without_cross_checks() -> None:
    frame, problems = read_table(BROKEN / "interactions.csv", "interactions")
    assert frame["item_id"].tolist() == ["i1", "i9", "i3", "007", "i4"]  # unknown items need the store
    assert [(p.line, p.reason) for p in problems] == [(8, "malformed line"), (3, "bad timestamp")]
    with pytest.raises(ValueError, match="unknown table"):
        read_table(BROKEN / "items.csv", "products")


def test_not_a_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_store_dir(tmp_path / "missing")
    with pytest.raises(NotADirectoryError):
        load_store_dir(make_store(tmp_path, {"items.csv": ITEMS}) / "items.csv")


# ------------------------------------------------------------------------------------------ generated rows
_ID = st.text(alphabet="abcXYZ0123456789-_,\"' é中", min_size=1, max_size=8).filter(lambda s: s.strip() == s)
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
                max_size=30).filter(lambda s: s.strip())


def _csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # with "\n" alone csv leaves a lone "\r" unquoted
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(st.tuples(_ID, _TEXT), max_size=15, unique_by=lambda t: t[0]),
       picks=st.lists(st.tuples(_ID, st.integers(0, 60), st.integers(0, 2_000_000_000),
                                st.sampled_from(("", *INTERACTION_EVENTS)), st.booleans()), max_size=40))
def test_valid_generated_rows_round_trip(items: list[tuple[str, str]], picks: list[tuple]) -> None:
    item_ids = [i for i, _ in items]
    def stamp(ts: int, iso: bool) -> str:
        return datetime.fromtimestamp(ts, UTC).isoformat() if iso else str(ts)

    inter = [[user, item_ids[k % len(items)], stamp(ts, iso), event] for user, k, ts, event, iso in picks] \
        if items else []
    text = _csv(["item_id", "title", "price"], [[i, t, "1.5"] for i, t in items])
    bad_line = text.count("\n") + 1  # where an appended bad row must be reported, multi-line titles and all
    with tempfile.TemporaryDirectory() as tmp:
        root = make_store(Path(tmp), {"items.csv": text + "bad-item,Bad,NaN-ish\n",
                                      INTER: _csv(["user_id", "item_id", "timestamp", "event"], inter)})
        result = load_store_dir(root)
    assert [(p.file, p.line, p.column) for p in result.report.errors] == [("items.csv", bad_line, "price")]
    store = result.store
    assert store.items["item_id"].tolist() == item_ids
    assert store.items["title"].tolist() == [t for _, t in items]
    assert len(store.interactions) == len(inter)
    if inter:
        assert store.interactions["user_id"].tolist() == [r[0] for r in inter]
        want = [pd.Timestamp(p[2], unit="s", tz="UTC") for p in picks]
        assert store.interactions["timestamp"].tolist() == want
        assert store.interactions["event"].tolist() == [e or "purchase" for _, _, _, e, _ in picks]
    accounted(result.report, store)


# ------------------------------------------------------------------------------------------ real data
def test_real_catalog_with_multiline_fields(shared_data: Path, tmp_path: Path) -> None:
    """First 300 toys of the real catalog (customer_reviews spans many lines) with one planted bad price."""
    with open(shared_data / "amazon-uk-toys-catalog" / "toys_uk_863.csv", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        rename = {"product_id": "item_id", "product_name": "title"}
        header = [rename.get(h, h) for h in next(reader)]
        records = [next(reader) for _ in range(300)]
    price = header.index("price")
    records[250][price] = "about a fiver"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    starts = []
    for record in records:
        starts.append(out.getvalue().count("\n") + 1)
        writer.writerow(record)
    assert starts[-1] > 1000  # the multi-line fields really are there
    (tmp_path / "items.csv").write_text(out.getvalue(), encoding="utf-8")
    result = load_store_dir(tmp_path)
    assert [(p.file, p.line, p.column) for p in result.report.errors] == [("items.csv", starts[250], "price")]
    items = result.store.items
    assert len(items) == 299 and result.report.tables["items"].rows_read == 300
    kept = records[:250] + records[251:]
    assert items["item_id"].tolist() == [r[0] for r in kept]
    assert items["title"].tolist() == [r[1] for r in kept]
    assert items["customer_reviews"].tolist() == [r[header.index("customer_reviews")] for r in kept]
    assert items["price"].notna().sum() == sum(bool(r[price]) for r in kept)
