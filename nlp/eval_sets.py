"""The evaluation sets: loaders for the public sets in ``../shared/realdata`` (each loader
describes its format) and for the project's hand-annotated sets in ``data/eval`` (see
data/eval/README.md). ``nlp.evaluation`` scores the pipeline on them.
"""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cityradar.records import SENTIMENT_LABELS, CityMention

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REALDATA = REPO_ROOT.parent / "shared" / "realdata"
DEFAULT_EVAL_DIR = REPO_ROOT / "data" / "eval"
# The blind set: written from the annotation guide alone by someone who never saw the rules
# (data/eval/blind/README.md). Scored, never tuned on; its misses are never printed.
BLIND_FILE = Path("blind") / "cities.jsonl"
# The fresh sets: dev-style rounds held out from every trainer and rule writer (round 10, then
# round 12, written alongside round 11, which the metonymy model trains on); data/eval/fresh*/.
FRESH_FILE = Path("fresh") / "cities.jsonl"
FRESH2_FILE = Path("fresh2") / "cities.jsonl"
# SemEval-2017 task 5 headlines carry a score in [-1, 1]; |score| < this band is "neutral".
# 0.1 keeps the clearly-toned headlines (about 85% of the set) polar, as the scores cluster
# away from zero; the band is the only free choice in this mapping.
SEMEVAL_NEUTRAL_BAND = 0.1
XLMT_LANGUAGES = {
    "arabic": "ar", "english": "en", "french": "fr", "german": "de", "hindi": "hi",
    "italian": "it", "portuguese": "pt", "spanish": "es",
}
XLMT_LABELS = {"0": "negative", "1": "neutral", "2": "positive"}
# lingua_sentences names Norwegian by its two written standards; the project reports "no".
_LANGUAGE_FILE_CODES = {"nb": "no", "nn": "no"}


class EvaluationDataError(ValueError):
    """An evaluation set is missing or malformed; the message names the file (and line)."""


# ---------------------------------------------------------------------------------------------
# Loaders for the public sets


@dataclass(frozen=True, slots=True)
class LabelledText:
    group: str  # usually the language
    text: str
    label: str


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise EvaluationDataError(f"{path}: {what} not found (expected a directory)")
    return path


def _require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise EvaluationDataError(f"{path}: {what} not found")
    return path


def _lines(path: Path) -> list[str]:
    """Text lines of a file, UTF-8, falling back to ISO-8859-1 (some public sets use it)."""
    raw = _require_file(path, "data file").read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        log.info("%s is not UTF-8; reading it as ISO-8859-1", path)
        text = raw.decode("iso-8859-1")
    # split on newlines only: str.splitlines() also breaks at U+2028, U+0085 ... inside texts
    return [line.rstrip("\r") for line in text.split("\n")]


def _limited(items: Iterable[LabelledText], limit: int | None) -> list[LabelledText]:
    """At most ``limit`` items per group, in file order."""
    kept: list[LabelledText] = []
    seen: Counter[str] = Counter()
    for item in items:
        if limit is not None and seen[item.group] >= limit:
            continue
        seen[item.group] += 1
        kept.append(item)
    return kept


def load_lingua_sentences(
    directory: Path, languages: Iterable[str] | None = None, limit: int | None = None
) -> list[LabelledText]:
    """lingua's test sentences: ``<iso639-1>.txt``, one sentence per line (nb/nn -> no)."""
    wanted = None if languages is None else set(languages)
    items: list[LabelledText] = []
    for path in sorted(_require_dir(directory, "lingua_sentences").glob("*.txt")):
        code = _LANGUAGE_FILE_CODES.get(path.stem, path.stem)
        if wanted is not None and code not in wanted:
            continue
        items.extend(
            _limited((LabelledText(code, line.strip(), code)
                      for line in _lines(path) if line.strip()), limit)
        )
    return items


def _wili_codes(labels_csv: Path) -> dict[str, str]:
    """WiLI label (ISO 639-3-ish) -> the ISO 639-1 code the project uses, from labels.csv."""
    codes: dict[str, str] = {}
    with _require_file(labels_csv, "WiLI labels.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            label, wiki = (row.get("Label") or "").strip(), (row.get("Wiki Code") or "").strip()
            if label:
                codes[label] = _LANGUAGE_FILE_CODES.get(wiki, wiki) or label
    return codes


def load_wili(directory: Path, limit: int | None = None) -> list[LabelledText]:
    """WiLI-2018 subset: ``x_test.txt`` paragraphs, ``y_test.txt`` labels, ``labels.csv``."""
    directory = _require_dir(directory, "wili2018_subset")
    codes = _wili_codes(directory / "labels.csv")
    texts = _lines(directory / "x_test.txt")
    labels = _lines(directory / "y_test.txt")
    if len(texts) != len(labels):
        raise EvaluationDataError(
            f"{directory}: x_test.txt has {len(texts)} lines but y_test.txt has {len(labels)}"
        )
    items = (
        LabelledText(codes.get(label.strip(), label.strip()), text.strip(),
                     codes.get(label.strip(), label.strip()))
        for text, label in zip(texts, labels, strict=True) if text.strip()
    )
    return _limited(items, limit)


def load_xlmt(directory: Path, limit: int | None = None, split: str = "val") -> list[LabelledText]:
    """XLM-T tweets: ``<language>/<split>_text.txt`` + ``<split>_labels.txt`` (0/1/2)."""
    items: list[LabelledText] = []
    for sub in sorted(_require_dir(directory, "xlmt_tweets").iterdir()):
        code = XLMT_LANGUAGES.get(sub.name)
        if code is None or not sub.is_dir():
            continue
        texts = _lines(sub / f"{split}_text.txt")
        labels = _lines(sub / f"{split}_labels.txt")
        if len(texts) != len(labels):
            raise EvaluationDataError(f"{sub}: {len(texts)} texts but {len(labels)} labels")
        rows = []
        for number, (text, label) in enumerate(zip(texts, labels, strict=True), start=1):
            if label.strip() not in XLMT_LABELS:
                raise EvaluationDataError(
                    f"{sub / f'{split}_labels.txt'}:{number}: label {label!r} is not 0, 1 or 2"
                )
            rows.append(LabelledText(code, text.strip(), XLMT_LABELS[label.strip()]))
        items.extend(_limited(rows, limit))
    return items


def semeval_label(score: float, band: float = SEMEVAL_NEUTRAL_BAND) -> str:
    if score <= -band:
        return "negative"
    if score >= band:
        return "positive"
    return "neutral"


def load_semeval_headlines(path: Path, limit: int | None = None) -> list[LabelledText]:
    """SemEval-2017 task 5 headlines: a JSON list of {"title", "sentiment": -1..1}."""
    try:
        data = json.loads(_require_file(path, "SemEval headlines").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EvaluationDataError(f"{path}: invalid JSON: {exc.msg} (line {exc.lineno})") from exc
    if not isinstance(data, list):
        raise EvaluationDataError(f"{path}: expected a JSON list of headlines")
    rows = []
    for index, entry in enumerate(data):
        try:
            rows.append(LabelledText("en", str(entry["title"]),
                                     semeval_label(float(entry["sentiment"]))))
        except (KeyError, TypeError, ValueError) as exc:
            raise EvaluationDataError(f"{path}: item {index}: bad headline ({exc})") from exc
    return _limited(rows, limit)


def load_financial_phrasebank(path: Path, limit: int | None = None) -> list[LabelledText]:
    """Financial PhraseBank: ``sentence@label`` per line (UTF-8 or ISO-8859-1)."""
    rows = []
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        text, sep, label = line.rpartition("@")
        label = label.strip()
        if not sep or label not in SENTIMENT_LABELS:
            raise EvaluationDataError(
                f"{path}:{number}: expected 'sentence@label', got {line!r:.60}"
            )
        rows.append(LabelledText("en", text.strip(), label))
    return _limited(rows, limit)


# ---------------------------------------------------------------------------------------------
# The project's annotated sets (data/eval/*.jsonl)


@dataclass(slots=True)
class AnnotatedSentence:
    id: str
    lang: str
    text: str
    split: str = "test"  # "dev" (used while improving rules) or "test" (held out)
    mentions: list[CityMention] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    city_sentiment: dict[str, str] = field(default_factory=dict)  # city id -> label
    round: int | None = None  # the annotation round that wrote it (data/eval/README.md)


def _field(entry: dict[str, Any], key: str, kind: type, where: str, default: Any = None) -> Any:
    value = entry.get(key, default)
    if not isinstance(value, kind):
        raise EvaluationDataError(f"{where}: '{key}' must be a {kind.__name__}, got {value!r:.40}")
    return value


def _parse_annotated(entry: Any, where: str) -> AnnotatedSentence:
    if not isinstance(entry, dict):
        raise EvaluationDataError(f"{where}: expected a JSON object")
    text = _field(entry, "text", str, where)
    mentions = []
    for index, raw in enumerate(_field(entry, "mentions", list, where, [])):
        at = f"{where}: mentions[{index}]"
        if not isinstance(raw, dict):
            raise EvaluationDataError(f"{at}: expected an object")
        start, end = _field(raw, "start", int, at), _field(raw, "end", int, at)
        surface = _field(raw, "surface", str, at)
        if text[start:end] != surface:
            raise EvaluationDataError(
                f"{at}: text[{start}:{end}] is {text[start:end]!r}, not the surface {surface!r}"
            )
        kind = _field(raw, "kind", str, at, "place")
        if kind not in ("place", "government"):
            raise EvaluationDataError(f"{at}: kind must be place or government, got {kind!r}")
        mentions.append(CityMention(_field(raw, "city", str, at), surface, start, end, kind))
    sentiment = _field(entry, "city_sentiment", dict, where, {})
    for city, label in sentiment.items():
        if label not in SENTIMENT_LABELS:
            raise EvaluationDataError(f"{where}: city_sentiment.{city}: bad label {label!r}")
    topics = _field(entry, "topics", list, where, [])
    return AnnotatedSentence(
        id=str(entry.get("id", where)), lang=_field(entry, "lang", str, where), text=text,
        split=_field(entry, "split", str, where, "test"), mentions=mentions,
        topics=[str(t) for t in topics], city_sentiment=dict(sentiment),
        round=_field(entry, "round", int, where) if "round" in entry else None,
    )


def load_annotated(
    path: Path, split: str | None = None, limit: int | None = None
) -> list[AnnotatedSentence]:
    """Annotated JSON lines (see data/eval/README.md); ``split`` keeps only dev or test."""
    sentences: list[AnnotatedSentence] = []
    seen: Counter[str] = Counter()
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvaluationDataError(f"{where}: invalid JSON: {exc.msg}") from exc
        sentence = _parse_annotated(entry, where)
        if split not in (None, "all") and sentence.split != split:
            continue
        if limit is not None and seen[sentence.lang] >= limit:
            continue
        seen[sentence.lang] += 1
        sentences.append(sentence)
    if not sentences:
        raise EvaluationDataError(f"{path}: no annotated sentences (split={split or 'all'})")
    return sentences
