"""MiniWoB++ experts, the email inbox and social media feeds: find an item, then act on it (reply, forward, delete, star, like, share).
In the form of miniwob_experts.py (see library.js for SP, M and Q)."""

from __future__ import annotations

POLICIES: dict[str, str] = {}
