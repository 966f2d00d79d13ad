"""Writing result files atomically: nothing half-written is ever left behind."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from planner.errors import ScenarioError


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write via a temporary file in the same folder and rename it into place."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScenarioError(f"cannot create output folder {path.parent}: {exc}") from None
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8", "newline": ""})) as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes private files; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_all_atomic(files: dict[Path, str | bytes]) -> None:
    """Write several files; each appears whole or not at all, all contents prepared first."""
    for path, data in files.items():
        write_atomic(path, data)


def csv_text(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """CSV text of dict rows with a fixed column order."""
    out = io.StringIO()
    cols = columns or (list(rows[0]) if rows else [])
    w = csv.DictWriter(out, fieldnames=cols, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.10g}" if isinstance(v, float) else v) for k, v in r.items()})
    return out.getvalue()


def jsonable(obj: Any) -> Any:
    """Plain JSON types: NaN and inf become null, numpy scalars and arrays become Python values."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def json_text(obj: Any) -> str:
    """One JSON document (strict: no NaN)."""
    return json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n"
