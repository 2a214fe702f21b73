"""The ``hooks:`` section: one shared secret per source that may notify the hub of upstream changes.

::

    hooks:
      erp:
        secret: a-long-random-string    # or CRMHUB_HOOKS__ERP__SECRET=...
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

MIN_SECRET_LENGTH = 16


class HookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: SecretStr
    #: A signed notification older (or newer) than this is refused, so a captured one cannot be replayed.
    max_age_seconds: int = Field(default=300, ge=1, le=86_400)

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters")
        return value
