"""PNG charts of aspect trends (matplotlib, Agg backend: no display needed), written atomically."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from shopsense.core.atomic import write_bytes_atomic


def trend_png(trend: pd.DataFrame, title: str = "Aspect trends") -> bytes:
    """A two-panel PNG of :meth:`~.aspects.OpinionIndex.trend` output: mentions and negative share per period."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    try:
        if trend.empty:
            top.text(0.5, 0.5, "no dated aspect mentions", ha="center", va="center", transform=top.transAxes)
        step = _step(trend["period"]) if not trend.empty else None
        for aspect, rows in trend.groupby("aspect", sort=True):
            rows = _broken_at_gaps(rows.sort_values("period"), step)
            top.plot(rows["period"], rows["mentions"], marker="o", ms=3, label=str(aspect))
            bottom.plot(rows["period"], rows["negative_share"], marker="o", ms=3, label=str(aspect))
        top.set_ylabel("mentions")
        bottom.set_ylabel("negative share")
        bottom.set_ylim(0, 1)
        top.set_title(title)
        if not trend.empty:
            top.legend(loc="upper left", fontsize=8, ncol=2)
        fig.autofmt_xdate()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        return buf.getvalue()
    finally:
        plt.close(fig)


def _step(periods: pd.Series) -> pd.Timedelta | None:
    """The chart's window: the smallest gap between two periods that have data."""
    gaps = pd.Series(sorted(pd.to_datetime(periods).unique())).diff().dropna()
    gaps = gaps[gaps > pd.Timedelta(0)]
    return gaps.min() if len(gaps) else None


def _broken_at_gaps(rows: pd.DataFrame, step: pd.Timedelta | None) -> pd.DataFrame:
    """``rows`` with an empty point wherever windows without data lie between two with data, so matplotlib
    breaks the line there instead of drawing one across years with no reviews."""
    if step is None or len(rows) < 2:
        return rows
    periods = pd.to_datetime(rows["period"]).reset_index(drop=True)
    gap = periods.diff() > step * 1.5  # quarters and months vary by a few days
    if not gap.any():
        return rows
    holes = pd.DataFrame({"period": periods[gap] - step})  # NaN values: a break in the line
    return pd.concat([rows.reset_index(drop=True), holes], ignore_index=True).sort_values("period", kind="stable")


def write_png(data: bytes, path: str | Path) -> Path:
    """Write PNG bytes to ``path`` atomically (temp file + rename)."""
    path = Path(path)
    write_bytes_atomic(path, data)
    return path
