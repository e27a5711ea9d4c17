"""The outlet registry: which outlet a domain belongs to, and whose voice it is.

``config/outlets.yaml`` maps registered domains to an outlet name, country of origin (ISO
3166-1 alpha-2), main language, type and voice. Voice ``own`` marks the cities' and China's own
foreign-language channels (CGTN, China Daily, SHINE, iChongqing…): their coverage is the
cities' own communication, not foreign opinion, and every count can be split by it.

Lookup matches a host to the longest registered suffix on a label boundary, so
``news.bbc.co.uk`` and ``www.bbc.co.uk`` find ``bbc.co.uk`` while ``global.chinadaily.com.cn``
could be registered on its own. A plain suffix match over the registry needs no public-suffix
list: only registered domains can match, and public suffixes (``co.uk``) are never registered.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator

from cityradar.config import ConfigError, ConfigModel, check, load_yaml, validate
from cityradar.records import Article

log = logging.getLogger(__name__)

OUTLET_TYPES = frozenset(
    {"wire", "national", "regional", "broadcaster", "state_media", "magazine", "digital"}
)
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
_DOMAIN = re.compile(r"^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


@dataclass(frozen=True, slots=True)
class Outlet:
    domain: str  # the registered domain, e.g. "bbc.co.uk"
    name: str
    country: str  # ISO 3166-1 alpha-2 of the outlet's country of origin
    language: str  # main language of the registered domain
    type: str  # one of OUTLET_TYPES
    voice: str  # "foreign" | "own"


def host_of(url_or_domain: str) -> str:
    """The lowercase host of a URL or bare domain, without ``www.``, port or trailing dot."""
    text = url_or_domain.strip()
    if "://" in text:
        host = urlsplit(text).hostname or ""
    else:
        host = text.split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    return host.lower().rstrip(".").removeprefix("www.")


class OutletRegistry:
    def __init__(self, outlets: list[Outlet]) -> None:
        self._by_domain: dict[str, Outlet] = {}
        for outlet in outlets:
            if outlet.domain in self._by_domain:
                raise ConfigError(f"outlets: domain {outlet.domain} registered twice")
            self._by_domain[outlet.domain] = outlet

    @classmethod
    def from_config(cls, config_dir: Path | str) -> OutletRegistry:
        """Load ``<config_dir>/outlets.yaml``; a missing or invalid file is a ConfigError."""
        path = Path(config_dir) / "outlets.yaml"
        return cls(_parse(load_yaml(path), str(path)))

    def __len__(self) -> int:
        return len(self._by_domain)

    def __iter__(self):
        return iter(self._by_domain.values())

    def lookup(self, url_or_domain: str) -> Outlet | None:
        """The outlet whose registered domain is the longest suffix of the host, if any."""
        host = host_of(url_or_domain)
        labels = host.split(".")
        for start in range(len(labels) - 1):
            outlet = self._by_domain.get(".".join(labels[start:]))
            if outlet is not None:
                return outlet
        return None

    def apply(self, article: Article) -> Article:
        """A copy of ``article`` with outlet, domain, country and language hint filled where the
        source left them empty, and voice ``own`` when the outlet is an own channel.

        Voice only ever moves to ``own``: a source configured as own stays own even when its
        domain is not registered, and an own outlet's article is own however it arrived.
        """
        outlet = self._match(article)
        if outlet is None:
            return article
        changes: dict[str, Any] = {}
        if not article.outlet:
            changes["outlet"] = outlet.name
        if not article.domain:
            changes["domain"] = outlet.domain
        if not article.country:
            changes["country"] = outlet.country
        if not article.language_hint:
            changes["language_hint"] = outlet.language
        if outlet.voice == "own" and article.voice != "own":
            changes["voice"] = "own"
        return dataclasses.replace(article, **changes) if changes else article

    def apply_all(self, articles: list[Article]) -> list[Article]:
        return [self.apply(article) for article in articles]

    def _match(self, article: Article) -> Outlet | None:
        # The URL's host is the strongest evidence; a source-given domain comes next (feeds of
        # aggregators keep the outlet's domain there while the link points elsewhere).
        if article.url.startswith(("http://", "https://")):
            outlet = self.lookup(article.url)
            if outlet is not None:
                return outlet
        return self.lookup(article.domain) if article.domain else None


# The schema of outlets.yaml (cityradar.config.validate turns its errors into ConfigErrors).
def _domain(value: str) -> str:
    domain = value.lower().removeprefix("www.")
    if not _DOMAIN.match(domain):
        raise ValueError("not a domain name")
    return domain


def _spec(spec: list[Any]) -> list[str]:
    """``[name, language, type]`` or ``[name, language, type, country]``."""
    if len(spec) not in (3, 4):
        raise ValueError("expected [name, language, type] or [name, language, type, country]")
    name, language, kind, *country = (str(v) for v in spec)
    if country and not _COUNTRY.match(country[0]):
        raise ValueError(f"country {country[0]!r} is not an ISO alpha-2 code")
    if not _LANGUAGE.match(language):
        raise ValueError(f"language {language!r} is not a language code")
    if kind not in OUTLET_TYPES:
        raise ValueError(f"type {kind!r} is not one of {', '.join(sorted(OUTLET_TYPES))}")
    return [name, language, kind, *country]


class OutletGroup(ConfigModel):
    country: Annotated[str, check(lambda v: bool(_COUNTRY.match(v)),
                                  "expected an ISO alpha-2 code, got {value!r}")]
    voice: Literal["foreign", "own"] = "foreign"
    outlets: Annotated[
        dict[Annotated[str, AfterValidator(_domain)], Annotated[list[Any], AfterValidator(_spec)]],
        check(bool, "expected a mapping domain: [name, lang, type]")]


class OutletsFile(ConfigModel):
    groups: list[OutletGroup]


def _parse(data: Any, where: str) -> list[Outlet]:
    outlets: list[Outlet] = []
    for group in validate(OutletsFile, data, where).groups:
        for domain, (name, language, kind, *country) in group.outlets.items():
            outlets.append(Outlet(domain=domain, name=name, country=(country or [group.country])[0],
                                  language=language, type=kind, voice=group.voice))
    return outlets
