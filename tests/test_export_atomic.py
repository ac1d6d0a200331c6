"""Atomic, numbered exports: a crash never leaves a version a server would pick up."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from export.versioned_dir import TMP_PREFIX, existing_versions, next_version, write_version
from serving.versions import NoModelError, latest_version, list_versions, select_version

REPO = Path(__file__).resolve().parent.parent


def fake_saved_model(folder: Path) -> None:
    (folder / "saved_model.pb").write_bytes(b"pb")
    (folder / "variables").mkdir()
    (folder / "variables" / "variables.index").write_bytes(b"index")


def leftovers(root: Path) -> list[str]:
    return [p.name for p in root.iterdir() if p.name.startswith(TMP_PREFIX)]


def test_versions_count_up_from_one(tmp_path):
    assert next_version(tmp_path / "missing") == 1
    assert write_version(tmp_path, fake_saved_model)[0] == 1
    assert write_version(tmp_path, fake_saved_model)[0] == 2
    assert write_version(tmp_path, fake_saved_model, version=7)[0] == 7
    assert write_version(tmp_path, fake_saved_model)[0] == 8
    assert existing_versions(tmp_path) == [1, 2, 7, 8]
    assert [v.version for v in list_versions(tmp_path)] == [1, 2, 7, 8]
    assert leftovers(tmp_path) == []


def test_an_existing_version_is_never_overwritten(tmp_path):
    write_version(tmp_path, fake_saved_model, version=3)
    with pytest.raises(FileExistsError, match="never overwritten"):
        write_version(tmp_path, fake_saved_model, version=3)
    assert leftovers(tmp_path) == []


def test_a_version_taken_meanwhile_moves_to_the_next_number(tmp_path):
    def write_while_another_exporter_publishes(folder: Path) -> None:
        fake_saved_model(folder)
        other = tmp_path / "1"
        other.mkdir()
        fake_saved_model(other)

    version, path = write_version(tmp_path, write_while_another_exporter_publishes)
    assert (version, path) == (2, tmp_path / "2")
    assert existing_versions(tmp_path) == [1, 2]


def test_a_failed_export_leaves_nothing(tmp_path):
    write_version(tmp_path, fake_saved_model)

    def fail_halfway(folder: Path) -> None:
        (folder / "saved_model.pb").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_version(tmp_path, fail_halfway)
    assert existing_versions(tmp_path) == [1]
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_a_crash_mid_export_is_never_picked_up(tmp_path):
    """The process dies (os._exit) while writing: no version appears; the temporary folder
    it leaves is ignored by readers and by the next export."""
    script = textwrap.dedent(
        """
        import os, sys
        from export.versioned_dir import write_version

        def crash(folder):
            (folder / "saved_model.pb").write_bytes(b"partial")
            os._exit(3)

        write_version(sys.argv[1], crash)
        """
    )
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], timeout=60)
    assert run.returncode == 3
    assert len(leftovers(tmp_path)) == 1
    assert list_versions(tmp_path) == []
    with pytest.raises(NoModelError, match="holds no SavedModel version"):
        latest_version(tmp_path)
    assert write_version(tmp_path, fake_saved_model)[0] == 1
    assert latest_version(tmp_path).version == 1


@pytest.mark.slow
def test_real_export_failure_leaves_no_version(serving_models, tmp_path, monkeypatch):
    import export.exporter as exporter

    def save_then_fail(module, path, signatures=None, options=None):
        Path(path, "saved_model.pb").write_bytes(b"partial")
        raise RuntimeError("killed while saving")

    monkeypatch.setattr(exporter.tf.saved_model, "save", save_then_fail)
    with pytest.raises(RuntimeError, match="killed while saving"):
        exporter.export_trained_model(serving_models["multiclass"].output_dir, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_readers_skip_incomplete_and_non_integer_folders(tmp_path):
    for name in ("1", "3"):
        (tmp_path / name).mkdir()
        fake_saved_model(tmp_path / name)
    (tmp_path / "5").mkdir()  # no saved_model.pb: not a version
    (tmp_path / f"{TMP_PREFIX}abc").mkdir()
    fake_saved_model(tmp_path / f"{TMP_PREFIX}abc")
    (tmp_path / "latest").mkdir()
    assert [v.version for v in list_versions(tmp_path)] == [1, 3]
    assert latest_version(tmp_path).version == 3
    assert select_version(tmp_path, 1).path == tmp_path / "1"
    with pytest.raises(NoModelError, match="no version 2"):
        select_version(tmp_path, 2)
    # A version folder given directly is served as it is.
    assert list_versions(tmp_path / "3")[0].version == 3


def test_the_next_export_removes_what_killed_exports_left(tmp_path):
    import os
    import socket
    import time

    host = socket.gethostname()
    finished = subprocess.run([sys.executable, "-c", "pass"], check=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = tmp_path / f"{TMP_PREFIX}{host}-{dead.pid}-abc123"  # its process is gone
    running = tmp_path / f"{TMP_PREFIX}{host}-{os.getppid()}-def456"  # still running
    foreign_old = tmp_path / f"{TMP_PREFIX}otherhost-1-ghi789"
    foreign_new = tmp_path / f"{TMP_PREFIX}otherhost-2-jkl012"
    for folder in (killed, running, foreign_old, foreign_new):
        folder.mkdir()
        fake_saved_model(folder)
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(foreign_old, (day_ago, day_ago))
    assert finished.returncode == 0
    assert write_version(tmp_path, fake_saved_model)[0] == 1
    assert sorted(leftovers(tmp_path)) == sorted([running.name, foreign_new.name])


@pytest.mark.slow
def test_predict_removes_the_temporary_output_a_killed_run_left(tmp_path):
    source = tmp_path / "texts.txt"
    source.write_text("很好\n", encoding="utf-8")
    target = tmp_path / "out.tsv"
    (tmp_path / "out.tsv.tmp").write_text("half of an earlier run's output", encoding="utf-8")
    result = subprocess.run(
        [
            str(REPO / "scripts" / "predict.sh"),
            f"--export_dir={tmp_path / 'no_export_here'}",
            f"--input_file={source}",
            f"--output_file={target}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2  # the run fails, and still leaves no temporary file
    assert not (tmp_path / "out.tsv.tmp").exists()
