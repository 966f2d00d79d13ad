"""The one place that talks to HiGHS options and its start-up banner.

highspy prints a banner from C to file descriptor 1 the first time a ``Highs`` object
is made in a process, whatever its options. ``silence_banner()`` makes that first object
with fd 1 pointed at /dev/null, so later solves (through PuLP or highspy) print nothing
to stdout and ``--json`` output stays one clean document.
"""

from __future__ import annotations

import os
import sys
import threading

_lock = threading.Lock()
_done = False


def silence_banner() -> None:
    """Create the process's first ``highspy.Highs`` with stdout closed at the fd level."""
    global _done
    with _lock:
        if _done:
            return
        import highspy

        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            del h
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _done = True
