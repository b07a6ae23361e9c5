"""An independent implementation of the glycemic summary, for the tests to compare bg-ingest's with.

It shares no code and no method with the TypeScript one: numpy computes the mean, the sample SD and the
percentiles, Python's zoneinfo (the system's tz database, not the runtime's ICU) gives local times, hypoglycemia
events are counted over whole runs rather than reading by reading, and rounding goes through Decimal.

Reads a JSON list of cases on stdin, each {"readings": [[epoch_seconds, mg_dl], ...], "from_ms", "to_ms", "tz"},
and writes a JSON list of summaries in the API's snake_case shape (without from, to and tz).
"""

import json
import math
import sys
from collections import Counter
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import numpy as np


def half_up(value, decimals):
    """Rounds an exact value (int, Fraction or Decimal) half up."""
    quantum = Decimal(1).scaleb(-decimals)
    if isinstance(value, Fraction):
        scaled = value * 10**decimals
        return float(Decimal(math.floor(scaled + Fraction(1, 2))) * quantum)
    return float(Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP))


def exact_from_float(value, max_denominator):
    """A float computed by numpy that stands for a rational with a small denominator, recovered exactly."""
    return Fraction(value).limit_denominator(max_denominator)


def rounded_sd(values, n):
    """numpy's sample SD rounded half up; at a hair from a half, the integer test decides (sd² is rational)."""
    sd = float(np.std(np.array(values, dtype=np.float64), ddof=1))
    tenths = sd * 10
    nearest_half = math.floor(tenths) + 0.5
    if abs(tenths - nearest_half) > 1e-6:
        return half_up(Decimal(repr(sd)), 1)
    total = sum(values)
    deviations = n * sum(v * v for v in values) - total * total  # n(n-1) var
    # 10·sd ≥ k + ½  ⟺  (2k + 1)² · n(n − 1) ≤ 400 · deviations
    k = math.floor(tenths)
    up = (2 * k + 1) ** 2 * n * (n - 1) <= 400 * deviations
    return (k + 1 if up else k) / 10


def rounded_cv(values, n):
    mean = Fraction(sum(values), n)
    sd = float(np.std(np.array(values, dtype=np.float64), ddof=1))
    cv = 100 * sd / float(mean)
    tenths = cv * 10
    if abs(tenths - (math.floor(tenths) + 0.5)) > 1e-6:
        return half_up(Decimal(repr(cv)), 1)
    total = sum(values)
    deviations = n * sum(v * v for v in values) - total * total
    k = math.floor(tenths)
    # 10·cv ≥ k + ½  ⟺  (2k + 1)² · (n − 1) · total² ≤ 4·10⁶ · n · deviations
    up = (2 * k + 1) ** 2 * (n - 1) * total * total <= 4_000_000 * n * deviations
    return (k + 1 if up else k) / 10


def runs(times, values, threshold, interval):
    """Maximal runs of consecutive readings on one side of the threshold, broken by gaps over 2·interval."""
    result = []
    for t, v in zip(times, values):
        below = v < threshold
        after_gap = bool(result) and t - result[-1]["last"] > 2 * interval
        if result and result[-1]["below"] == below and not after_gap:
            result[-1]["last"] = t
        else:
            result.append({"below": below, "first": t, "last": t, "after_gap": after_gap})
    return result


def count_events(times, values, threshold, interval):
    events = 0
    in_event = False
    for run in runs(times, values, threshold, interval):
        if run["after_gap"]:
            in_event = False  # a gap breaks the run that is the event
        long_enough = run["last"] - run["first"] + interval >= 15 * 60
        if run["below"] and not in_event and long_enough:
            events += 1
            in_event = True
        elif not run["below"] and in_event and long_enough:
            in_event = False
    return events


def agp(times, values, tz):
    zone = ZoneInfo(tz)
    bins = {}
    for t, v in zip(times, values):
        local = datetime.fromtimestamp(t, tz=zone)
        minute = (local.hour * 60 + local.minute) // 15 * 15
        bins.setdefault(minute, []).append(v)
    result = []
    for minute in sorted(bins):
        group = np.array(bins[minute], dtype=np.float64)
        p5, p25, p50, p75, p95 = np.percentile(group, [5, 25, 50, 75, 95])
        result.append(
            {
                "minute": minute,
                "n": len(group),
                **{
                    name: half_up(exact_from_float(float(value), 100), 1)
                    for name, value in zip(["p5", "p25", "p50", "p75", "p95"], [p5, p25, p50, p75, p95])
                },
            }
        )
    return result


def summarize(case):
    from_s = Fraction(case["from_ms"], 1000)
    to_s = Fraction(case["to_ms"], 1000)
    readings = sorted((t, v) for t, v in case["readings"] if from_s <= t < to_s)
    n = len(readings)
    if n == 0:
        return {
            "readings": 0,
            "active_percent": None,
            "mean_mg_dl": None,
            "sd_mg_dl": None,
            "cv_percent": None,
            "gmi_percent": None,
            "time_in_range": None,
            "hypoglycemia_events": None,
            "agp": None,
        }
    times = [t for t, _ in readings]
    values = [v for _, v in readings]
    array = np.array(values, dtype=np.int64)

    gaps = Counter(b - a for a, b in zip(times, times[1:]) if b > a)
    interval = min(gaps, key=lambda gap: (-gaps[gap], gap)) if gaps else None

    mean = exact_from_float(float(np.mean(array.astype(np.float64))), n)

    def percent(mask):
        return half_up(Fraction(100 * int(np.count_nonzero(mask)), n), 1)

    window_ms = case["to_ms"] - case["from_ms"]
    return {
        "readings": n,
        "active_percent": None
        if interval is None
        else half_up(min(Fraction(100), Fraction(100 * n * interval * 1000, window_ms)), 1),
        "mean_mg_dl": half_up(mean, 1),
        "sd_mg_dl": rounded_sd(values, n) if n > 1 else None,
        "cv_percent": rounded_cv(values, n) if n > 1 else None,
        "gmi_percent": half_up(Fraction("3.31") + Fraction("0.02392") * mean, 2),
        "time_in_range": {
            "very_low_percent": percent(array < 54),
            "low_percent": percent((array >= 54) & (array <= 69)),
            "target_percent": percent((array >= 70) & (array <= 180)),
            "high_percent": percent((array >= 181) & (array <= 250)),
            "very_high_percent": percent(array > 250),
            "tight_target_percent": percent((array >= 70) & (array <= 140)),
        },
        "hypoglycemia_events": None
        if interval is None
        else {
            "level_1": count_events(times, values, 70, interval),
            "level_2": count_events(times, values, 54, interval),
        },
        "agp": agp(times, values, case["tz"]),
    }


if __name__ == "__main__":
    json.dump([summarize(case) for case in json.load(sys.stdin)], sys.stdout)
