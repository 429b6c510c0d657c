"""docs/plugins.md cannot rot: its Python blocks run in order in one namespace, and it
documents every fragment type and handle kind with their imports."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "plugins.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_every_python_block_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks()
    assert len(blocks) >= 7
    monkeypatch.chdir(tmp_path)  # no docs/ around: runbooks come from where the page says
    module = types.ModuleType("plugins_doc")  # Litestar reads handlers' module globals
    monkeypatch.setitem(sys.modules, "plugins_doc", module)
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"docs/plugins.md python block {number}", "exec")
        exec(code, module.__dict__)
    assert module.result.ok


def test_every_fragment_and_handle_kind_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for needle in (
        "boss plugins new",
        "MetricSpec(",
        "max_series=",
        "label_values=",
        "RecordingRule(",
        "AlertRule(",
        "RuleTest(",
        "Panel(",
        "### SLOs",
        "context.metrics.counter(",
        "context.metrics.gauge(",
        "context.metrics.histogram(",
        "declare_label_values(",
        "boss.testing",
        "boss plugins list --json",
    ):
        assert needle in text, needle
    assert text.index("boss plugins new") < text.index("MetricSpec(")
    for block in python_blocks():  # complete imports: each block imports what it uses
        for name in re.findall(r"\b(MetricSpec|RecordingRule|AlertRule|RuleTest|Panel)\(", block):
            assert re.search(rf"^from boss import .*\b{name}\b|^    {name},$", block, re.M), (
                name,
                block[:60],
            )
