"""The README's Python example runs as written."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python example"
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, str(README), "exec"), namespace)
        if "res" in namespace:
            res = namespace["res"]
            assert float(res.epochs.radius.max()) <= 0.1
            assert float(res.epochs.certificate.min()) < float(res.epochs.certificate[0])
