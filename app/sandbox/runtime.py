"""The sandbox instance shared by all routes of one app: settings, state, faults and request log."""

from __future__ import annotations

from collections import deque
from typing import Any

from starlette.requests import Request

from app.sandbox.config import SandboxConfig
from app.sandbox.faults import FaultSet
from app.sandbox.state import SandboxState


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        self.initial_config = config.model_copy(deep=True)
        self.config = config.model_copy(deep=True)
        self.state = SandboxState(self.config)
        self.faults = FaultSet()
        self.request_log: deque[dict[str, Any]] = deque(maxlen=self.config.request_log_limit)

    def reset(self) -> None:
        """Return to the seeded state with the start-up settings, no faults and an empty log."""
        self.config = self.initial_config.model_copy(deep=True)
        self.state.config = self.config
        self.state.reset()
        self.faults.clear()
        self.request_log = deque(maxlen=self.config.request_log_limit)

    def update_config(self, changes: dict[str, Any]) -> None:
        merged = {**self.config.model_dump(), **changes}
        self.config = SandboxConfig.model_validate(merged)
        self.state.config = self.config
        if self.request_log.maxlen != self.config.request_log_limit:
            self.request_log = deque(self.request_log, maxlen=self.config.request_log_limit)

    def base_url(self, request: Request) -> str:
        """Return the base URL for links the sandbox hands out, without a trailing slash."""
        if self.config.public_base_url:
            return self.config.public_base_url.rstrip("/")
        return str(request.base_url).rstrip("/")


def get_sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox
