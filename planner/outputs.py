"""Writing result files atomically: nothing half-written is ever left behind."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from planner.errors import ScenarioError

Cell = str | int | float | bool | None  # one value of a table row (a CSV field, an xlsx cell)


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


MANIFEST = ".planner-files"  # in an --out folder: the files the last run wrote there, one per line


def write_all_atomic(files: dict[Path, str | bytes], *, folder: Path | None = None) -> None:
    """Write several files all or nothing: every temporary file is written first, then all are
    renamed into place; on any failure (or an interrupt) the temporaries are removed and no
    target is touched.

    With ``folder`` (an ``--out DIR``), the folder is replaced as a whole: the renames hold an
    exclusive lock on the folder, so two concurrent runs never interleave their files, and
    files the previous run listed in the folder's manifest that this run does not write are
    removed (files planner did not write are never touched)."""
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
        if folder is None:
            for path, tmp in temps.items():
                os.replace(tmp, path)
        else:
            _commit_folder(Path(folder), temps, umask)
    except OSError as exc:
        raise ScenarioError(f"cannot write output: {exc}") from None
    finally:
        for tmp in temps.values():
            Path(tmp).unlink(missing_ok=True)


def _commit_folder(folder: Path, temps: dict[Path, str], umask: int) -> None:
    """Rename ``temps`` into ``folder`` under its lock and bring its manifest up to date."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - not POSIX: renames stay atomic one by one
            pass
        manifest = folder / MANIFEST
        before = set(manifest.read_text(encoding="utf-8").split("\n")) if manifest.is_file() else set()
        names = sorted(p.name for p in temps)
        for path, tmp in temps.items():
            os.replace(tmp, path)
        for stale in sorted(before - set(names) - {""}):
            target = folder / stale
            if "/" not in stale and target.is_file():
                target.unlink()
        listing = _temp_beside(manifest)
        try:
            Path(listing).write_text("\n".join(names) + "\n", encoding="utf-8")
            os.chmod(listing, 0o666 & ~umask)
            os.replace(listing, manifest)
        finally:
            Path(listing).unlink(missing_ok=True)
    finally:
        os.close(fd)  # releases the lock


def csv_text(rows: Sequence[Mapping[str, Cell]], columns: list[str] | None = None) -> str:
    """CSV text of dict rows (column -> cell) with a fixed column order."""
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
