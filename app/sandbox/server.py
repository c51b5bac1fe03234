"""Run the sandbox as its own HTTP server with uvicorn."""

from __future__ import annotations

import logging
import os

import uvicorn

from app.sandbox.app import create_app
from app.sandbox.config import SandboxConfig

logger = logging.getLogger("app.sandbox")


def run(host: str, port: int, config: SandboxConfig | None = None) -> None:
    """Serve the sandbox on host:port until interrupted."""
    config = config or SandboxConfig()
    app = create_app(config)
    # The same variable as the service's, so one setting quiets both in the demo.
    level = os.environ.get("LINKEDIN_ADS_LOG_LEVEL", "INFO").upper()
    if not logger.handlers and not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger.info(
        "LinkedIn sandbox listening on http://%s:%d (OAuth client_id %s)",
        host,
        port,
        config.client_id,
    )
    uvicorn.run(app, host=host, port=port, log_level=level.lower())
