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


def _literal_blocks(doc):
    """A docstring's lines, with each indented block after a blank line (the
    commands a script's docstring shows) made a literal block."""
    lines = doc.splitlines()
    out = []
    for i, line in enumerate(lines):
        starts_block = line.startswith("    ") and i > 0 and not lines[i - 1].strip()
        before = next((x for x in reversed(lines[:i]) if x.strip()), "")
        if starts_block and not before.startswith(" ") and not before.endswith("::"):
            out += ["::", ""]
        out.append(line)
    return out


def _command_and_note(cell):
    """``(command, note)`` of a results.md command cell: the first `code` span, and
    the words around it (without their brackets)."""
    match = re.search(r"`([^`]+)`", cell)
    if not match:
        return cell, ""
    note = (cell[: match.start()] + cell[match.end() :]).strip()
    if note.startswith("(") and note.endswith(")"):
        note = note[1:-1]
    return match.group(1), note


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
        # a command cell is the command in backticks, sometimes with a note beside it
        split = [_command_and_note(command) for _, command in rows]
        commands = list(dict.fromkeys(command for command, _ in split))
        script, doc = _script_doc(commands[0])
        lines = [name, "=" * len(name), ""]
        if doc:
            lines += [f"What ``benchmarks/{script}`` measures:", ""]
            lines += [f"    {line}".rstrip() for line in _literal_blocks(doc)] + [""]
        lines += [
            "Reproduce it from the repository root, with the shared data beside it "
            "(``../shared/data``) and the ``benchmarks`` extra installed; each run "
            "appends its rows to ``benchmarks/results.md``:",
            "",
        ]
        lines += [f"- ``{command}``" for command in commands] + [""]
        columns = COLUMNS + (("note",) if any(note for _, note in split) else ())
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
        lines += ["   * - " + "\n     - ".join(columns)]
        ordered = sorted(
            zip(rows, split, strict=True), key=lambda r: r[0][0]["date"], reverse=True
        )
        for (row, _), (_, note) in ordered:
            cells = [_inline(row[c]) for c in COLUMNS]
            if len(columns) > len(COLUMNS):
                cells.append(_inline(note))
            lines += ["   * - " + "\n     - ".join(cells)]
        slug = _slug(name)
        (out_dir / f"{slug}.rst").write_text("\n".join(lines) + "\n", "utf-8")
        written.append(slug)
    return written
