"""The README's layout section matches the tree: every entry it names exists, every top-level
file and folder of the checkout is named, and every module it names is where it says."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO_ROOT

NOT_LISTED = {"README.md", "LICENSE", ".gitignore"}


def layout() -> dict[str, str]:
    """{entry: its description} from the fenced block under ``## Layout``."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("\n## Layout\n", 1)[1].split("```\n", 2)[1]
    entries: dict[str, str] = {}
    names: list[str] = []
    for line in block.splitlines():
        if line and not line[0].isspace():
            match = re.match(r"(\S.*?)(?: {2,}(.*))?$", line)
            assert match, line
            head, description = match.group(1), match.group(2) or ""
            names = [name.strip() for name in head.split(",")]
            for name in names:
                entries[name] = description
        else:
            for name in names:
                entries[name] += " " + line.strip()
    return entries


def test_every_entry_of_the_layout_exists_and_so_do_the_modules_it_names() -> None:
    entries = layout()
    assert "alerts/" in entries and "nlp/" in entries
    for name, description in entries.items():
        assert (REPO_ROOT / name).exists(), name
        if name.endswith("/"):
            for module in re.findall(r"\b([\w/]+\.py)\b", description):
                assert (REPO_ROOT / name / module).is_file(), f"{name}{module}"


def test_every_top_level_file_and_folder_is_in_the_layout() -> None:
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True,
                             text=True, check=True).stdout.splitlines()
    top = {path.split("/", 1)[0] for path in tracked if (REPO_ROOT / path).exists()}
    listed = {name.split("/", 1)[0] for name in layout()}
    assert top - NOT_LISTED <= listed, sorted(top - NOT_LISTED - listed)
