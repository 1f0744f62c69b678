"""Links between the docs pages point at pages and headings that exist (a renamed heading
breaks every `page.md#anchor` that named it, silently on GitHub)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.markdown import sections

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but ``-`` and ``_`` dropped,
    spaces made ``-``."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _links() -> list[tuple[Path, int, str]]:
    found = []
    for page in PAGES:
        fence = False
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("```"):
                fence = not fence
            if not fence:
                found += [(page, number, target) for target in _LINK.findall(line) if "://" not in target]
    return found


@pytest.mark.parametrize("page,line,target", _links(), ids=[f"{p.name}:{n}" for p, n, _ in _links()])
def test_link_target_exists(page: Path, line: int, target: str) -> None:
    path, _, anchor = target.partition("#")
    goal = (page.parent / path).resolve() if path else page
    where = f"{page.relative_to(ROOT)}:{line}: ({target})"
    assert goal.exists(), f"{where}: {path} does not exist"
    if anchor and goal.suffix == ".md":
        anchors = {slug(section.title) for section in sections(goal)}
        assert anchor in anchors, f"{where}: {goal.name} has no heading with the anchor #{anchor}"
