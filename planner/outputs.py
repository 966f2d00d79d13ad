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


def _temp_beside(path: Path) -> str:
    if path.is_dir():
        raise ScenarioError(f"cannot write {path}: it is a directory; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise ScenarioError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    return tmp


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write via a temporary file in the same folder and rename it into place."""
    write_all_atomic({Path(path): data})


def write_all_atomic(files: dict[Path, str | bytes]) -> None:
    """Write several files all or nothing: every temporary file is written first, then all are
    renamed into place; on any failure the temporaries are removed and no target is touched."""
    temps: dict[Path, str] = {}
    try:
        umask = os.umask(0)
        os.umask(umask)
        for path, data in files.items():
            path = Path(path)
            tmp = _temp_beside(path)
            temps[path] = tmp
            if isinstance(data, bytes):
                Path(tmp).write_bytes(data)
            else:
                with open(tmp, "w", encoding="utf-8", newline="") as f:
                    f.write(data)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes private files; results are for sharing
        for path, tmp in temps.items():
            os.replace(tmp, path)
    except OSError as exc:
        raise ScenarioError(f"cannot write output: {exc}") from None
    finally:
        for tmp in temps.values():
            Path(tmp).unlink(missing_ok=True)


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
