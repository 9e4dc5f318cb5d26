"""docs/create_scaling.png: warm create time against the number of files installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SERIES = (
    ("mambaboot.wall", "mambaboot create (CLI, wall)", "tab:blue"),
    ("raw.process", "raw rattler as a process (interpreter + import + solve + install)",
     "tab:orange"),
    ("raw.solve_install", "raw rattler solve + install (in-process)", "tab:green"),
    ("hardlink.wall", "cp -al of the result (hard-link floor)", "tab:gray"),
)


def plot_scaling(doc: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    entries = sorted(doc["warm"].values(), key=lambda e: e["counts"]["files"])
    files = np.array([e["counts"]["files"] for e in entries], dtype=float)
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for key, label, color in SERIES:
        med = np.array([e["stats"][key]["median"] for e in entries])
        lo = med - np.array([e["stats"][key]["min"] for e in entries])
        hi = np.array([e["stats"][key]["max"] for e in entries]) - med
        slope, intercept = np.polyfit(files, med, 1)
        fit = slope * files + intercept
        r2 = 1 - ((med - fit) ** 2).sum() / max(((med - med.mean()) ** 2).sum(), 1e-12)
        ax.errorbar(files, med, yerr=[lo, hi], fmt="o", color=color, capsize=3,
                    label=f"{label}\n  {slope * 1e6:.1f} µs/file + {intercept * 1e3:.0f} ms, "
                          f"R² = {r2:.3f}")
        ax.plot(files, fit, "-", color=color, alpha=0.5)
    for e in entries:
        ax.annotate(f"{e['counts']['packages']} pkgs", (e["counts"]["files"], 0),
                    textcoords="offset points", xytext=(0, 4), ha="center", fontsize=7,
                    color="dimgray")
    m = doc["machine"]
    ax.set_xlabel("files in the environment")
    ax.set_ylabel("seconds (median, bars: min-max)")
    ax.set_title(f"Warm create vs environment size ({m['cpus']} CPUs, "
                 f"py-rattler {m['py_rattler']})")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
