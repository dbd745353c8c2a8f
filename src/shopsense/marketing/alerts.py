"""Alerts: a statistically significant rise in an aspect's negative share within a time window.

The test. Time is cut into calendar windows (``freq``: ``"M"`` months by default, ``"W"``, ``"Q"``...).
For every aspect and every window with at least ``min_window`` mentions of it, the window's negative
mentions ``x1 / n1`` are compared with the same aspect's mentions in the ``baseline_windows`` windows
before it, ``x0 / n0`` (at least ``min_baseline`` mentions), by a **one-sided Fisher exact test** on the
2x2 table [[x1, n1 - x1], [x0, n0 - x0]] (H1: the window's negative share is higher). Fisher is exact
for the small counts aspect windows have, where the two-proportion z-test's normal approximation is not
to be trusted; the z statistic is reported alongside for reading. The p-values of all tests of one scan
(every aspect x window x scope) are adjusted by **Benjamini-Hochberg**; an alert is a test with
``q <= alpha`` whose share rose by at least ``min_rise``. Each alert carries the window's most
representative negative quotes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact

from shopsense.marketing.aspects import GROUPS, representative_quotes


@dataclass
class Alert:
    """One significant rise of an aspect's negative share in one window (for the store or one group)."""

    aspect: str
    scope: str  # "store", or "brand:Lego", "item:toy_...", "category:Games"
    window_start: str
    window_end: str
    window_mentions: int
    window_negative: int
    window_share: float
    baseline_mentions: int
    baseline_negative: int
    baseline_share: float
    z: float
    p_value: float
    q_value: float
    quotes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order."""
    p = np.asarray(p_values, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def two_proportion_z(x1: int, n1: int, x0: int, n0: int) -> float:
    """The pooled two-proportion z statistic of share x1/n1 against x0/n0 (0 when undefined)."""
    pooled = (x1 + x0) / (n1 + n0)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0)) if n1 and n0 else 0.0
    return (x1 / n1 - x0 / n0) / se if se > 0 else 0.0


def detect_alerts(mentions: pd.DataFrame, freq: str = "M", baseline_windows: int = 24, alpha: float = 0.05,
                  min_window: int = 5, min_baseline: int = 8, min_rise: float = 0.15,
                  aspects: Sequence[str] | None = None, by: str | None = None, since: Any = None,
                  n_quotes: int = 2) -> list[Alert]:
    """Every significant rise in the mentions (an :class:`~.aspects.OpinionIndex`'s ``mentions``).

    ``by`` (item | brand | category) tests each group separately as well as the whole store; ``since``
    keeps only windows starting on or after that date (earlier data still serves as baseline). Alerts
    come sorted by q-value.
    """
    if by is not None and by not in GROUPS:
        raise ValueError(f"by must be one of {', '.join(GROUPS)}, not {by!r}")
    m = mentions[mentions["timestamp"].notna()]
    if aspects is not None:
        m = m[m["aspect"].isin(list(aspects))]
    if m.empty:
        return []
    m = m.assign(_period=m["timestamp"].dt.tz_convert(None).dt.to_period(freq),
                 _neg=(m["polarity"] == "negative").astype(int))
    scopes: list[tuple[str, pd.DataFrame]] = [("store", m)]
    if by is not None:
        scopes += [(f"{by}:{key}", part) for key, part in m.groupby(GROUPS[by]) if key]
    start = pd.Timestamp(since).tz_localize(None) if since is not None and pd.Timestamp(since).tzinfo is None \
        else (pd.Timestamp(since).tz_convert(None) if since is not None else None)
    tests: list[dict[str, Any]] = []
    for scope, part in scopes:
        for aspect, rows in part.groupby("aspect"):
            tests.extend(_scan(rows, scope, str(aspect), baseline_windows, min_window, min_baseline, start))
    if not tests:
        return []
    q = benjamini_hochberg([t["p_value"] for t in tests])
    alerts = []
    for test, q_value in zip(tests, q, strict=True):
        rise = test["window_share"] - test["baseline_share"]
        if q_value <= alpha and rise >= min_rise:
            rows = test.pop("_rows")
            alerts.append(Alert(**test, q_value=float(q_value),
                                quotes=representative_quotes(rows, test["aspect"], "negative", n_quotes)))
    return sorted(alerts, key=lambda a: (a.q_value, a.window_start, a.aspect))


def _scan(rows: pd.DataFrame, scope: str, aspect: str, baseline_windows: int, min_window: int, min_baseline: int,
          start: pd.Timestamp | None) -> list[dict[str, Any]]:
    counts = rows.groupby("_period")["_neg"].agg(["size", "sum"])
    if counts.empty:
        return []
    # Every calendar window between the first and last mention, so "the 12 windows before" means 12 windows.
    full = pd.period_range(counts.index.min(), counts.index.max(), freq=counts.index.freq)
    counts = counts.reindex(full, fill_value=0)
    n, x = counts["size"].to_numpy(), counts["sum"].to_numpy()
    out = []
    for i, period in enumerate(full):
        if n[i] < min_window or (start is not None and period.start_time < start):
            continue
        lo = max(0, i - baseline_windows) if baseline_windows else 0
        n0, x0 = int(n[lo:i].sum()), int(x[lo:i].sum())
        if n0 < min_baseline:
            continue
        n1, x1 = int(n[i]), int(x[i])
        _, p = fisher_exact([[x1, n1 - x1], [x0, n0 - x0]], alternative="greater")
        out.append({"aspect": aspect, "scope": scope, "window_start": str(period.start_time.date()),
                    "window_end": str(period.end_time.date()), "window_mentions": n1, "window_negative": x1,
                    "window_share": round(x1 / n1, 4), "baseline_mentions": n0, "baseline_negative": x0,
                    "baseline_share": round(x0 / n0, 4), "z": round(two_proportion_z(x1, n1, x0, n0), 4),
                    "p_value": float(p), "_rows": rows[rows["_period"] == period]})
    return out
