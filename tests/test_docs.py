"""Docs that cannot drift: the examples in the docs are real, and the README names real commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT

from player.cli import cli
from player.script import load_session

FORMAT_DOC = ROOT / "docs" / "script-format.md"
YAML_BLOCKS = re.findall(r"```yaml\n(.*?)```", FORMAT_DOC.read_text(encoding="utf-8"), re.S)
COMPLETE = [block for block in YAML_BLOCKS if block.startswith("title:")]


def test_the_format_doc_has_complete_examples():
    assert len(COMPLETE) >= 2


@pytest.mark.parametrize("block", COMPLETE, ids=lambda b: b.splitlines()[0])
def test_every_complete_example_in_the_format_doc_validates(tmp_path, block):
    path = tmp_path / "example.yaml"
    path.write_text(block, encoding="utf-8")
    assert load_session(Path(path)).steps


def test_the_readme_uses_only_real_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    used = set(re.findall(r"^guided (\w+)", readme, re.M))
    assert used and used <= set(cli.commands), used - set(cli.commands)
    quick_start = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    assert re.findall(r"^make (\w+)", quick_start, re.M) == ["demo", "test"]


MARKDOWN_BLOCKS = re.findall(r"```markdown\n(.*?)```", FORMAT_DOC.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("block", MARKDOWN_BLOCKS, ids=lambda b: b.splitlines()[1])
def test_every_markdown_example_in_the_format_doc_imports_cleanly(tmp_path, block):
    from player.importer import import_script

    path = tmp_path / "example.md"
    path.write_text(block, encoding="utf-8")
    imported = import_script(path, strict=True)
    assert imported.data["steps"] == [
        {"section": "Arriving"},
        {"say": "Welcome. Find a comfortable seat, and let your shoulders drop. [3s] Breathe."},
        {"pause": "30s"},
        {"section": "Closing"},
        {"say": "Take one more slow breath... and let it go."},
        {"bell": "end"},
    ]
    assert [n.message for n in imported.notes] == ["speaker label **Guide:**", "direction (speak slowly)"]
