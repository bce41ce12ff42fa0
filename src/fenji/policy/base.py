"""Shared building blocks of the policy models: strict base model and bilingual text."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from fenji.policy.numbers import parse_number

#: An exact number written as 1000000, 1,000,000, 100万 or 1.2亿.
Amount = Annotated[Decimal, BeforeValidator(parse_number)]


class Strict(BaseModel):
    """Base: unknown keys are errors, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Text(Strict):
    """A display name in Chinese and English; a plain string sets both."""

    zh: str
    en: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"zh": value, "en": value}
        return value

    def get(self, lang: str) -> str:
        return self.en if lang == "en" and self.en else self.zh
