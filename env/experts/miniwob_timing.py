"""MiniWoB++ experts, timing, games and text editing: tasks that move or wait, layouts that change, copying, selecting and transforming text, the terminal.
In the form of miniwob_experts.py (see library.js for SP, M and Q)."""

from __future__ import annotations

POLICIES: dict[str, str] = {}
