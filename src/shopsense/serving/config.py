"""Serving options read from ``SHOPSENSE_*`` variables beside the core settings (A/B share, reload period)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServingConfig(BaseSettings):
    """How the server serves: the share of users on the candidate version and how often it checks the registry."""

    model_config = SettingsConfigDict(env_prefix="SHOPSENSE_", extra="ignore")

    ab_share: float = Field(default=0.0, ge=0.0, le=1.0, description="Share of users served the candidate.")
    reload_interval_s: float = Field(default=1.0, ge=0.0, description="Registry check period (hot reload).")
