"""MiniWoB++ experts, dragging and drawing: boxes, shapes, sortable lists, lines, angles, the colour wheel.
In the form of miniwob_experts.py (see library.js for SP, M and Q)."""

from __future__ import annotations

POLICIES: dict[str, str] = {}
