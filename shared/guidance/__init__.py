"""Learning from reviewers: an agent's recent rejections and edits, summarised into guidance
lines for its later prompts."""

from shared.guidance.store import (
    clear_guidance,
    current_guidance,
    guidance_of,
    refresh_guidance,
)
from shared.guidance.summary import (
    DraftText,
    Edit,
    Guidance,
    Review,
    edit_from_content,
    summarise_reviews,
)

__all__ = [
    "DraftText",
    "Edit",
    "Guidance",
    "Review",
    "clear_guidance",
    "current_guidance",
    "edit_from_content",
    "guidance_of",
    "refresh_guidance",
    "summarise_reviews",
]
