"""MiniWoB++ experts, multi-step forms and flows: booking flights, picking dates, form sequences, search results, shops.
In the form of miniwob_experts.py (see library.js for SP, M and Q)."""

from __future__ import annotations

POLICIES: dict[str, str] = {}
