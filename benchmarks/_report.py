"""What every benchmark script shares: a description of the machine, CPU time, an atomic JSON
write.

The scripts run as ``python benchmarks/NAME.py``, so this module is importable as ``_report``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time

import numpy as np

from puzzles.atomic import atomic_open


def machine_info(**extra) -> dict:
    """CPU count, processor, Python and numpy versions and the load average, plus ``extra``."""
    return {
        "cpu_count": os.cpu_count(),
        **extra,
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_average": os.getloadavg(),
    }


def write_json(path: str, report) -> None:
    """Write ``report`` as indented JSON to ``path`` atomically and say so on stderr."""
    with atomic_open(path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"\nwrote {path}", file=sys.stderr)


def cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (pool workers)."""
    own = time.process_time()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + kids.ru_utime + kids.ru_stime
