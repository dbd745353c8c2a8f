"""One settings object for every path and URL shopsense uses (env vars ``SHOPSENSE_*``)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_RATE = re.compile(r"^\s*(\d{1,9})\s*/\s*(second|minute|hour|day)s?\s*$", re.IGNORECASE)
_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_rate(text: str) -> tuple[int, int] | None:
    """``"20/minute"`` as (20, 60) seconds; ``"off"`` as None (no limit)."""
    if text.strip().lower() in ("off", "none", "0", ""):
        return None
    match = _RATE.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a rate: write N/second, N/minute, N/hour or N/day (e.g. 20/minute), "
                         "or off")
    return int(match.group(1)), _PERIODS[match.group(2).lower()]


class Settings(BaseSettings):
    """Where the workspace lives and how to reach the store; read from ``SHOPSENSE_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="SHOPSENSE_", extra="ignore")

    home: Path = Field(default=Path(".shopsense"), description="Workspace directory.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in home.")
    api_key: str | None = Field(default=None, description="Key required by admin endpoints and pages; with none "
                                                          "set the admin surface is off.")
    secret: str | None = Field(default=None, description="Signs shopper tokens and the server's cookies (32+ "
                                                         "characters); default: generated into <home>/secret.key.")
    store_name: str | None = Field(default=None, description="The store's name on every page and in the chat "
                                                              "widget (default: store.json's, else 'Our shop').")
    store_currency: str | None = Field(default=None, description="ISO 4217 code for items that name no currency.")
    store_locale: str | None = Field(default=None, description="How prices and numbers read: en_GB, de_DE, zh_CN.")
    store_logo: str | None = Field(default=None, description="Logo URL (or /static/... path) for the header.")
    demo: bool = Field(default=False, description="Demo mode: the storefront offers the demo shoppers to sign in as.")
    chat_rate_limit: str = Field(default="20/minute", description="Chat turns per client (N/second|minute|hour; "
                                                                  "'off' to disable). Shared by every process.")
    copy_rate_limit: str = Field(default="10/minute", description="Copy generations per client (shared).")
    search_rate_limit: str = Field(default="600/minute", description="Searches per client (per process).")
    recommend_rate_limit: str = Field(default="1200/minute",
                                      description="Recommendation and similar-item lists per client (per process).")
    events_rate_limit: str = Field(default="1200/minute", description="Event posts per client (per process).")
    chat_concurrency: int = Field(default=4, ge=1, description="Chat turns and copy generations run at once per "
                                                               "process; more wait, then get 503.")
    open_reads: bool = Field(default=True, description="Serve read endpoints without a key.")
    encoder_backend: str = Field(default="onnx", description="onnx | torch | multilingual")
    encoder_threads: int = Field(default=2, ge=1)
    seed: int = 42
    generator: str = Field(default="template", description="Reply/copy writer: template | local | openai.")
    llm_url: str | None = Field(default=None, description="OpenAI-compatible base URL for generator=openai.")
    llm_model: str = Field(default="default", description="Model name sent to the OpenAI-compatible server.")
    llm_api_key: str | None = Field(default=None, description="Bearer key for the OpenAI-compatible server.")
    llm_model_path: Path | None = Field(default=None, description="GGUF file for generator=local.")
    builtin_cache: Path = Field(default=Path.home() / ".cache" / "shopsense" / "builtin",
                              description="Machine-wide cache of the built-in models trained on packaged data "
                                          "only (never on a store's data), shared by every workspace.")

    @field_validator("chat_rate_limit", "copy_rate_limit", "search_rate_limit", "recommend_rate_limit",
                     "events_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'store.db').resolve()}"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def ensure_dirs(self) -> None:
        for path in (self.home, self.artifacts_dir, self.cache_dir):
            path.mkdir(parents=True, exist_ok=True)


def get_settings(home: Path | str | None = None) -> Settings:
    """Settings from the environment, with ``home`` (the CLI's ``--home``) taking precedence."""
    if home is not None:
        return Settings(home=Path(home))
    return Settings()
