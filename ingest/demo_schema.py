"""The schema of ``config/demo/*.yaml``, the SYNTHETIC demo corpus (ingest/demo_corpus.py).

Validated by ``cityradar.config.validate``: an unknown key, a wrong type or a missing field is a
one-line ``ConfigError`` naming the file and the field path.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from cityradar.config import ConfigModel, check

Tone = Literal["negative", "neutral", "positive"]


class TemplateSchema(ConfigModel):
    title: str
    summary: str


class DemoCitySchema(ConfigModel):
    media: float
    names: Annotated[dict[str, str], check(lambda names: "en" in names, "en: missing")]
    districts: list[str]
    landmarks: list[str]
    foods: list[str]
    events: list[str]


class DemoCitiesFile(ConfigModel):
    """demo/cities.yaml: city id -> the places and things its stories name."""

    cities: dict[str, DemoCitySchema]


class DemoOutletSchema(ConfigModel):
    name: str
    domain: str
    country: str
    language: str
    voice: Literal["foreign", "own"] = "foreign"
    city: str | None = None


class DemoOutletsFile(ConfigModel):
    """demo/outlets.yaml: language shares, the own-voice share and the outlets."""

    languages: Annotated[dict[str, float], check(
        lambda shares: "en" in shares, "English templates are required (en: missing)")]
    own_voice_share: Annotated[float, Field(ge=0, le=1)] = 0.0
    outlets: list[DemoOutletSchema]


class DemoLanguageFile(ConfigModel):
    """demo/<language>.yaml: templates.<topic>.<tone> and government.<tone> story lists."""

    language: str | None = None
    templates: dict[str, dict[Tone, list[TemplateSchema]]]
    government: dict[Tone, list[TemplateSchema]] = Field(default_factory=dict)


class PickupSchema(TemplateSchema):
    lag: int
    outlet: str
    language: str


class StorySchema(TemplateSchema):
    city: str
    date: Annotated[date, Field(strict=False)]  # YAML date or an ISO string
    outlet: str
    topic: str
    pickups: list[PickupSchema]


class PickupsFile(ConfigModel):
    """demo/pickups.yaml: own-voice stories and their foreign pick-ups."""

    stories: list[StorySchema]
