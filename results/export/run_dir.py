"""Exporting parts of a run directory: the format, the output files, one per part or all in one CSV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from results.export.writers import write_csv, write_ocel_json, write_ocel_sqlite
from scenarios.errors import AidflowError

__all__ = ["FORMATS", "ExportError", "Exported", "export_run"]

FORMATS: tuple[str, ...] = ("ocel", "ocel-json", "ocel-sqlite", "csv")
"""Formats of ``export_run`` (``ocel`` picks JSON or SQLite from the output's suffix)."""

_SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


class ExportError(AidflowError):
    """An export cannot be written (unknown format, ambiguous output, no such part)."""


@dataclass(frozen=True)
class Exported:
    """One file written by ``export_run``."""

    path: Path
    format: str
    strategy: str | None
    replication: int | None
    events: int
    objects: int


def _parts(run_dir: Path, strategy: str | None, rep: int | None) -> list[tuple[str, int]]:
    from results.store.run_store import read_manifest

    manifest = read_manifest(run_dir)
    found = sorted({(str(p["strategy"]), int(p["replication"])) for p in manifest.get("parts", [])})
    chosen = [(s, r) for s, r in found if (strategy is None or s == strategy) and (rep is None or r == rep)]
    if not chosen:
        known = ", ".join(f"{s} rep {r}" for s, r in found) or "none"
        raise ExportError(
            f"{run_dir}: no part matches strategy={strategy or '*'} rep={'*' if rep is None else rep} (parts: {known})"
        )
    return chosen


def export_run(
    run_dir: str | Path,
    fmt: str,
    out: str | Path | None = None,
    strategy: str | None = None,
    rep: int | None = None,
) -> list[Exported]:
    """Export parts of a run directory.

    Args:
        run_dir: The run directory.
        fmt: ``ocel`` (JSON, or SQLite when ``out`` ends in .sqlite/.sqlite3/.db), ``ocel-json``,
            ``ocel-sqlite`` or ``csv``.
        out: Output file; for OCEL of several parts, a folder (one file per part). Default:
            ``<run_dir>/export/`` (``<strategy>-rep<r>.ocel.json`` or ``.ocel.sqlite`` per part,
            ``events.csv`` with every selected part).
        strategy, rep: Only these parts (default: all).

    Raises:
        ExportError: unknown format, no such part, or one output file for several OCEL parts.
        StoreError: ``run_dir`` is not a run directory.
    """
    from results.replay import load_run_scenario
    from results.store.reading import read_events

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    run_dir = Path(run_dir)
    parts = _parts(run_dir, strategy, rep)
    out_path = Path(out) if out is not None else None
    if fmt == "ocel":
        sqlite = out_path is not None and out_path.suffix.lower() in _SQLITE_SUFFIXES
        fmt = "ocel-sqlite" if sqlite else "ocel-json"
    if fmt == "csv":
        csv_path = out_path if out_path is not None else run_dir / "export" / "events.csv"
        if csv_path.is_dir():
            csv_path = csv_path / "events.csv"
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        scenario = load_run_scenario(run_dir, parts[0][0])
        if len(parts) == 1:
            table = read_events(run_dir, parts[0][0], parts[0][1])
        else:
            import pyarrow as pa

            tables = [read_events(run_dir, s, r) for s, r in parts]
            tables = [
                tb.append_column("strategy", pa.array([s] * tb.num_rows, pa.string())).append_column(
                    "replication", pa.array([r] * tb.num_rows, pa.int64())
                )
                for tb, (s, r) in zip(tables, parts, strict=True)
            ]
            table = pa.concat_tables(tables)
        rows = write_csv(table, csv_path, scenario)
        return [Exported(csv_path, "csv", strategy, rep, rows, 0)]
    suffix = ".ocel.sqlite" if fmt == "ocel-sqlite" else ".ocel.json"
    if out_path is None:
        folder: Path | None = run_dir / "export"
    elif out_path.is_dir() or (not out_path.suffix and len(parts) > 1):
        folder = out_path
    elif len(parts) > 1:
        raise ExportError(
            f"{len(parts)} parts match: give --strategy and --rep for one file, or --out a folder for one file each"
        )
    else:
        folder = None
    done: list[Exported] = []
    for s, r in parts:
        target: Path | None = folder / f"{s}-rep{r}{suffix}" if folder is not None else out_path
        assert target is not None
        target.parent.mkdir(parents=True, exist_ok=True)
        table = read_events(run_dir, s, r)
        scenario = load_run_scenario(run_dir, s)
        writer = write_ocel_sqlite if fmt == "ocel-sqlite" else write_ocel_json
        n_events, n_objects = writer(table, target, scenario)
        done.append(Exported(target, fmt, s, r, n_events, n_objects))
    return done
