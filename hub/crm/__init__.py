"""The CRM side of the hub: sales reps, territories, leads, opportunities, competitor notes, activities
and the customer timeline, stored in the hub's own database (tables ``crm_*``, migration 0002)."""

from . import models
from .episodes import SILO_EPISODES, Episode, EpisodeProvider, EpisodeRegistry

__all__ = ["SILO_EPISODES", "Episode", "EpisodeProvider", "EpisodeRegistry", "models"]
