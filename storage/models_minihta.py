"""Mini-HTA tables (issue 6): attachments, reviewer assignments, conflicts, publications."""

from __future__ import annotations
