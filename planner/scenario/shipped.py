"""The scenarios shipped with planner, by name: list them, resolve a name, copy one for editing.

A shipped scenario is named by its file's stem (``chat-and-code`` for
``scenarios/chat-and-code.yaml``). Any command that takes a scenario file takes such a name
too, from any directory; a file of that name in the working directory wins over the shipped
one (``./chat-and-code`` always means the local file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.errors import ScenarioError
from planner.resources import scenarios_dir


@dataclass(frozen=True)
class ShippedScenario:
    name: str  # the file's stem: what commands accept
    path: Path
    title: str  # the scenario's `name:` field
    description: str
    command: str  # the command it is made for: plan or buildout

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "title": self.title,
            "description": self.description,
            "command": self.command,
        }


def _read(path: Path) -> dict[str, Any]:
    from planner.inputs import read_yaml

    data = read_yaml(path, "scenario")
    return data if isinstance(data, dict) else {}


def shipped_scenarios() -> list[ShippedScenario]:
    """Every shipped scenario, by name."""
    out = []
    for path in sorted(scenarios_dir().glob("*.yaml"), key=lambda p: p.stem):
        data = _read(path)
        out.append(
            ShippedScenario(
                name=path.stem,
                path=path,
                title=str(data.get("name", path.stem)),
                description=str(data.get("description") or ""),
                command="buildout" if "buildout" in data else "plan",
            )
        )
    return out


def shipped_names() -> list[str]:
    return sorted(p.stem for p in scenarios_dir().glob("*.yaml"))


def shipped_path(name: str) -> Path | None:
    """The shipped scenario called ``name`` (with or without .yaml), or None."""
    if not name or "/" in name or "\\" in name:
        return None
    stem = name[: -len(".yaml")] if name.endswith(".yaml") else name
    path = scenarios_dir() / f"{stem}.yaml"
    return path if stem and path.is_file() else None


def resolve_scenario(path: Path | str) -> Path:
    """A scenario argument as a file: the path itself when it exists, else the shipped
    scenario of that name; a path that is neither is refused with the shipped names."""
    p = Path(path).expanduser()
    if p.exists():
        return p
    shipped = shipped_path(str(path))
    if shipped is not None:
        return shipped
    raise ScenarioError(
        f"scenario file not found: {path}; give a scenario file, or the name of a shipped scenario "
        f"({', '.join(shipped_names())}; `planner scenarios` lists them)"
    )


def referenced_files(path: Path) -> list[Path]:
    """Files a scenario names by a relative path (load curves, traces, curve files, model
    configs, catalogs), found by walking its YAML: every string that names a file or folder
    beside it. Folders (a catalog) are listed file by file."""
    base = path.parent.resolve()
    found: set[Path] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and node and len(node) < 4096 and not Path(node).is_absolute():
            target = (base / node).resolve()
            if target == path.resolve() or base not in target.parents:
                return
            if target.is_file():
                found.add(target)
            elif target.is_dir():
                found.update(p for p in target.rglob("*") if p.is_file())

    walk(_read(path))
    return sorted(found)


def copy_scenario(name: str, folder: Path, *, force: bool = False) -> list[Path]:
    """Write shipped scenario ``name`` and the files it references into ``folder`` (their
    relative layout kept, so the copy runs as it is). Refused when a file would be
    overwritten, unless ``force``. Returns the files written."""
    from planner.outputs import write_all_atomic

    source = shipped_path(name)
    if source is None:
        raise ScenarioError(f"no shipped scenario called '{name}' (shipped: {', '.join(shipped_names())})")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ScenarioError(f"{folder} is a file, not a folder; give the folder to copy {name} into")
    base = source.parent.resolve()
    files = {folder / source.name: source.read_bytes()}
    for f in referenced_files(source):
        files[folder / f.relative_to(base)] = f.read_bytes()
    clash = [str(p) for p in files if p.exists()]
    if clash and not force:
        raise ScenarioError(
            f"{len(clash)} file(s) already exist and would be overwritten; pass --force or choose another folder",
            clash,
        )
    write_all_atomic(files)
    return list(files)
