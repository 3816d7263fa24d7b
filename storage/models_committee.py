"""Committee tables (issue 5): members' committee attributes, meetings, placed cases, decisions."""

from __future__ import annotations
