"""Train/validation/test splits that do not leak the future (or the test labels) into training.

- :func:`leave_last_out`: per user, the last interactions (by time, then item id) are test, the ones
  before them validation, the rest train. Standard protocol for next-item recommendation.
- :func:`temporal_split`: one global time cut for validation and one for test; every row at or after
  a cut goes to the later part, so ties never straddle a cut.
- :func:`stratified_split`: seeded random split keeping label proportions (classifiers).

Every split returns a :class:`Split` whose three frames keep the input's index labels and row order,
are disjoint, and together cover the input exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


@dataclass
class Split:
    """Three disjoint parts of one DataFrame (index labels preserved) and how they were made."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def parts(self) -> dict[str, pd.DataFrame]:
        return {"train": self.train, "valid": self.valid, "test": self.test}

    def describe(self) -> dict[str, Any]:
        """Sizes and fractions of the parts, plus what the split function recorded (cuts, seed...)."""
        total = sum(len(p) for p in self.parts().values())
        out: dict[str, Any] = {name: len(part) for name, part in self.parts().items()}
        out["total"] = total
        out["fractions"] = {name: round(len(part) / total, 4) if total else 0.0
                            for name, part in self.parts().items()}
        out.update(self.info)
        return out


def _check_columns(df: pd.DataFrame, *cols: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"split: missing column(s) {missing}; the frame has {list(df.columns)}")


def _check_times(df: pd.DataFrame, time_col: str) -> None:
    bad = df[time_col].isna()
    if bad.any():
        labels = df.index[bad][:5].tolist()
        raise ValueError(f"split: column {time_col!r} has {int(bad.sum())} missing value(s) "
                         f"(first index labels: {labels}); drop or fill them before splitting")


def _from_masks(df: pd.DataFrame, valid: np.ndarray, test: np.ndarray, info: dict[str, Any]) -> Split:
    train = ~(valid | test)
    return Split(df[train], df[valid], df[test], info)


def check_leave_last_out(n_valid: int, n_test: int, min_interactions: int) -> None:
    """The arguments :func:`leave_last_out` accepts (shared with the Spark split, ``shopsense.scale.split``)."""
    if n_valid < 0 or n_test < 0:
        raise ValueError(f"leave_last_out: n_valid and n_test must be >= 0, got {n_valid}, {n_test}")
    if min_interactions < n_valid + n_test + 1:
        raise ValueError(f"leave_last_out: min_interactions={min_interactions} must be at least "
                         f"n_valid + n_test + 1 = {n_valid + n_test + 1} so every split user keeps a "
                         "train row")


def leave_last_out(df: pd.DataFrame, user_col: str = "user_id", item_col: str = "item_id",
                   time_col: str = "timestamp", n_valid: int = 1, n_test: int = 1,
                   min_interactions: int = 3) -> Split:
    """Per user: the last ``n_test`` interactions are test, the ``n_valid`` before them validation.

    Each user's rows are ordered by (time, item id, input order). Users with fewer than
    ``min_interactions`` rows stay whole in train (they still help fit, but cannot be evaluated).
    ``min_interactions`` must leave at least one train row: ``>= n_valid + n_test + 1``.
    """
    check_leave_last_out(n_valid, n_test, min_interactions)
    _check_columns(df, user_col, item_col, time_col)
    _check_times(df, time_col)
    pos = np.arange(len(df))
    frame = pd.DataFrame({"u": df[user_col].to_numpy(), "t": df[time_col].reset_index(drop=True),
                          "i": df[item_col].astype(str).to_numpy(), "p": pos})
    frame = frame.sort_values(["u", "t", "i", "p"], kind="stable")
    from_end = frame.groupby("u", sort=False).cumcount(ascending=False).to_numpy()
    size = frame.groupby("u", sort=False)["p"].transform("size").to_numpy()
    eligible = size >= min_interactions
    test_sorted = eligible & (from_end < n_test)
    valid_sorted = eligible & (from_end >= n_test) & (from_end < n_test + n_valid)
    test = np.zeros(len(df), dtype=bool)
    valid = np.zeros(len(df), dtype=bool)
    test[frame["p"].to_numpy()[test_sorted]] = True
    valid[frame["p"].to_numpy()[valid_sorted]] = True
    n_users = frame["u"].nunique()
    info = {"kind": "leave_last_out", "users": int(n_users),
            "users_evaluated": int(frame.loc[eligible, "u"].nunique()),
            "n_valid": n_valid, "n_test": n_test, "min_interactions": min_interactions}
    return _from_masks(df, valid, test, info)


def temporal_split(df: pd.DataFrame, time_col: str = "timestamp", valid_frac: float = 0.1,
                   test_frac: float = 0.1) -> Split:
    """Global time cuts: the latest ``test_frac`` of rows are test, the ``valid_frac`` before them valid.

    The cuts are the times of the rows at those positions in time order; every row at or after a cut
    goes to the later part, so rows with equal times always land together and
    ``max(train time) < min(valid time) <= max(valid time) < min(test time)``. Because a tie at a cut goes
    whole to the later part, the parts can differ from the fractions by the size of that tie.
    """
    if valid_frac < 0 or test_frac < 0 or valid_frac + test_frac >= 1:
        raise ValueError(f"temporal_split: need valid_frac, test_frac >= 0 and valid_frac + test_frac < 1, "
                         f"got {valid_frac}, {test_frac}")
    _check_columns(df, time_col)
    _check_times(df, time_col)
    times = df[time_col].reset_index(drop=True)
    n = len(df)
    ordered = times.sort_values(kind="stable").reset_index(drop=True)
    n_test = int(round(n * test_frac))
    n_valid = int(round(n * valid_frac))
    test = np.zeros(n, dtype=bool)
    valid = np.zeros(n, dtype=bool)
    test_cut = valid_cut = None
    if n_test > 0:
        test_cut = ordered.iloc[n - n_test]
        test = (times >= test_cut).to_numpy()
    if n_valid > 0 and n - n_test - n_valid >= 0:
        valid_cut = ordered.iloc[n - n_test - n_valid]
        valid = (times >= valid_cut).to_numpy() & ~test
    info = {"kind": "temporal", "valid_cut": _jsonable(valid_cut), "test_cut": _jsonable(test_cut),
            "valid_frac": valid_frac, "test_frac": test_frac}
    return _from_masks(df, valid, test, info)


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, np.datetime64):
        return str(pd.Timestamp(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def stratified_split(df: pd.DataFrame, label_col: str,
                     fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 42) -> Split:
    """Seeded random train/valid/test split that keeps label proportions in each part.

    Two calls of scikit-learn's ``train_test_split`` with ``stratify``: test is split off first, then
    valid from the rest. Classes too small to stratify follow one rule: at each of the two steps, the
    labels with fewer than 2 rows are pooled into one "rare" stratum; if stratifying is still impossible
    (a part smaller than the number of strata, or a pooled stratum of one row), that step is an
    unstratified seeded shuffle, and ``info["stratified"]`` says which steps were. Missing labels are one
    class of their own. The same seed always gives the same split.
    """
    from sklearn.model_selection import train_test_split

    _check_columns(df, label_col)
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError("stratified_split: fractions must be three non-negative numbers summing to 1, "
                         f"got {fractions}")
    f_train, f_valid, f_test = fractions
    if f_train == 0:
        raise ValueError("stratified_split: the train fraction must be > 0")
    labels = df[label_col].astype(object).where(df[label_col].notna(), "<missing>").astype(str).to_numpy()
    positions = np.arange(len(df))
    stratified: dict[str, bool] = {}

    def step(pos: np.ndarray, frac: float, name: str, step_seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Split ``pos`` into (rest, part) with ``frac`` of the rows in part."""
        n_part = int(round(len(pos) * frac))
        if n_part == 0:
            stratified[name] = True
            return pos, pos[:0]
        if n_part >= len(pos):
            stratified[name] = True
            return pos[:0], pos
        strata = _pool_rare(labels[pos])
        try:
            rest, part = train_test_split(pos, test_size=n_part, random_state=step_seed, stratify=strata)
            stratified[name] = True
        except ValueError as exc:
            log.info("stratified_split: %s step not stratified (%s); seeded shuffle instead", name, exc)
            rest, part = train_test_split(pos, test_size=n_part, random_state=step_seed, shuffle=True)
            stratified[name] = False
        return rest, part

    rest, test_pos = step(positions, f_test, "test", seed)
    _, valid_pos = step(rest, f_valid / (f_train + f_valid), "valid", seed + 1)
    test = np.zeros(len(df), dtype=bool)
    valid = np.zeros(len(df), dtype=bool)
    test[test_pos] = True
    valid[valid_pos] = True
    info = {"kind": "stratified", "label_col": label_col, "seed": seed, "stratified": stratified,
            "classes": int(len(set(labels)))}
    return _from_masks(df, valid, test, info)


def _pool_rare(labels: np.ndarray) -> np.ndarray:
    values, counts = np.unique(labels, return_counts=True)
    rare = set(values[counts < 2].tolist())
    if not rare:
        return labels
    return np.array(["\x00rare" if lab in rare else lab for lab in labels], dtype=object)


def label_proportions(split: Split, label_col: str) -> dict[str, dict[str, float]]:
    """Share of each label in each part (for checking a stratified split)."""
    return {name: part[label_col].astype(str).value_counts(normalize=True).round(4).to_dict()
            for name, part in split.parts().items()}
