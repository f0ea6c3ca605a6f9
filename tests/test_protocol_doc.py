"""The protocol reference that code comments cite is in the repository, with every section cited."""
from __future__ import annotations

import re

from tests.support import ROOT

DOC = ROOT / "docs" / "protocol.md"
CITATION = re.compile(r"docs/protocol\.md(?: section)? (\d+(?:\.\d+)?)")


def test_every_cited_section_of_docs_protocol_exists() -> None:
    headings = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", DOC.read_text(), re.M))
    cited = {}
    for path in [*ROOT.glob("greenrpc/**/*.py"), *ROOT.glob("tests/**/*.py"), *ROOT.glob("*.md"),
                 *ROOT.glob("docs/*.md")]:
        for section in CITATION.findall(path.read_text()):
            cited.setdefault(section, path.relative_to(ROOT))
    assert len(cited) > 10
    missing = {section: str(path) for section, path in cited.items() if section not in headings}
    assert not missing
