"""One settings object for every path and URL shopsense uses (env vars ``SHOPSENSE_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the workspace lives and how to reach the store; read from ``SHOPSENSE_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="SHOPSENSE_", extra="ignore")

    home: Path = Field(default=Path(".shopsense"), description="Workspace directory.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in home.")
    api_key: str | None = Field(default=None, description="Key required by admin endpoints.")
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
