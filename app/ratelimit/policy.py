"""Resolution of the sliding windows of a scope: per-scope override, global override, tier."""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.core.settings import RateLimitTier, RateLimitWindows, RateLimitWindowSetting, Settings


@dataclass(frozen=True)
class Window:
    """At most `limit` calls in any span of `milliseconds`."""

    name: str
    limit: int
    milliseconds: int

    @property
    def seconds(self) -> float:
        return self.milliseconds / 1000


# LinkedIn allows an app without partner review 100 calls a day. The limiter's day is a sliding
# 24 hours, so no calendar day (LinkedIn resets at 00:00 UTC) can ever see more than 100.
DEVELOPMENT_WINDOWS: tuple[Window, ...] = (Window("day", 100, 86_400_000),)

# NOTE: 2000 a second is a guess. LinkedIn publishes no partner throughput beyond "several
# thousand a second", so set LINKEDIN_ADS_RATE_LIMIT_WINDOWS to the numbers your app was granted.
STANDARD_WINDOWS: tuple[Window, ...] = (Window("second", 2000, 1000),)

TIER_WINDOWS: dict[RateLimitTier, tuple[Window, ...]] = {
    RateLimitTier.DEVELOPMENT: DEVELOPMENT_WINDOWS,
    RateLimitTier.STANDARD: STANDARD_WINDOWS,
}


def windows_from_setting(windows: RateLimitWindows) -> tuple[Window, ...]:
    """Convert windows from settings, ordered from the shortest to the longest."""
    converted = [_window(name, setting) for name, setting in windows.items()]
    return tuple(sorted(converted, key=lambda window: (window.milliseconds, window.name)))


def _window(name: str, setting: RateLimitWindowSetting) -> Window:
    milliseconds = max(1, math.ceil(setting.seconds * 1000))
    return Window(name, setting.limit, milliseconds)


class RateLimitPolicy:
    """Resolves the windows of each scope once, when the limiter is built."""

    def __init__(self, settings: Settings) -> None:
        tier = settings.linkedin_ads_rate_limit_tier
        if settings.linkedin_ads_rate_limit_windows is not None:
            self.default = windows_from_setting(settings.linkedin_ads_rate_limit_windows)
        else:
            self.default = TIER_WINDOWS[tier]
        self.tier = tier
        self.overrides: dict[str, tuple[Window, ...]] = {}
        for scope, override in settings.linkedin_ads_rate_limit_account_overrides.items():
            if isinstance(override, RateLimitTier):
                self.overrides[scope] = TIER_WINDOWS[override]
            else:
                self.overrides[scope] = windows_from_setting(override)

    def windows_for(self, scope: str) -> tuple[Window, ...]:
        return self.overrides.get(scope, self.default)
