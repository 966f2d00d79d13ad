"""Library messages name options and scenario fields; the CLI names its own flags.

A library message marks an option it names in backquotes (`` `window_s` ``, `` `solver.time_limit_s` ``):
a library user reads the keyword or field they set. ``cli_message`` rewrites each marked name that
a command-line flag sets into that flag (``--window-s``), so a CLI user reads what they typed.
"""

from __future__ import annotations

import re

FLAGS = {
    "solver.time_limit_s": "solver.time_limit_s (--time-limit, or --set solver.time_limit_s=SECONDS)",
    "solver.time_aggregation: auto": "drop --exact",
    "write_model": "--write-model",
    "throughput_band": "--throughput-band",
    "slo": "--slo",
    "headroom_step": "--headroom-step",
    "min_utilization": "--min-utilization",
    "mtbf_hours_per_gpu": "--mtbf-hours",
    "mttr_hours": "--mttr-hours",
    "windows": "--windows",
    "window_s": "--window-s",
    "warmup_s": "--warmup-s",
    "new_sku": "--new-sku",
}

_MARKED = re.compile(r"`([a-z_][a-z0-9_.]*(?:: [a-z_]+)?)`")  # a name, or a field and its value


def cli_message(message: str) -> str:
    """``message`` with each marked option that a flag sets named by that flag."""
    return _MARKED.sub(lambda m: FLAGS.get(m.group(1), m.group(0)), message)
