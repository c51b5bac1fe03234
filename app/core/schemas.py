"""The base of every DTO: camelCase on the wire, either spelling accepted on input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, field_validator
from pydantic.alias_generators import to_camel


class Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class InputSchema(Schema):
    """A request body: unknown fields are an error, not silently dropped.

    A date-time without a time zone is taken as UTC, so two times of one request always
    compare, whichever of them carries an offset.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    @field_validator("*")
    @classmethod
    def _assume_utc(cls, value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# LinkedIn's ids are PostgreSQL bigints here, so a larger number is refused as input (422)
# instead of overflowing in the database.
MAX_BIGINT = 2**63 - 1
AccountId = Annotated[
    int, Path(ge=1, le=MAX_BIGINT, description="LinkedIn's numeric sponsored account id")
]
