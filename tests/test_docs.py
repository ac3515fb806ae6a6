"""The documentation builds without a warning, so that a docstring that stops
rendering (an unknown target, a parameter table numpydoc cannot read) fails here.

The gallery's pages are built without running their examples (tests/test_examples.py
runs them), and without the intersphinx inventories, which need the internet."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("sphinx", reason="the docs build needs the test extra")
pytest.importorskip("numpydoc", reason="the docs build needs the test extra")
pytest.importorskip("sphinx_gallery", reason="the docs build needs the test extra")


def test_docs_build_without_warnings(tmp_path):
    # a copy, so that autosummary's generated pages never land in the source tree
    for folder in ("docs", "examples", "benchmarks"):
        shutil.copytree(
            ROOT / folder,
            tmp_path / folder,
            ignore=shutil.ignore_patterns("_build", "generated", "auto_examples"),
        )
    env = dict(os.environ, SKLEARN_RNN_DOCS_OFFLINE="1", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    command = [
        *(sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q"),
        *("-D", "plot_gallery=0"),
        *(str(tmp_path / "docs"), str(tmp_path / "html")),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    generated = tmp_path / "html" / "generated"
    page = (generated / "sklearn_rnn.CharLMGenerator.html").read_text()
    # methods are documented with their parameters, not only listed
    assert "top_p" in page and "stop_at_end" in page
    # a page per benchmark, made from benchmarks/results.md
    assert (tmp_path / "html" / "generated" / "benchmarks" / "trec-6.html").is_file()
    assert not list((tmp_path / "docs").glob("sg_execution_times.rst"))
