"""MiniWoB++ experts, widgets: the no-delay and difficulty variants of tasks with an expert, menus, sliders, spinners, time fields, scrolling text, hovering.
In the form of miniwob_experts.py (see library.js for SP, M and Q)."""

from __future__ import annotations

POLICIES: dict[str, str] = {}
