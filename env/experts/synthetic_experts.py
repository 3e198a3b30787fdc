"""Policies for the synthetic reading tasks (env/tasks/synthetic.py), in the form of
miniwob_experts.py. The page names its target in the global ``SYN``, which only the
expert reads."""

from __future__ import annotations

POLICIES: dict[str, str] = {
    # A checkbox is clicked on its box, as click-checkboxes' expert does.
    "click-word": """() => {
      const target = SP.one('[data-sp-item="' + SYN.target + '"]');
      return SP.click(SP.one('input', target) || target);
    }""",
}
