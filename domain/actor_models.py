"""Activity payloads of activities/actors.py: what its activities take and return (pydantic v2).

They live in domain/ so that workflows, services and activities share them without importing
activity code; class names are not in payloads, so moving them keeps stored histories valid.
"""

from __future__ import annotations

from pydantic import BaseModel


class ActorCheck(BaseModel):
    """The verdict on a claimed actor; ``stored`` is what the database says about that id."""

    verified: bool
    reason: str = ""
    stored: str = ""
