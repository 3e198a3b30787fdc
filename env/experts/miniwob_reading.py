"""MiniWoB++ experts, reading and reasoning: tables, words, counting, arithmetic, number games.
In the form of miniwob_experts.py (see library.js for SP, M and Q)."""

from __future__ import annotations

POLICIES: dict[str, str] = {}
