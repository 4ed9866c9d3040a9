"""The figures behind the report, kept in the report itself: an HTML comment
at the end of BENCHMARKS.md (invisible once rendered), one JSON object a
line: each run that measured rows in it, then each row with its group and
its run. ``suite.py --only GROUPS`` reads them back, replaces the rows of
the groups it ran and keeps the others' as their run measured them, so the
report stays whole; a full run replaces every group.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from _common import Row
from _report import RunInfo

BEGIN = "<!-- The suite's figures, read back by `suite.py --only` (one JSON object a line):"
END = "-->"

#: Each group's run and rows, by group name.
Measured = Mapping[str, tuple[RunInfo, Sequence[Row]]]


def _line(obj: dict) -> str:
    # ">" only occurs inside JSON strings: escaped, no "-->" can end the comment early.
    return json.dumps(obj, ensure_ascii=False).replace(">", "\\u003e")


def _row(row: Row) -> dict:
    """The row's fields, without those left at their default."""
    found = {}
    for field in dataclasses.fields(Row):
        value = getattr(row, field.name)
        if field.default is dataclasses.MISSING or value != field.default:
            found[field.name] = value
    return found


def encode(measured: Measured) -> str:
    """The comment holding ``measured`` (in its order), for the report's end."""
    runs: list[RunInfo] = []
    for run, _ in measured.values():
        if run not in runs:
            runs.append(run)
    lines = [BEGIN]
    for i, run in enumerate(runs):
        info = {**dataclasses.asdict(run), "work_dir": str(run.work_dir)}
        lines.append(_line({"run": i, "info": info}))
    for group, (run, rows) in measured.items():
        for row in rows:
            lines.append(_line({"group": group, "run": runs.index(run), "row": _row(row)}))
    lines.append(END)
    return "\n".join(lines) + "\n"


def decode(text: str) -> dict[str, tuple[RunInfo, list[Row]]]:
    """The groups a report's comment holds (empty when it has none)."""
    if BEGIN not in text:
        return {}
    body = text.split(BEGIN, 1)[1].split(END, 1)[0]
    runs: dict[int, RunInfo] = {}
    found: dict[str, tuple[RunInfo, list[Row]]] = {}
    for line in body.splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        if "info" in obj:
            info = obj["info"]
            runs[obj["run"]] = RunInfo(**{**info, "work_dir": Path(info["work_dir"])})
        else:
            run = runs[obj["run"]]
            found.setdefault(obj["group"], (run, []))[1].append(Row(**obj["row"]))
    return found


def read(report: Path) -> dict[str, tuple[RunInfo, list[Row]]]:
    """The groups kept in the report at ``report`` (empty when there is none)."""
    try:
        return decode(report.read_text())
    except FileNotFoundError:
        return {}
