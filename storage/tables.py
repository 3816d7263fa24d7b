"""Every table of the storage layer, registered on one metadata.

The feature tables live in their own modules (`models_committee`, `models_drafts`, `models_figures`,
`models_minihta`), which build on `storage.models` and attach relationships to its `Case`
(`Case.meeting_slot`, `Case.decision`, `Case.peer_assignments`). Importing this module imports
them all, so that whatever needs every table (the migrations' autogeneration target, backups,
fsck, the engine and the unit of work) sees them: use `metadata` from here, never
`storage.models.Base.metadata`, which holds only the tables imported so far.
"""

from __future__ import annotations

from storage import models_committee, models_drafts, models_figures, models_minihta
from storage.models import Base

metadata = Base.metadata

__all__ = ["metadata", "models_committee", "models_drafts", "models_figures", "models_minihta"]
