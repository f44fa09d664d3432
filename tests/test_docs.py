"""The README's pictures and claims stay true."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_script():
    spec = importlib.util.spec_from_file_location("make_pictures", ROOT / "docs" / "make_pictures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_pictures_are_fresh(tmp_path):
    """Fails when docs/*.svg no longer match what convgrad draws: run python docs/make_pictures.py."""
    script = load_script()
    for fresh in script.make(tmp_path):
        stored = ROOT / "docs" / fresh.name
        assert stored.exists(), f"docs/{fresh.name} is missing; run python docs/make_pictures.py"
        assert stored.read_text() == fresh.read_text(), (
            f"docs/{fresh.name} is stale; run python docs/make_pictures.py"
        )


def test_readme_shows_every_picture_and_docs_list_every_config():
    readme = (ROOT / "README.md").read_text()
    for name in load_script().PICTURES:
        assert f"docs/{name}" in readme, name
    configs = (ROOT / "docs" / "configs.md").read_text()
    for config in (ROOT / "configs").glob("*.yaml"):
        assert f"| `{config.stem}` |" in configs, config.stem


def test_readme_links_resolve():
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / target).exists(), target


def test_readme_set_up_commands_come_first():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    assert blocks[0] == "pip install . && convgrad trace --input a"
    assert blocks[1] == "pip install '.[test]' && pytest"
    ci = (ROOT / ".ci" / "run").read_text()
    assert blocks[1] in ci


@pytest.mark.parametrize(
    "page", ["README.md", *(f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md")))]
)
def test_code_fences_open_and_close_on_lines_of_their_own(page):
    """A fence with text after it (```` ``` It runs````) leaves the block open: code and prose swap."""
    lines = (ROOT / page).read_text().splitlines()
    fences = [(i + 1, line) for i, line in enumerate(lines) if line.lstrip().startswith("```")]
    bad = [(n, line) for n, line in fences if not re.fullmatch(r"\s*```[\w+-]*", line)]
    assert not bad, f"{page}: fences with text after them: {bad}"
    assert len(fences) % 2 == 0, f"{page}: a fence is left open"
    closing = [line.strip() for _, line in fences[1::2]]
    assert all(f == "```" for f in closing), f"{page}: a closing fence names a language"
