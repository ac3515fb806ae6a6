"""Writes a page per benchmark of ``benchmarks/results.md`` into
``docs/generated/benchmarks/``: what the benchmark measures (its script's docstring),
the commands that reproduce it, and every row measured, newest first. Run by conf.py
when a build starts, so the pages never drift from the results file."""

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("date", "metric", "sklearn-rnn", "reference", "ratio", "machine")


def _rows(results):
    for line in results.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and re.fullmatch(r"\d{4}-\d\d-\d\d", cells[0]):
            date, name, metric, ours, ref, ratio, machine, command = cells
            yield (
                name,
                dict(
                    zip(COLUMNS, (date, metric, ours, ref, ratio, machine), strict=True)
                ),
                command,
            )


def _inline(text):
    """Markdown cell text as reStructuredText: `code` becomes ``code``, and what
    reStructuredText would read as markup is escaped."""
    parts = text.split("`")
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"``{part}``" if part else "")
        else:
            part = part.replace("\\", "\\\\").replace("*", "\\*")
            part = re.sub(r"(\w)_(?=\W|$)", r"\1\\_", part)
            out.append(part)
    return "".join(out) or " "


def _slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _script_doc(command):
    match = re.search(r"benchmarks/(\w+\.py)", command)
    if not match or not (ROOT / "benchmarks" / match.group(1)).is_file():
        return None, None
    path = ROOT / "benchmarks" / match.group(1)
    return match.group(1), ast.get_docstring(ast.parse(path.read_text("utf-8")))


def write_pages(out_dir):
    """Write one ``.rst`` per benchmark into ``out_dir``; return their names."""
    groups = defaultdict(list)
    for name, row, command in _rows(ROOT / "benchmarks" / "results.md"):
        groups[name].append((row, command))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in groups.items():
        commands = list(dict.fromkeys(command for _, command in rows))
        script, doc = _script_doc(commands[0])
        lines = [name, "=" * len(name), ""]
        if doc:
            lines += [f"What ``benchmarks/{script}`` measures:", "", "::", ""]
            lines += [f"    {line}".rstrip() for line in doc.splitlines()] + [""]
        lines += [
            "Reproduce it from the repository root, with the shared data beside it "
            "(``../shared/data``) and the ``benchmarks`` extra installed; each run "
            "appends its rows to ``benchmarks/results.md``. The commands these rows "
            "name:",
            "",
        ]
        lines += [f"- {_inline(command)}" for command in commands] + [""]
        lines += [
            "Figures",
            "-------",
            "",
            "``ratio`` is ours divided by the reference for speeds and ours minus the "
            "reference for scores, unless the row says otherwise. Newest first.",
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "   :class: benchmark-table",
            "",
        ]
        lines += ["   * - " + "\n     - ".join(COLUMNS)]
        for row, _ in sorted(rows, key=lambda r: r[0]["date"], reverse=True):
            lines += ["   * - " + "\n     - ".join(_inline(row[c]) for c in COLUMNS)]
        slug = _slug(name)
        (out_dir / f"{slug}.rst").write_text("\n".join(lines) + "\n", "utf-8")
        written.append(slug)
    return written
