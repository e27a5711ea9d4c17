"""Turn the hand-written annotations in data/eval/source/*.txt into JSON lines.

    .venv/bin/python data/eval/build.py   # cities.jsonl, topics.jsonl, fresh*/cities.jsonl
    .venv/bin/python data/eval/build.py --check FILE...   # an annotator's files: errors, tally

Source lines: ``lang | text | mentions | topics`` where mentions is ``-`` or
``city:surface:kind[:tone]; ...`` (kind ``p`` place or ``g`` government; tone ``-``, ``0``,
``+`` = the sentiment toward that city, given once per city) and topics is a space-separated
list of short topic names (see TOPIC_NAMES). Only the offsets are computed here: each surface
is looked up in the text after the previous mention, as a whole word in spaced scripts, and
the span is checked to equal the surface. The labels are the annotator's.
``source/dev/<lang>.txt`` (same format) holds extra development sentences: all ``split: dev``,
ids ``<lang>-dNN``; the split of ``source/<lang>.txt`` lines is unchanged by them.
``fresh/source/<lang>.txt`` and ``fresh2/source/<lang>.txt`` (same format): the fresh
held-out sets (rounds 10 and 12), written to ``fresh/cities.jsonl`` and ``fresh2/cities.jsonl``
(ids ``<lang>-fNN`` and ``<lang>-gNN``, never read by a trainer; see their README.md).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parents[1] / "config"
TOPIC_NAMES = {
    "ph": "public_health", "pol": "politics_diplomacy", "eco": "economy_business",
    "tech": "technology", "tour": "tourism", "food": "food", "cult": "culture_heritage",
    "panda": "pandas_wildlife", "sport": "sport_events", "env": "environment_disasters",
    "crime": "crime_safety", "soc": "society_rights", "edu": "education_science",
}
KINDS = {"p": "place", "g": "government"}
TONES = {"-": "negative", "0": "neutral", "+": "positive"}
DEV_EVERY = 3  # every third sentence of each language is in the "dev" split
# "# Round 2 (issue 13): ...", "# Extra dev sentences (issue 13, round 4), ...": the lines below
# were written in that annotation round (the test split and the first dev lines are round 1)
# the held-out fresh sets (nlp/eval_sets.py FRESH_FILE, FRESH2_FILE) and their id prefixes
FRESH_SETS = (("fresh", "f"), ("fresh2", "g"))
ROUND_MARKER = re.compile(r"^# (?:Round (\d+) \(|Extra dev sentences \(issue \d+, round (\d+)\))")


def _spaced(char: str) -> bool:
    """A letter of a script that separates words with spaces (Latin, Greek, Cyrillic)."""
    return char.isalnum() and ord(char) < 0x0590


def find_surface(text: str, surface: str, start_at: int) -> int:
    position = text.find(surface, start_at)
    while position >= 0:
        before = text[position - 1] if position else " "
        after = text[position + len(surface)] if position + len(surface) < len(text) else " "
        if not (_spaced(before) and _spaced(surface[0])) and not (
            _spaced(after) and _spaced(surface[-1])
        ):
            return position
        position = text.find(surface, position + 1)
    raise ValueError(f"surface {surface!r} not found as a word after offset {start_at}")


def parse_line(line: str, cities: set[str], topics: set[str]) -> dict:
    parts = [part.strip() for part in line.split("|")]
    if len(parts) != 4:
        raise ValueError(f"expected 'lang | text | mentions | topics', got {len(parts)} fields")
    lang, text, mention_field, topic_field = parts
    mentions: list[dict] = []
    tones: dict[str, str] = {}
    cursor = 0
    if mention_field != "-":
        for item in mention_field.split(";"):
            city, surface, *rest = item.strip().split(":")
            kind = KINDS[rest[0]] if rest else "place"
            if city not in cities:
                raise ValueError(f"unknown city id {city!r}")
            start = find_surface(text, surface, cursor)
            end = start + len(surface)
            assert text[start:end] == surface
            mentions.append({"city": city, "surface": surface, "start": start, "end": end,
                             "kind": kind})
            cursor = end
            if len(rest) > 1:
                tones[city] = TONES[rest[1]]
        missing = {m["city"] for m in mentions} - set(tones)
        if missing:
            raise ValueError(f"no tone given for {sorted(missing)}")
    topic_ids = [TOPIC_NAMES[name] for name in topic_field.split()]
    unknown = set(topic_ids) - topics
    if unknown:
        raise ValueError(f"topic ids not in config/topics.yaml: {sorted(unknown)}")
    return {"lang": lang, "text": text, "mentions": mentions, "city_sentiment": tones,
            "topics": topic_ids}


def read_source(path: Path, cities: set[str], topics: set[str],
                first_round: int | None = None) -> tuple[list[dict], int]:
    """The parsed lines of one source file and how many lines failed (each printed as
    ``file:line: reason``). With ``first_round``, each record also gets ``round``: the
    annotation round a ``# ... round N ...`` comment line above it names (``first_round``
    above the first such comment)."""
    records: list[dict] = []
    errors = 0
    annotation_round = first_round
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("#") and first_round is not None:
            marker = ROUND_MARKER.search(line)
            annotation_round = int(marker.group(1) or marker.group(2)) if marker \
                else annotation_round
        if not line.strip() or line.startswith("#"):
            continue
        try:
            record = parse_line(line, cities, topics)
            if annotation_round is not None:
                record["round"] = annotation_round
            records.append(record)
        except (ValueError, KeyError) as exc:
            where = path.relative_to(HERE) if path.is_relative_to(HERE) else path
            print(f"{where}:{number}: {exc}", file=sys.stderr)
            errors += 1
    return records, errors


def write_lines(path: Path, records: list[dict], keep: tuple[str, ...]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for r in records:
            out.write(json.dumps({k: r[k] for k in keep}, ensure_ascii=False) + "\n")


def check(paths: list[Path], cities: set[str], topics: set[str]) -> int:
    """The annotators' validator (ANNOTATION_BRIEF.md): every bad line as ``file:line:
    reason``, then per file the counts a brief asks for; 1 if any line is bad."""
    errors = 0
    for path in paths:
        parsed, failed = read_source(path, cities, topics)
        errors += failed
        tones = [tone for r in parsed for tone in r["city_sentiment"].values()]
        government = sum(m["kind"] == "government" for r in parsed for m in r["mentions"])
        print(f"{path}: {len(parsed)} sentences, tones negative {tones.count('negative')} / "
              f"positive {tones.count('positive')} / neutral {tones.count('neutral')}, "
              f"government {government}, two-city "
              f"{sum(len(r['city_sentiment']) >= 2 for r in parsed)}")
    return 1 if errors else 0


def main() -> int:
    cities = {c["id"] for c in yaml.safe_load((CONFIG / "cities.yaml").read_text())["cities"]}
    topics = set(yaml.safe_load((CONFIG / "topics.yaml").read_text())["topics"])
    if sys.argv[1:2] == ["--check"]:
        return check([Path(name) for name in sys.argv[2:]], cities, topics)
    records: list[dict] = []
    errors = 0
    for path in sorted((HERE / "source").glob("*.txt")):
        parsed, failed = read_source(path, cities, topics, first_round=1)
        errors += failed
        records += [{"id": f"{r['lang']}-{n:03d}",
                     "split": "dev" if n % DEV_EVERY == 1 else "test", **r}
                    for n, r in enumerate(parsed, start=1)]
    for path in sorted((HERE / "source" / "dev").glob("*.txt")):
        parsed, failed = read_source(path, cities, topics, first_round=1)  # more dev lines
        errors += failed
        records += [{"id": f"{r['lang']}-d{n:02d}", "split": "dev", **r}
                    for n, r in enumerate(parsed, start=1)]
    fresh: dict[str, list[dict]] = {}
    for directory, prefix in FRESH_SETS:
        fresh[directory] = []
        for path in sorted((HERE / directory / "source").glob("*.txt")):
            parsed, failed = read_source(path, cities, topics)  # held out, never trained on
            errors += failed
            fresh[directory] += [{"id": f"{r['lang']}-{prefix}{n:02d}", "split": "test", **r}
                                 for n, r in enumerate(parsed, start=1)]
    if errors:
        return 1
    annotations = ("id", "lang", "split", "text", "mentions", "city_sentiment")
    write_lines(HERE / "cities.jsonl", records, ("id", "lang", "split", "round", "text",
                                                 "mentions", "city_sentiment"))
    write_lines(HERE / "topics.jsonl", records, ("id", "lang", "split", "text", "topics"))
    for directory, sentences in fresh.items():
        write_lines(HERE / directory / "cities.jsonl", sentences, annotations)
    print(f"{len(records)} sentences, {sum(len(r['mentions']) for r in records)} mentions; "
          + ", ".join(f"{d}/cities.jsonl: {len(s)} sentences" for d, s in fresh.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
