"""Peak memory of the current process (imported by the child scripts: keep it light)."""

from __future__ import annotations

import resource


def peak_rss_kb() -> int:
    """VmHWM: this process's own peak RSS since exec.

    ``ru_maxrss`` is not usable in a child started from Python: Linux carries
    the forking parent's value over, so small children all report the parent's.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
