"""In-memory state of the sandbox: members, ad entities, media, OAuth grants and the clock.

Everything here is rebuilt from the seed by `SandboxState.reset`, so ids are the same after every
reset with the same seed. Handlers run on one event loop and do not await between reading and
writing an entity, so no locks are needed.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from app.sandbox.config import SandboxConfig

ACCOUNT_URN = "urn:li:sponsoredAccount:"
GROUP_URN = "urn:li:sponsoredCampaignGroup:"
CAMPAIGN_URN = "urn:li:sponsoredCampaign:"
CREATIVE_URN = "urn:li:sponsoredCreative:"
PERSON_URN = "urn:li:person:"
ORGANIZATION_URN = "urn:li:organization:"

ROLES = (
    "ACCOUNT_BILLING_ADMIN",
    "ACCOUNT_MANAGER",
    "CAMPAIGN_MANAGER",
    "CREATIVE_MANAGER",
    "VIEWER",
)
WRITE_ROLES = frozenset(ROLES) - {"VIEWER"}

# Start of the seeded history: 2025-01-01T00:00:00Z in epoch milliseconds.
SEED_EPOCH_MS = 1_735_689_600_000


@dataclass
class Member:
    urn: str
    first_name: str
    last_name: str
    organizations: list[str]


@dataclass
class Organization:
    urn: str
    name: str


@dataclass
class AdEntity:
    """An ad account, campaign group, campaign or creative with its stored, user-set fields."""

    kind: str
    id: int
    account_id: int
    fields: dict[str, Any]
    created_at: int
    created_by: str
    modified_at: int
    modified_by: str
    version: int = 1
    # Serving holds set through the admin API, such as CAMPAIGN_TOTAL_BUDGET_HOLD.
    holds: list[str] = field(default_factory=list)
    # Creatives only: sandbox-clock seconds when review started, and a forced review result.
    review_started_at: float | None = None
    review_override: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        key = "intendedStatus" if self.kind == "creative" else "status"
        return str(self.fields.get(key, ""))

    def touch(self, actor: str, now_ms: int) -> None:
        self.modified_at = now_ms
        self.modified_by = actor
        self.version += 1

    def audit_stamps(self) -> dict[str, Any]:
        return {
            "created": {"actor": self.created_by, "time": self.created_at},
            "lastModified": {"actor": self.modified_by, "time": self.modified_at},
        }


@dataclass
class UploadPart:
    first_byte: int
    last_byte: int
    secret: str
    etag: str | None = None


@dataclass
class Media:
    """An image, video, document or legacy digital-media asset and its upload progress."""

    urn: str
    kind: str
    owner: str
    member: str
    created_at: float
    upload_secret: str
    declared_size: int | None = None
    recipe: str | None = None
    media_library: dict[str, Any] | None = None
    parts: list[UploadPart] = field(default_factory=list)
    received_bytes: int = 0
    # First bytes of the upload, kept for the file-type check.
    head: bytes = b""
    # Sandbox-clock seconds when processing started (last byte received or finalizeUpload).
    processing_started_at: float | None = None
    failure_reason: str | None = None

    def status(self, now: float, processing_seconds: float) -> str:
        if self.processing_started_at is None:
            return "WAITING_UPLOAD"
        if now < self.processing_started_at + processing_seconds:
            return "PROCESSING"
        return "PROCESSING_FAILED" if self.failure_reason else "AVAILABLE"


@dataclass
class Token:
    value: str
    kind: str  # "access" or "refresh"
    member: str
    client_id: str
    scopes: tuple[str, ...]
    created_at: float
    expires_at: float
    authorized_at: float
    grant_id: int
    revoked: bool = False

    def state(self, now: float) -> str:
        if self.revoked:
            return "revoked"
        if now >= self.expires_at:
            return "expired"
        return "active"


@dataclass
class AuthorizationCode:
    value: str
    member: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    created_at: float
    used: bool = False


class IdSequence:
    """Increasing numeric ids with seeded random gaps, like LinkedIn's sparse ids."""

    def __init__(self, rng: random.Random, start: int) -> None:
        self.rng = rng
        self.current = start

    def next(self) -> int:
        self.current += self.rng.randint(1, 97)
        return self.current


@dataclass(frozen=True)
class SeedAccount:
    member_index: int
    name: str
    currency: str
    status: str
    role: str
    organization_index: int
    test: bool = False


SEED_MEMBERS = (
    ("sandbox-member-1", "Avery", "Chen", (0, 1)),
    ("sandbox-member-2", "Jordan", "Blake", (2,)),
)
SEED_ORGANIZATIONS = ("Northwind Outdoor", "Northwind Labs", "Contoso Fitness")
SEED_ACCOUNTS = (
    SeedAccount(0, "Northwind US", "USD", "ACTIVE", "ACCOUNT_BILLING_ADMIN", 0),
    SeedAccount(0, "Northwind Europe", "EUR", "ACTIVE", "ACCOUNT_MANAGER", 0),
    SeedAccount(0, "Northwind UK", "GBP", "ACTIVE", "CAMPAIGN_MANAGER", 0),
    SeedAccount(0, "Northwind Test Account", "USD", "ACTIVE", "ACCOUNT_BILLING_ADMIN", 1, True),
    SeedAccount(0, "Northwind Legacy", "USD", "CANCELED", "ACCOUNT_MANAGER", 0),
    SeedAccount(0, "Northwind Agency View", "USD", "ACTIVE", "VIEWER", 1),
    SeedAccount(1, "Contoso Fitness", "USD", "ACTIVE", "ACCOUNT_BILLING_ADMIN", 2),
    SeedAccount(1, "Contoso Canada", "CAD", "DRAFT", "ACCOUNT_MANAGER", 2),
)
DEFAULT_GROUP_STATUS = {"ACTIVE": "ACTIVE", "DRAFT": "DRAFT", "CANCELED": "CANCELLED"}


class SandboxState:
    """All mutable sandbox data plus the sandbox clock."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock_offset = 0.0
        self.reset()

    def now(self) -> float:
        """Return the sandbox clock in epoch seconds (real time plus the admin offset)."""
        return time.time() + self.clock_offset

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def reset(self) -> None:
        # Seeded on purpose: ids must repeat after every reset. Tokens use `secrets` instead.
        rng = random.Random(self.config.seed)  # noqa: S311
        self.rng = rng
        self.clock_offset = 0.0
        self.members: dict[str, Member] = {}
        self.organizations: dict[str, Organization] = {}
        self.accounts: dict[int, AdEntity] = {}
        self.roles: dict[tuple[int, str], str] = {}
        self.groups: dict[int, AdEntity] = {}
        self.campaigns: dict[int, AdEntity] = {}
        self.creatives: dict[int, AdEntity] = {}
        self.media: dict[str, Media] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.grant_counter = 0
        # Calls counted against the daily quotas: (UTC day, key) -> count.
        self.quota_counts: dict[tuple[str, str], int] = {}
        self.account_ids = IdSequence(rng, 500_000_000 + rng.randint(0, 9_000_000))
        self.group_ids = IdSequence(rng, 600_000_000 + rng.randint(0, 9_000_000))
        self.campaign_ids = IdSequence(rng, 300_000_000 + rng.randint(0, 9_000_000))
        self.creative_ids = IdSequence(rng, 100_000_000 + rng.randint(0, 9_000_000))
        self.post_ids = IdSequence(rng, 7_100_000_000_000_000_000 + rng.randint(0, 10**9))
        self._seed(rng)

    def _seed(self, rng: random.Random) -> None:
        organization_urns = []
        for name in SEED_ORGANIZATIONS:
            urn = f"{ORGANIZATION_URN}{rng.randint(10_000_000, 99_999_999)}"
            self.organizations[urn] = Organization(urn, name)
            organization_urns.append(urn)
        member_urns = []
        for member_id, first, last, organization_indexes in SEED_MEMBERS:
            urn = f"{PERSON_URN}{member_id}"
            organizations = [organization_urns[index] for index in organization_indexes]
            self.members[urn] = Member(urn, first, last, organizations)
            member_urns.append(urn)
        for offset, seed in enumerate(SEED_ACCOUNTS):
            created = SEED_EPOCH_MS + offset * 86_400_000
            member = member_urns[seed.member_index]
            account = AdEntity(
                kind="account",
                id=self.account_ids.next(),
                account_id=0,
                fields={
                    "name": seed.name,
                    "currency": seed.currency,
                    "status": seed.status,
                    "type": "BUSINESS",
                    "reference": organization_urns[seed.organization_index],
                    "test": seed.test,
                    "notifiedOnCampaignOptimization": True,
                    "notifiedOnCreativeApproval": True,
                    "notifiedOnCreativeRejection": True,
                    "notifiedOnEndOfCampaign": True,
                    "notifiedOnNewFeaturesEnabled": False,
                },
                created_at=created,
                created_by=member,
                modified_at=created,
                modified_by=member,
            )
            account.account_id = account.id
            self.accounts[account.id] = account
            self.roles[(account.id, member)] = seed.role
            group = AdEntity(
                kind="campaignGroup",
                id=self.group_ids.next(),
                account_id=account.id,
                fields={
                    "account": f"{ACCOUNT_URN}{account.id}",
                    "name": "Default Campaign Group",
                    "status": DEFAULT_GROUP_STATUS[seed.status],
                    "runSchedule": {"start": created},
                },
                created_at=created,
                created_by=member,
                modified_at=created,
                modified_by=member,
            )
            self.groups[group.id] = group

    def member_accounts(self, member: str) -> list[AdEntity]:
        """Return the accounts on which `member` has any role, by ascending id."""
        ids = sorted(account_id for account_id, user in self.roles if user == member)
        return [self.accounts[account_id] for account_id in ids]

    def default_group(self, account_id: int) -> AdEntity | None:
        candidates = [g for g in self.groups.values() if g.account_id == account_id]
        return min(candidates, key=lambda g: g.id) if candidates else None

    def next_grant_id(self) -> int:
        self.grant_counter += 1
        return self.grant_counter

    def summary(self) -> dict[str, Any]:
        """Return counts and ids of every entity for `GET /_sandbox/state`."""

        def entity_rows(entities: dict[int, AdEntity]) -> list[dict[str, Any]]:
            return [
                {
                    "id": entity.id,
                    "account": entity.account_id,
                    "name": entity.fields.get("name"),
                    "status": entity.status,
                }
                for entity in sorted(entities.values(), key=lambda e: e.id)
            ]

        now = self.now()
        seconds = self.config.media_processing_seconds
        return {
            "clock": {"now_ms": int(now * 1000), "offset_seconds": self.clock_offset},
            "counts": {
                "accounts": len(self.accounts),
                "campaign_groups": len(self.groups),
                "campaigns": len(self.campaigns),
                "creatives": len(self.creatives),
                "assets": len(self.media),
                "posts": len(self.posts),
                "active_tokens": sum(
                    1
                    for token in self.tokens.values()
                    if token.kind == "access" and token.state(now) == "active"
                ),
            },
            "members": [
                {
                    "urn": member.urn,
                    "name": f"{member.first_name} {member.last_name}",
                    "organizations": member.organizations,
                    "accounts": [
                        {"id": account.id, "role": self.roles[(account.id, member.urn)]}
                        for account in self.member_accounts(member.urn)
                    ],
                }
                for member in self.members.values()
            ],
            "organizations": [
                {"urn": org.urn, "name": org.name} for org in self.organizations.values()
            ],
            "accounts": [
                {
                    "id": account.id,
                    "name": account.fields["name"],
                    "currency": account.fields["currency"],
                    "status": account.fields["status"],
                    "test": account.fields["test"],
                }
                for account in sorted(self.accounts.values(), key=lambda a: a.id)
            ],
            "campaign_groups": entity_rows(self.groups),
            "campaigns": entity_rows(self.campaigns),
            "creatives": entity_rows(self.creatives),
            "assets": [
                {
                    "urn": media.urn,
                    "kind": media.kind,
                    "owner": media.owner,
                    "status": media.status(now, seconds),
                    "bytes": media.received_bytes,
                }
                for media in self.media.values()
            ],
        }
