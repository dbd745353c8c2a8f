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
        for aspect, rows in trend.groupby("aspect", sort=True):
            rows = rows.sort_values("period")
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


def write_png(data: bytes, path: str | Path) -> Path:
    """Write PNG bytes to ``path`` atomically (temp file + rename)."""
    path = Path(path)
    write_bytes_atomic(path, data)
    return path
