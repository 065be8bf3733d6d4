"""The README's catalogue and matrix are the code's, not a copy that drifts."""

from __future__ import annotations

from pathlib import Path

from fixtures.catalogue import facts as fact_catalogue
from fixtures.catalogue.readme import END, START, markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_shows_the_current_check_catalogue_and_detection_matrix():
    text = README.read_text(encoding="utf-8")
    current = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert current == markdown().strip(), "README is behind the code: run `python -m fixtures.catalogue --write README.md`"


def test_the_readme_lists_the_current_facts_for_a_teams_own_checks():
    text = README.read_text(encoding="utf-8")
    current = text.split(fact_catalogue.FACTS_START, 1)[1].split(fact_catalogue.FACTS_END, 1)[0].strip()
    assert current == fact_catalogue.markdown().strip(), "README is behind the facts: run `python -m fixtures.catalogue --write README.md`"
