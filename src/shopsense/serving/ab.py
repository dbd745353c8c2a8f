"""A/B serving: a deterministic split of users between the production and the candidate version, and the
report comparing click-through and conversion per served version from the event log."""

from __future__ import annotations

import hashlib

import pandas as pd

_SCALE = float(1 << 32)


def ab_bucket(user_id: str | None, share: float) -> str:
    """``"candidate"`` for a stable ``share`` of user ids (sha256 of the id), else ``"production"``.

    Anonymous visitors (no id) always get production, so the split is per person, not per request.
    """
    if not user_id or share <= 0:
        return "production"
    if share >= 1:
        return "candidate"
    point = int.from_bytes(hashlib.sha256(user_id.encode("utf-8")).digest()[:4], "big") / _SCALE
    return "candidate" if point < share else "production"


def report_ab(events: pd.DataFrame) -> pd.DataFrame:
    """Per served version: users, views, clicks, carts, purchases, CTR (clicks/views) and conversion
    (purchases/clicks), with the standard error of each rate. Events without a version are left out.
    """
    cols = ["model_version", "users", "views", "clicks", "carts", "purchases", "ctr", "ctr_se",
            "conversion", "conversion_se"]
    if events is None or len(events) == 0 or "model_version" not in events.columns:
        return pd.DataFrame(columns=cols)
    ev = events[events["model_version"].notna() & (events["model_version"].astype(str) != "")]
    rows = []
    for version, grp in ev.groupby(ev["model_version"].astype(str), sort=True):
        counts = grp["type"].value_counts()
        views, clicks = int(counts.get("view", 0)), int(counts.get("click", 0))
        carts, purchases = int(counts.get("cart", 0)), int(counts.get("purchase", 0))
        ctr, ctr_se = _rate(clicks, views)
        conv, conv_se = _rate(purchases, clicks)
        rows.append([version, int(grp["user_id"].nunique()), views, clicks, carts, purchases, ctr, ctr_se,
                     conv, conv_se])
    return pd.DataFrame(rows, columns=cols)


def _rate(hits: int, trials: int) -> tuple[float | None, float | None]:
    if trials <= 0:
        return None, None
    p = min(hits / trials, 1.0)
    return p, (p * (1 - p) / trials) ** 0.5
