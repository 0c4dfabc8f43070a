"""The verdicts of the findings table: the rules fixed in advance (:data:`RULES`), the four verdicts, and how
one effect with its uncertainty becomes a :class:`Finding` (its interval, the sample that would resolve it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE = "reproduced", "contradicted", "inconclusive", "not testable"
VERDICTS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE)
CONFIDENCE = 0.95
"""Two-sided level of every interval."""
POWER = 0.80
"""Power at which an inconclusive row states the sample that would resolve the effect."""
Z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))
"""1.96: the half-width of a normal 95 % interval in standard errors (also the bar for "above its null")."""
MAX_DROP_POINTS = 3.0
"""Largest accuracy drop (percentage points, topographic below baseline) read as "no drop"."""

RULES = (
    f"Every interval is {CONFIDENCE:.0%} two-sided: normal (effect +- {Z:.2f} SE) within one model, t with n - 1 "
    "degrees of freedom over n seed pairs.",
    "reproduced: the interval excludes no effect on the paper's side; a topographic measure must also put the "
    f"topographic model above its position-shuffle null by > {Z:.2f} combined SE.",
    "contradicted: the interval excludes no effect on the other side, or holds no effect and excludes the "
    "paper's effect size.",
    f"inconclusive: otherwise; the seed pairs per condition that resolve the paper's effect (else the measured "
    f"one) at {POWER:.0%} power, from the measured variance, are stated.",
    "not testable: the model cannot express the claim, or the measure does not move under position shuffling.",
    "One seed per condition: the interval adds the between-seed SD of the same paired difference, measured on "
    "seed-replicated pairs (the report's own, else the bundled ReLU seeds').",
    f"No accuracy drop: the drop must be below {MAX_DROP_POINTS:g} points (a non-inferiority margin) for the "
    "whole interval.",
)

@dataclass(frozen=True)
class Finding:
    """One claim of the paper and what this pair (or these seeds) show."""

    key: str
    claim: str
    verdict: str
    effect: float
    ci_low: float
    ci_high: float
    paper_effect: float
    uncertainty: str
    topographic: str
    baseline: str
    chance: str
    reason: str
    measure: str
    paper: str
    se_within: float = math.nan
    topographic_value: float = math.nan
    baseline_value: float = math.nan
    above_null: float = math.nan
    """1.0 when the topographic measure is above its position-shuffle null, 0.0 when not, NaN: no null."""


def plus_minus(value: float, sem: float | None, digits: int = 3) -> str:
    """``"0.623 ± 0.005"``; ``"n/a"`` for a missing value, the value alone without an uncertainty."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if sem is None or not np.isfinite(sem):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} \u00b1 {sem:.{digits}f}"


def judge(effect: float, low: float, high: float, paper_effect: float, *, above_null: float = math.nan,
          margin: float | None = None) -> str:
    """The verdict of :data:`RULES` for an effect whose interval is ``[low, high]``.

    ``paper_effect`` gives the claim's direction (its sign; positive where the paper gives no
    size, NaN) and size; ``above_null`` 0.0 fails a topographic measure that is not above its
    shuffle null. ``margin`` turns the claim into non-inferiority: the effect stays above
    ``-margin``.

    >>> judge(0.3, 0.2, 0.4, 0.19), judge(-0.3, -0.4, -0.2, 0.19), judge(0.0, -0.1, 0.3, 0.19)
    ('reproduced', 'contradicted', 'inconclusive')
    >>> judge(0.0, -0.05, 0.05, 0.19), judge(0.3, 0.2, 0.4, 0.19, above_null=0.0)
    ('contradicted', 'inconclusive')
    """
    if not (np.isfinite(low) and np.isfinite(high)):
        return INCONCLUSIVE
    if margin is not None:
        return REPRODUCED if low > -margin else CONTRADICTED if high < -margin else INCONCLUSIVE
    sign = -1.0 if np.isfinite(paper_effect) and paper_effect < 0 else 1.0
    low, high = sorted((sign * low, sign * high))
    if low > 0:
        return REPRODUCED if above_null != 0.0 else INCONCLUSIVE
    if high < 0:
        return CONTRADICTED
    if np.isfinite(paper_effect) and high < abs(paper_effect):
        return CONTRADICTED
    return INCONCLUSIVE


class SeedSD(dict):
    """Claim key -> between-seed SD of its paired difference, and where those numbers come from."""

    def __init__(self, values: dict[str, float], source: str) -> None:
        super().__init__(values)
        self.source = source


@dataclass(frozen=True)
class Effect:
    """An effect with its standard error, as one pair measures it."""

    value: float
    se: float
    n: int
    unit: str


def _interval(effect: Effect, seed_sd: float | None, source: str) -> tuple[float, float, float, str]:
    """``(low, high, se, uncertainty text)`` for a one-seed effect, widened by the seed SD where known."""
    if seed_sd is None or not np.isfinite(seed_sd):
        se = effect.se
        text = f"one seed: within-model uncertainty only ({effect.n} {effect.unit}); no seed-level SD known"
    else:
        se = math.hypot(effect.se, seed_sd)
        text = (f"one seed: within-model SE {effect.se:.3g} ({effect.n} {effect.unit}) and a between-seed SD "
                f"{seed_sd:.3g} of this difference, from {source}")
    return effect.value - Z * se, effect.value + Z * se, se, text


def decide(key: str, claim: str, paper: str, paper_effect: float, measure: str, effect: Effect,
         topographic: str, baseline: str, chance: str, seed_sd: dict[str, float], *,
         above_null: float = math.nan, margin: float | None = None, values: tuple[float, float] = (math.nan,
                                                                                                   math.nan),
         detail: str = "") -> Finding:
    sd = seed_sd.get(key)
    low, high, se, uncertainty = _interval(effect, sd, getattr(seed_sd, "source", "seed-replicated pairs"))
    verdict = judge(effect.value, low, high, paper_effect, above_null=above_null, margin=margin)
    if sd is None and verdict in (REPRODUCED, CONTRADICTED):
        verdict = INCONCLUSIVE  # one seed with no seed-level variance: what a second seed moves is unknown
    reason = _reason(verdict, effect, low, high, paper_effect, above_null, margin, sd) + detail
    return Finding(key, claim, verdict, effect.value, low, high, paper_effect, uncertainty, topographic, baseline,
                   chance, reason, measure, paper, effect.se, values[0], values[1], above_null)


def needed_seeds(sd: float, effect: float, limit: int = 100_000) -> int | None:
    """Seed pairs per condition at which a paired difference of ``effect`` is resolved with :data:`POWER`,
    when one pair's difference varies with SD ``sd``: the smallest k >= 2 with
    ``(t_{1-a/2, k-1} + t_{power, k-1}) * sd / sqrt(k) <= |effect|`` (None beyond ``limit``).

    >>> needed_seeds(0.1, 0.1)
    10
    """
    if not (np.isfinite(sd) and np.isfinite(effect)) or effect == 0:
        return None

    def enough(k: int) -> bool:
        quantiles = stats.t.ppf(0.5 + CONFIDENCE / 2, k - 1) + stats.t.ppf(POWER, k - 1)
        return quantiles * sd / math.sqrt(k) <= abs(effect)

    high = 2
    while not enough(high):
        if high > limit:
            return None
        high *= 2
    low = max(2, high // 2)
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle + 1, high)
    return high


def _reason(verdict: str, effect: Effect, low: float, high: float, paper_effect: float,
            above_null: float, margin: float | None, seed_sd: float | None) -> str:
    text = f"effect {effect.value:+.3g}, {CONFIDENCE:.0%} interval [{low:+.3g}, {high:+.3g}]"
    if margin is not None:
        target = -margin
        text += f"; no-drop margin {-margin:+g}"
    else:
        target = paper_effect if np.isfinite(paper_effect) else effect.value
        text += f"; paper {paper_effect:+.3g}" if np.isfinite(paper_effect) else "; the paper gives no size"
    if above_null == 0.0:
        text += "; the topographic model is not above its position-shuffle null"
    if verdict != INCONCLUSIVE:
        return text
    if seed_sd is None:
        return text + "; one seed and no seed-level SD: needs >= 2 seeds per condition"
    gap = effect.value - target if margin is not None else target
    what = "the no-drop margin" if margin is not None else (
        "the paper's effect" if np.isfinite(paper_effect) else "the measured effect")
    seeds = needed_seeds(math.hypot(seed_sd, effect.se), gap)
    text += (f"; resolving {what} needs about {seeds:,} seed pairs per condition" if seeds
             else "; no effect size to plan a sample for")
    if seeds and effect.se > seed_sd:
        text += f" (or fewer with more {effect.unit} per model than {effect.n:,}: the within-model error dominates)"
    return text


def over_null(value: float, se: float, null: float, null_se: float) -> float:
    """1.0 when ``value`` exceeds ``null`` by more than Z combined SE, else 0.0 (NaN when either is missing)."""
    if not (np.isfinite(value) and np.isfinite(null)):
        return math.nan
    return float(value - null > Z * math.hypot(se if np.isfinite(se) else 0.0, null_se if np.isfinite(null_se)
                                                  else 0.0))


def not_testable(key: str, claim: str, paper: str, measure: str, why: str) -> Finding:
    return Finding(key, claim, NOT_TESTABLE, math.nan, math.nan, math.nan, math.nan, "-", "n/a", "n/a", "-",
                   why, measure, paper)
