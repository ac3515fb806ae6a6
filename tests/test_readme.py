"""The README is the truth: its Python blocks run, in order, as one script."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)  # the README saves a model file
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
    assert namespace["clf"].score(namespace["X_test"], namespace["y_test"]) > 0.95
    assert (tmp_path / "model.joblib").exists()
