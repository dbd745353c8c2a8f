"""PII masking in English and Chinese: what must be masked, what must stay, and real data."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopsense.core.cleaning import clean_text
from shopsense.core.pii import cn_id_valid, find_pii, luhn_valid, mask_many, mask_pii, redact

# (text, masked text): every example in both languages, including the false-positive guards.
MASKED_EN = [
    ("Email me at john.smith@example.co.uk please", "Email me at [EMAIL] please"),
    ("contact: JANE_DOE+shop@mail-server.io.", "contact: [EMAIL]."),
    ("Call +44 20 7946 0958 today", "Call [PHONE] today"),
    ("Call +44 (0)20 7946 0958 today", "Call [PHONE] today"),
    ("US office (555) 123-4567 or 555-123-4567 or 555.123.4567", "US office [PHONE] or [PHONE] or [PHONE]"),
    ("ring me on 07700 900123", "ring me on [PHONE]"),
    ("landline 020 7946 0958 or 0161 496 0000", "landline [PHONE] or [PHONE]"),
    ("helpline for ROI 00 44 (0) 1843 604 448 Box", "helpline for ROI [PHONE] Box"),
    ("call +1 (555) 123-4567 now", "call [PHONE] now"),
    ("my phone number is 5551234567", "my phone number is [PHONE]"),
    ("card 4111 1111 1111 1111 exp 12/25", "card [CARD] exp 12/25"),
    ("paid with 4111111111111111.", "paid with [CARD]."),
    ("card 5500-0000-0000-0004 declined", "card [CARD] declined"),
    ("amex 3782 822463 10005", "amex [CARD]"),
    ("typo card 4111 1111 1111 1112", "typo card [CARD]"),  # card layout, masked although Luhn fails
    ("I live at 221B Baker Street, London NW1 6XE.", "I live at [ADDRESS]."),
    ("Office: 1600 Amphitheatre Parkway, Mountain View, CA 94043", "Office: [ADDRESS]"),
    ("Ship to 1600 Amphitheatre Parkway, Mountain View", "Ship to [ADDRESS]"),
    ("Shop at 12 High St for more", "Shop at [ADDRESS] for more"),
    ("Flat 3, 45 Queen's Road, Bristol, BS8 1QU", "[ADDRESS]"),
    ("postcode SW1A 1AA please", "postcode [ADDRESS] please"),
    ("Send to 350 5th Avenue, New York, NY 10118", "Send to [ADDRESS]"),
]
MASKED_ZH = [
    ("订单号:1442083355,电话13754900130,座机010-51236699,售后点02062316680",
     "订单号:1442083355,电话[PHONE],座机[PHONE],售后点[PHONE]"),
    ("有需要联系我13754900130", "有需要联系我[PHONE]"),
    ("手机:+86 138 0013 8000", "手机:[PHONE]"),
    ("号码 0086-13800138000 和 139-1234-5678", "号码 [PHONE] 和 [PHONE]"),
    ("客服热线(021)62345678转3037", "客服热线[PHONE]"),
    ("我住在北京市朝阳区建国路88号", "我住在[ADDRESS]"),
    ("公司在上海市浦东新区世纪大道100号", "公司在[ADDRESS]"),
    ("地址:广东省深圳市南山区科苑路15号3栋1201室,谢谢", "地址:[ADDRESS],谢谢"),
    ("拿去厦门市思明区湖滨东路61号华为售后服务修", "拿去[ADDRESS]华为售后服务修"),
    ("包装齐全 13774321320 李先生(上海赤峰路63号)", "包装齐全 [PHONE] 李先生([ADDRESS])"),
    ("还有登州路56号的青岛啤酒", "还有[ADDRESS]的青岛啤酒"),
    ("位于上海市羽山路166号(桃林路口)", "位于[ADDRESS](桃林路口)"),
    ("阳光花园3栋2单元501室", "[ADDRESS]"),
    ("寄到深圳市南山区向阳路88号3栋501室", "寄到[ADDRESS]"),
    ("地址是发展大道100号", "地址是[ADDRESS]"),
    ("身份证 11010519491231002X", "身份证 [ID]"),
    ("QQ:383161223(注明:当当)", "QQ:[ID](注明:当当)"),
    ("联系我呗qq42950063", "联系我呗qq[ID]"),
    ("加微信:abc_12345 详聊", "加微信:[ID] 详聊"),
    ("我的EMAIL: jinli1986@gmail.com", "我的EMAIL: [EMAIL]"),
    ("如果我說的不对,希望能跟我私下交流. sarah.liuhui@q", "如果我說的不对,希望能跟我私下交流. [EMAIL]"),
    ("银行卡 6222 0212 3456 7890 123", "银行卡 [CARD]"),
]
KEPT_EN = [
    "Order ORD-12345 costs £12.99 on 2019-05-01, rated 4.5/5, model SM-G930F, year 2008",
    "Amazon order 202-1234567-1234567 arrived on 01/05/2019",
    "how can I cancel purchase 113542617735902?",
    "my order number is 4111111111111111",  # an id word right before it
    "EAN 5010993342466 and ISBN 9780306406157",
    "The 3.5mm jack, 1/4 inch, 9V battery, 2.4GHz, 10000mAh, 1:200 scale",
    "Prices: $1,299.00, €45, £1 299",
    "It took 3 weeks, 10:34 am, between 2008 and 2012",
    "Part 099 0818 300 F Straplock",
    "Beyblade BB-88 Meteo L-Drago LW105LF and Yamaha FG700GS",
    "I bought 2 Way Radios and a 4 Tennis Court set",
    "LEGO City 60097 City Square is great",
    "Contains 24 Pieces Park Set",
    "Just call me when it's back in stock",
    "speaker at 102db@1W/1M",
    "Five stars!!! @Amazon",
]
KEPT_ZH = [
    "我11月6号下的订单,今天还没到",
    "鞋子买了37号,大小合适",
    "订单编号:9489378421。货到签收",
    "最近下单号为:1442083355,其中一套书",
    "I S B N : 9787111054252",
    "2007-7-11 14:43:34出库,到今天7月21日下午15:30",
    "价格是2799元,4G64G麒麟950,屏幕5.5寸",
    "她说1号楼2号楼都是好的",
    "我知道3号会到",
    "评分4.5分,用了2个月",
    "@清风丶丿徐来:第一张卡交通青年卡",
    "不错,外观可以,66666666666666",
]


@pytest.mark.parametrize(("text", "expected"), MASKED_EN + MASKED_ZH)
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize("text", KEPT_EN + KEPT_ZH)
def test_ordinary_text_is_kept(text: str) -> None:
    assert find_pii(text) == []
    assert mask_pii(text) == text


def test_spans_have_kinds_and_offsets() -> None:
    text = "Mail a@b.com or call 555-123-4567; card 4111111111111111"
    spans = find_pii(text)
    assert [s.kind for s in spans] == ["EMAIL", "PHONE", "CARD"]
    for s in spans:
        assert text[s.start:s.end] == s.text
    masked, found = redact(text)
    assert found == spans
    assert masked == "Mail [EMAIL] or call [PHONE]; card [CARD]"


def test_masking_is_idempotent_and_handles_non_strings() -> None:
    once = mask_pii(MASKED_EN[0][0] + " " + MASKED_ZH[0][0])
    assert mask_pii(once) == once
    assert mask_pii(None) is None  # type: ignore[arg-type]
    assert mask_pii("") == ""
    masked, counts = mask_many(["a@b.com", None, "电话13754900130 13800138000"])  # type: ignore[list-item]
    assert masked == ["[EMAIL]", None, "电话[PHONE] [PHONE]"]
    assert counts == {"EMAIL": 1, "PHONE": 2}


def test_many_spans_in_one_text() -> None:
    text = " ".join(f"user{i}@example.com 1380013{i:04d}" for i in range(2000))
    assert mask_pii(text) == " ".join(["[EMAIL] [PHONE]"] * 2000)


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert cn_id_valid("11010519491231002X") and not cn_id_valid("110105194912310021")
    assert mask_pii("id 110105194912310021") == "id 110105194912310021"  # bad check character


def _luhn_complete(prefix: str) -> str:
    for d in "0123456789":
        if luhn_valid(prefix + d):
            return prefix + d
    raise AssertionError


@settings(max_examples=100, deadline=None)
@given(first=st.sampled_from("3456"), body=st.text("0123456789", min_size=14, max_size=14),
       sep=st.sampled_from(["", " ", "-"]), left=st.sampled_from(["Card: ", "卡号", "pay with ", ""]),
       right=st.sampled_from([" thanks", "。", ".", ""]))
def test_generated_card_numbers_are_masked(first: str, body: str, sep: str, left: str, right: str) -> None:
    digits = _luhn_complete(first + body)
    grouped = sep.join(digits[i:i + 4] for i in range(0, 16, 4))
    assert mask_pii(f"{left}{grouped}{right}") == f"{left}[CARD]{right}"


@settings(max_examples=100, deadline=None)
@given(second=st.sampled_from("3456789"), rest=st.text("0123456789", min_size=9, max_size=9),
       style=st.sampled_from(["{}", "+86 {}", "{}-{}-{}", "{} {} {}"]),
       left=st.sampled_from(["我的手机", "电话:", "call ", "联系", "我是"]),
       right=st.sampled_from(["", "谢谢", " ok"]))
def test_generated_chinese_mobiles_are_masked(second: str, rest: str, style: str, left: str,
                                              right: str) -> None:
    number = "1" + second + rest
    if style.count("{}") == 3:
        shown = style.format(number[:3], number[3:7], number[7:])
    else:
        shown = style.format(number)
    assert mask_pii(f"{left}{shown}{right}") == f"{left}[PHONE]{right}"


@settings(max_examples=100, deadline=None)
@given(local=st.from_regex(r"[a-z][a-z0-9._]{1,12}[a-z0-9]", fullmatch=True),
       domain=st.from_regex(r"[a-z]{2,10}\.(com|cn|co\.uk|io)", fullmatch=True),
       left=st.sampled_from(["邮箱", "mail me: ", "(", "联系 "]))
def test_generated_emails_are_masked(local: str, domain: str, left: str) -> None:
    assert mask_pii(f"{left}{local}@{domain} ok") == f"{left}[EMAIL] ok"


def _read_zh(shared_data) -> pd.Series:
    with zipfile.ZipFile(shared_data / "zh-online-shopping-10cats" / "online_shopping_10_cats.zip") as zf:
        return pd.read_csv(zf.open("online_shopping_10_cats.csv"))["review"].dropna()


def test_real_chinese_reviews_with_contact_details(shared_data) -> None:
    reviews = [clean_text(t) for t in _read_zh(shared_data)]
    masked, counts = mask_many(reviews)
    # Reviews that leave phone numbers, QQ numbers, e-mails and street addresses (found by reading them).
    for needle in ("13754900130", "15262870953", "010-51236699", "02800923158", "383161223",
                   "tonytong7015@yahoo.com.cn", "jinli1986@gmail.com", "湖滨东路61号", "羽山路166号"):
        hits = [i for i, t in enumerate(reviews) if needle in t]
        assert hits, needle
        assert all(needle not in masked[i] for i in hits), needle
    assert counts["PHONE"] >= 30 and counts["EMAIL"] >= 5 and counts["ADDRESS"] >= 5
    # Order numbers quoted in complaints are not personal data and stay.
    assert any("单号为:1442083355" in t for t in masked)
    # Masking touches few reviews: < 0.3% of the 62,773.
    assert sum(1 for a, b in zip(reviews, masked, strict=True) if a != b) < 0.003 * len(reviews)


def test_real_order_and_invoice_ids_are_not_masked(shared_data) -> None:
    data = pd.read_csv(shared_data / "bitext-customer-support" / "bitext_customer_support_training_4.5k.csv")
    ids = data[data["entity_type"].isin(["order_id", "invoice_id", "refund_amount"])]
    assert len(ids) == 695
    for text, value in zip(ids["instruction"], ids["entity_value"].astype(str), strict=True):
        assert value in mask_pii(text), text


def test_real_english_reviews_have_no_false_positives(shared_data) -> None:
    path = shared_data / "womens-clothing-reviews" / "womens_clothing_ecommerce_reviews.csv.zip"
    with zipfile.ZipFile(path) as zf:
        reviews = pd.read_csv(zf.open("Womens Clothing E-Commerce Reviews.csv"))["Review Text"].dropna()
    assert len(reviews) > 22_000
    # Measured: none of these reviews holds personal data, so any span found is a false positive.
    assert [(t, find_pii(t)) for t in reviews if find_pii(t)] == []


def test_real_catalog_titles_and_details_have_no_false_positives(shared_data) -> None:
    toys = pd.read_csv(shared_data / "amazon-uk-toys-catalog" / "toys_uk_863.csv")
    for column in ("product_name", "product_information"):
        found = [(t, find_pii(clean_text(t))) for t in toys[column].dropna() if find_pii(clean_text(t))]
        assert found == [], column
    # The descriptions do carry sellers' phone numbers and e-mails, which are masked.
    desc = " ".join(clean_text(t) for t in toys["product_description"].dropna())
    masked = mask_pii(desc)
    assert "01252 522015" in desc and "01252 522015" not in masked
    assert "info@invitedesigns.com" in desc and "info@invitedesigns.com" not in masked
