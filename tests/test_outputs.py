"""--out folders: written all or nothing, replaced as a whole, never mixing two runs."""

from __future__ import annotations

import threading

from planner.outputs import MANIFEST, write_all_atomic


def test_a_folder_is_replaced_as_a_whole(tmp_path):
    out = tmp_path / "out"
    write_all_atomic({out / "plan.json": "1", out / "validation.json": "1"}, folder=out)
    (out / "notes.txt").write_text("mine")
    write_all_atomic({out / "plan.json": "2"}, folder=out)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([MANIFEST, "notes.txt", "plan.json"])  # the earlier run's extra file is gone, not the user's
    assert (out / "plan.json").read_text() == "2" and (out / "notes.txt").read_text() == "mine"
    assert (out / MANIFEST).read_text().split() == ["plan.json"]


def test_two_concurrent_runs_never_mix_their_files(tmp_path):
    out = tmp_path / "out"
    names = [f"f{i}.csv" for i in range(20)]
    errors: list[BaseException] = []

    def run(tag: str) -> None:
        try:
            for _ in range(30):
                write_all_atomic({out / n: tag * 1000 for n in names}, folder=out)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    contents = {(out / n).read_text() for n in names}
    assert len(contents) == 1  # every file from the same run
    assert not [p for p in out.iterdir() if p.name.startswith(f".{names[0]}")]  # no temporary left
