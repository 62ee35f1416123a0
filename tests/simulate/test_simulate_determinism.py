"""The same arguments give byte-identical files; another seed gives another world."""

from __future__ import annotations

from pathlib import Path

from ecoradar.simulate import simulate


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_arguments_give_identical_bytes(tmp_path):
    a = simulate(tmp_path / "a", days=21, seed=11, scale="tiny")
    b = simulate(tmp_path / "b", days=21, seed=11, scale="tiny")
    fa, fb = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(fa) == 3 * 21 + 3
    assert fa == fb
    assert a.rows == b.rows and a.truth == b.truth
    c = simulate(tmp_path / "c", days=21, seed=12, scale="tiny")
    fc = _files(tmp_path / "c")
    assert fc["impressions/date=2026-01-05/part-0.parquet"] != fa["impressions/date=2026-01-05/part-0.parquet"]
    assert c.rows != a.rows


def test_rerun_replaces_a_previous_world_and_leaves_no_temporary_folder(tmp_path):
    simulate(tmp_path / "w", days=3, seed=1, scale="tiny", issues=False)
    first = _files(tmp_path / "w")
    simulate(tmp_path / "w", days=3, seed=1, scale="tiny", issues=False)
    assert _files(tmp_path / "w") == first
    assert [p.name for p in tmp_path.iterdir()] == ["w"]
