"""Policies for the synthetic reading tasks (env/tasks/synthetic.py), in the form of
miniwob_experts.py. The page names its target in the global ``SYN``, which only the
expert reads."""

from __future__ import annotations

POLICIES: dict[str, str] = {
    # Every item is clicked on its word (a checkbox's label too, as click-checkboxes'
    # expert does): where the task's word is drawn.
    "click-word": """() => {
      return SP.clickText(SP.one('[data-sp-item="' + SYN.target + '"]'));
    }""",
}
