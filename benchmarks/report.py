"""Markdown tables (for docs/benchmarks.md) from the results document."""

from __future__ import annotations

from typing import Any

#: name -> (target, True when higher is better)
TARGETS = {
    "warm_ratio": (1.15, False),
    "overhead_ms": (150.0, False),
    "cold_ratio": (1.15, False),
    "run_ratio": (2.2, False),
    "run_floor_ratio": (1.2, False),
    "verify_ratio": (0.8, True),
}

Doc = dict[str, Any]


def med(stats: Doc, key: str) -> float:
    return float(stats[key]["median"])


def span(stats: Doc, key: str, scale: float = 1.0, digits: int = 2) -> str:
    s = stats[key]
    return (f"{s['median'] * scale:.{digits}f} "
            f"({s['min'] * scale:.{digits}f}-{s['max'] * scale:.{digits}f})")


def mins(stats: Doc, a: str, b: str) -> str:
    """Ratio of the fastest samples: less sensitive to a busy machine than medians."""
    return f"{stats[a]['min'] / stats[b]['min']:.2f}x"


def verdict(name: str, value: float) -> str:
    target, higher = TARGETS[name]
    if (value >= target) if higher else (value <= target):
        return "met"
    return f"**missed** by {abs(value / target - 1) * 100:.0f}%"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def summary(doc: Doc) -> list[str]:
    lines = [_row("#", "measure", "mambaboot", "baseline", "ratio / value",
                  "ratio of minimums", "target", "verdict"),
             _row(*["---"] * 8)]
    for n, entry in sorted(doc["warm"].items(), key=lambda kv: int(kv[0])):
        s = entry["stats"]
        r = med(s, "mambaboot.wall") / med(s, "raw.solve_install")
        if int(n) >= 200:
            lines.append(_row(1, f"warm create, {int(n) + 2} packages (s)",
                              span(s, "mambaboot.wall"),
                              f"raw solve+install {span(s, 'raw.solve_install')}",
                              f"{r:.2f}x", mins(s, "mambaboot.wall", "raw.solve_install"),
                              "≤ 1.15x", verdict("warm_ratio", r)))
    small = doc["warm"][str(min(int(k) for k in doc["warm"]))]["stats"]
    overhead = (med(small, "mambaboot.wall") - med(small, "raw.solve_install")) * 1000

    best_overhead = (small["mambaboot.wall"]["min"] - small["raw.solve_install"]["min"]) * 1000
    lines.append(_row(1, "fixed overhead, smallest env (ms)",
                      f"{med(small, 'mambaboot.wall') * 1000:.0f} total",
                      f"raw solve+install {med(small, 'raw.solve_install') * 1000:.0f}",
                      f"{overhead:.0f} ms",
                      f"{best_overhead:.0f} ms",
                      "≤ 150 ms", verdict("overhead_ms", overhead)))
    for key, entry in doc["cold"].items():
        s = entry["stats"]
        r = med(s, "mambaboot.wall") / med(s, "raw.solve_install")
        transport = entry.get("transport", key)
        lines.append(_row(2, f"cold create via {transport}, {entry['packages']} packages (s)",
                          span(s, "mambaboot.wall"),
                          f"raw solve+install {span(s, 'raw.solve_install')}",
                          f"{r:.2f}x", mins(s, "mambaboot.wall", "raw.solve_install"),
                          "≤ 1.15x", verdict("cold_ratio", r)))
    st = doc["startup"]["stats"]
    if "run.wall" in st:
        r = med(st, "run.wall") / med(st, "env_python.wall")
        lines.append(_row(3, "`run ENV -- python -c pass` (ms)", span(st, "run.wall", 1000, 1),
                          f"`ENV/bin/python -c pass` {span(st, 'env_python.wall', 1000, 1)}",
                          f"{r:.2f}x", mins(st, "run.wall", "env_python.wall"), "≤ 2.2x",
                          verdict("run_ratio", r)))
        if "floor.wall" in st:
            f = med(st, "run.wall") / med(st, "floor.wall")
            lines.append(_row(3, "`run` against the floor: an exec-only console script (ms)",
                              span(st, "run.wall", 1000, 1),
                              f"floor {span(st, 'floor.wall', 1000, 1)}", f"{f:.2f}x",
                              mins(st, "run.wall", "floor.wall"), "≤ 1.2x",
                              verdict("run_floor_ratio", f)))
    else:
        lines.append(_row(3, "`run` overhead", "pending: `mambaboot run` not available", "",
                          "", "", "≤ 2.2x", "pending"))
    v = doc["verify"]
    mb = v["counts"]["bytes"] / 1e6
    ours = mb / med(v["stats"], "verify.wall")
    theirs = mb / med(v["stats"], "sha256sum.wall")
    lines.append(_row(4, f"verify throughput, {v['counts']['files']} files / {mb:.0f} MB (MB/s)",
                      f"{ours:.0f}", f"sha256sum {theirs:.0f}", f"{ours / theirs:.2f}x",
                      mins(v["stats"], "sha256sum.wall", "verify.wall"), "≥ 0.8x",
                      verdict("verify_ratio", ours / theirs)))
    return lines


def warm_table(doc: Doc) -> list[str]:
    lines = [_row("packages", "files", "MB", "mambaboot create (s)", "raw solve+install (s)",
                  "raw as a process (s)", "cp -al floor (s)", "x raw", "x raw process",
                  "x cp -al"),
             _row(*["---"] * 10)]
    for _n, entry in sorted(doc["warm"].items(), key=lambda kv: int(kv[0])):
        s, c = entry["stats"], entry["counts"]
        mb = med(s, "mambaboot.wall")
        lines.append(_row(c["packages"], c["files"], f"{c['bytes'] / 1e6:.0f}",
                          span(s, "mambaboot.wall", digits=3),
                          span(s, "raw.solve_install", digits=3),
                          span(s, "raw.process", digits=3), span(s, "hardlink.wall", digits=3),
                          f"{mb / med(s, 'raw.solve_install'):.2f}",
                          f"{mb / med(s, 'raw.process'):.2f}",
                          f"{mb / med(s, 'hardlink.wall'):.1f}"))
    return lines


PHASES = ("start_worker", "solve", "vet", "install", "engine_end", "scan_prepare",
          "activation", "verify_manifest")


def phase_table(doc: Doc) -> list[str]:
    lines = [_row("packages", "import session", *PHASES, "total (in-process)",
                  "total - raw solve+install"),
             _row(*["---"] * (len(PHASES) + 4))]
    for _n, entry in sorted(doc["warm"].items(), key=lambda kv: int(kv[0])):
        s = entry["stats"]
        cells = [f"{med(s, 'phases.' + p) * 1000:.0f}" if f"phases.{p}" in s else "-"
                 for p in PHASES]
        rest = med(s, "phases.total") - med(s, "raw.solve_install")
        lines.append(_row(entry["counts"]["packages"],
                          f"{med(s, 'phases.import') * 1000:.0f}", *cells,
                          f"{med(s, 'phases.total') * 1000:.0f}", f"{rest * 1000:.0f}"))
    return lines


def cold_table(doc: Doc) -> list[str]:
    lines = [_row("transport", "packages", "mambaboot create (s)", "raw solve+install (s)",
                  "raw as a process (s)", "x raw", "x raw process", "CPU s (ours / raw)"),
             _row(*["---"] * 8)]
    for key, entry in doc["cold"].items():
        s = entry["stats"]
        mb = med(s, "mambaboot.wall")
        cpu = (f"{med(s, 'mambaboot.cpu'):.2f} / {med(s, 'raw.cpu'):.2f}"
               if "mambaboot.cpu" in s and "raw.cpu" in s else "")
        lines.append(_row(entry.get("transport", key), entry.get("packages", ""),
                          span(s, "mambaboot.wall"), span(s, "raw.solve_install"),
                          span(s, "raw.process"), f"{mb / med(s, 'raw.solve_install'):.2f}",
                          f"{mb / med(s, 'raw.process'):.2f}", cpu))
    return lines


def peer_table(doc: Doc) -> list[str]:
    """``micromamba create`` beside us, where the run was given a real micromamba."""
    rows = [(f"warm, {int(n) + 2} packages", e["stats"]) for n, e in
            sorted(doc["warm"].items(), key=lambda kv: int(kv[0]))]
    rows += [(f"cold via {e.get('transport', k)}, {e.get('packages', '')} packages", e["stats"])
             for k, e in doc["cold"].items()]
    rows = [(label, s) for label, s in rows if "micromamba.wall" in s]
    if not rows:
        return ["(no micromamba: set MAMBABOOT_BENCH_MICROMAMBA to a real binary)"]
    lines = [_row("create", "mambaboot (s)", "micromamba (s)", "raw rattler process (s)",
                  "x micromamba"), _row(*["---"] * 5)]
    for label, s in rows:
        lines.append(_row(label, span(s, "mambaboot.wall"), span(s, "micromamba.wall"),
                          span(s, "raw.process"),
                          f"{med(s, 'mambaboot.wall') / med(s, 'micromamba.wall'):.2f}"))
    return lines


def startup_table(doc: Doc) -> list[str]:
    names = {"env_python": "`ENV/bin/python -c pass`",
             "tool_python": "the tool's own interpreter, `python -c pass`",
             "floor": "floor: exec-only console script `floor-exec ENV/bin/python -c pass`",
             "run": "`mambaboot run ENV -- python -c pass`",
             "help": "`mambaboot --help`",
             "list": f"`mambaboot list` ({doc['startup']['list_envs']} envs)"}
    st = doc["startup"]["stats"]
    lines = [_row("command", "ms, median (min-max)"), _row("---", "---")]
    for key, label in names.items():
        if f"{key}.wall" in st:
            lines.append(_row(label, span(st, f"{key}.wall", 1000, 1)))
    return lines


def verify_table(doc: Doc) -> list[str]:
    v = doc["verify"]
    mb = v["counts"]["bytes"] / 1e6
    labels = {"verify": "`mambaboot verify ENV --json` (incl. smoke test)",
              "hash_only": "file hashing only (`integrity.check_files`, in-process)",
              "sha256sum": "`xargs -0 sha256sum` over the same files"}
    lines = [_row("what", "s", "MB/s"), _row("---", "---", "---")]
    for key, label in labels.items():
        lines.append(_row(label, span(v["stats"], f"{key}.wall", digits=3),
                          f"{mb / med(v['stats'], key + '.wall'):.0f}"))
    return lines


def memory_table(doc: Doc) -> list[str]:
    n = str(max(int(k) for k in doc["warm"]))
    s = doc["warm"][n]["stats"]
    pk = doc["warm"][n]["counts"]["packages"]
    lines = [_row(f"peak RSS, {pk}-package warm create", "MB, median (min-max)"),
             _row("---", "---")]
    mem = doc.get("memory", {}).get("stats", {})
    if mem:
        lines += [_row("`mambaboot create` (largest process of the tree, `/usr/bin/time`)",
                       span(mem, "mambaboot.peak_rss_mb", digits=0)),
                  _row("raw rattler solve+install script (`/usr/bin/time`)",
                       span(mem, "raw.peak_rss_mb", digits=0))]
    if "phases.peak_rss_self_mb" in s:
        lines += [_row("CLI side alone (`session.create` caller, VmHWM)",
                       span(s, "phases.peak_rss_self_mb", digits=0))]
    return lines


def render(doc: Doc) -> str:
    m = doc["machine"]
    parts = [
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB RAM, {m['os']}, "
        f"{m['filesystem']}; Python {m['python']}, py-rattler {m['py_rattler']}; mambaboot "
        f"{m['mambaboot_commit']}{' (dirty tree)' if m['dirty'] else ''}; 1-minute load average "
        f"during the run {m['load_1min'][0]:.1f}-{m['load_1min'][1]:.1f}.",
        f"Command: `{doc['command']}` ({doc['reps']} repetitions, "
        f"{doc['elapsed_s'] / 60:.1f} min).",
        "", "### Targets", "", *summary(doc),
        "", "### Warm create", "", *warm_table(doc),
        "", "### Where a warm create's time goes (ms, medians)", "", *phase_table(doc),
        "", "### Cold create", "", *cold_table(doc),
        "", "### Peer: micromamba create", "", *peer_table(doc),
        "", "### Start-up", "", *startup_table(doc),
        "", "### Verify", "", *verify_table(doc),
        "", "### Memory", "", *memory_table(doc), "",
    ]
    return "\n".join(parts)
