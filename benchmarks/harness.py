"""Timing primitives: repeated, interleaved measurements and their summaries.

Every case returns a dict of named durations (seconds) for one repetition;
`interleave` runs the cases round-robin so slow drift of the machine (page
cache, thermal, a background job) hits every case alike, and keeps all
samples so the report can show median and min-max.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Sample = dict[str, float]
Case = Callable[[int], Sample]


@dataclass
class Stats:
    """All samples of one metric; the report shows median and min-max."""

    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    def to_json(self) -> dict[str, object]:
        return {"median": self.median, "min": self.min, "max": self.max,
                "samples": [round(s, 6) for s in self.samples]}


Results = dict[str, Stats]


def timed(fn: Callable[[], object]) -> float:
    """Wall time of one call, in seconds."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleave(cases: Mapping[str, Case], reps: int, *, warmup: int = 1,
               label: str = "") -> Results:
    """Run each case `warmup` times unrecorded, then `reps` rounds of all cases.

    A case is called with the repetition number (negative for warm-ups) and
    returns ``{metric: seconds}``; results are keyed ``"case.metric"``.
    """
    results: Results = {}
    for i in range(-warmup, reps):
        for name, case in cases.items():
            sample = case(i)
            if i < 0:
                continue
            for metric, value in sample.items():
                results.setdefault(f"{name}.{metric}", Stats()).samples.append(value)
        if label:
            progress(f"{label}: round {i + 1 if i >= 0 else 'warm-up'}/{reps}")
    return results


def ratio(a: Stats, b: Stats) -> float:
    """Median of `a` over median of `b`."""
    return a.median / b.median


def progress(message: str) -> None:
    """One status line on stderr (stdout carries the report)."""
    print(f"[bench {time.strftime('%H:%M:%S')} load {loadavg():.1f}] {message}",
          file=sys.stderr, flush=True)
    LOADS.append(loadavg())


#: 1-minute load averages seen at each progress line (the report shows the range).
LOADS: list[float] = []


def loadavg() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")
