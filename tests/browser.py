"""Headless Chromium for the report tests: open a report and read back how many charts decoded."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def charts_rendered(chromium: str, page: Path) -> tuple[int, int]:
    """(charts on the page, charts decoded with a non-zero width), as the page's load script sets
    them on ``<body>`` (``data-charts-total``, ``data-charts-loaded``) in the DOM Chromium dumps."""
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    body = re.search(r"<body[^>]*>", proc.stdout)
    assert body, proc.stdout[:500]
    total = re.search(r'data-charts-total="(\d+)"', body.group(0))
    loaded = re.search(r'data-charts-loaded="(\d+)"', body.group(0))
    assert total and loaded, f"the load script did not run: {body.group(0)}"
    return int(total.group(1)), int(loaded.group(1))
