"""Measuring the NLP stage: metrics and evaluators over the sets of ``nlp.eval_sets``.

Metrics are plain functions over gold/predicted label lists (accuracy, per-label P/R/F1,
macro-F1, confusion counts). Evaluators run the default pipeline's parts on the sets that
``nlp.eval_sets`` loads and return plain, JSON-ready dicts; ``cityradar eval`` prints them.

Every report has the same shape for classification tasks::

    {"overall": {"n", "accuracy", "macro_f1", "confusions": [[gold, predicted, count], ...]},
     "per_group": {group (usually a language): {... same keys ...}}}
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cityradar.records import SENTIMENT_LABELS, Article, CityMention
from nlp.eval_sets import (
    BLIND_FILE,
    DEFAULT_REALDATA,
    FRESH2_FILE,
    FRESH_FILE,
    SEMEVAL_NEUTRAL_BAND,
    AnnotatedSentence,
    LabelledText,
    load_annotated,
    load_financial_phrasebank,
    load_lingua_sentences,
    load_semeval_headlines,
    load_wili,
    load_xlmt,
)

log = logging.getLogger(__name__)

# Only the dev split's misses are ever listed: looking at test or blind errors would turn them
# into tuning data.
MISS_EXAMPLES_SPLITS = ("dev",)

SHORT_TEXT_CHARS = 40  # language ID on texts shorter than this is reported separately
_MISSING = "(none)"  # the "predicted" label of a gold item the system did not produce



# ---------------------------------------------------------------------------------------------
# Metrics


@dataclass(frozen=True, slots=True)
class PRF:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: PRF) -> PRF:
        return PRF(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def to_dict(self) -> dict[str, float | int]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4), "tp": self.tp, "fp": self.fp, "fn": self.fn}


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        return 0.0
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)


def per_label_prf(
    gold: Sequence[str], predicted: Sequence[str], labels: Iterable[str] | None = None
) -> dict[str, PRF]:
    """Single-label classification: one PRF per label (a wrong answer is an fp and an fn)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    chosen = sorted(set(gold) | set(predicted)) if labels is None else list(labels)
    counts = {label: [0, 0, 0] for label in chosen}
    for g, p in zip(gold, predicted, strict=True):
        if g == p:
            if g in counts:
                counts[g][0] += 1
            continue
        if p in counts:
            counts[p][1] += 1
        if g in counts:
            counts[g][2] += 1
    return {label: PRF(*values) for label, values in counts.items()}


def macro_f1(
    gold: Sequence[str], predicted: Sequence[str], labels: Iterable[str] | None = None
) -> float:
    """Unweighted mean F1 over ``labels`` (default: every label seen in gold or predictions)."""
    scores = per_label_prf(gold, predicted, labels)
    return sum(s.f1 for s in scores.values()) / len(scores) if scores else 0.0


def confusion(gold: Sequence[str], predicted: Sequence[str]) -> Counter[tuple[str, str]]:
    """(gold, predicted) -> count, for every pair including the correct ones."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    return Counter(zip(gold, predicted, strict=True))


def top_confusions(
    gold: Sequence[str], predicted: Sequence[str], top: int = 5
) -> list[list[str | int]]:
    """The most frequent errors as [gold, predicted, count], most frequent first."""
    errors = [(pair, n) for pair, n in confusion(gold, predicted).items() if pair[0] != pair[1]]
    errors.sort(key=lambda item: (-item[1], item[0]))
    return [[g, p, n] for (g, p), n in errors[:top]]


def classification_scores(
    gold: Sequence[str], predicted: Sequence[str], labels: Iterable[str] | None = None,
    top: int = 5,
) -> dict[str, Any]:
    label_list = None if labels is None else list(labels)
    return {
        "n": len(gold),
        "accuracy": round(accuracy(gold, predicted), 4),
        "macro_f1": round(macro_f1(gold, predicted, label_list), 4),
        "confusions": top_confusions(gold, predicted, top),
    }


def grouped_scores(
    rows: Sequence[tuple[str, str, str]], labels: Iterable[str] | None = None
) -> dict[str, Any]:
    """``rows`` = (group, gold, predicted): scores per group and overall."""
    label_list = None if labels is None else list(labels)
    by_group: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for group, g, p in rows:
        by_group[group][0].append(g)
        by_group[group][1].append(p)
    return {
        "overall": classification_scores([r[1] for r in rows], [r[2] for r in rows], label_list),
        "per_group": {
            group: classification_scores(g, p, label_list)
            for group, (g, p) in sorted(by_group.items())
        },
    }


# ---------------------------------------------------------------------------------------------
# Evaluators


def language_report(
    items: Sequence[LabelledText], predicted: Sequence[str], short_chars: int = SHORT_TEXT_CHARS
) -> dict[str, Any]:
    """Per-language accuracy; texts shorter than ``short_chars`` also reported on their own."""
    rows = [(item.group, item.label, p) for item, p in zip(items, predicted, strict=True)]
    short = [row for item, row in zip(items, rows, strict=True) if len(item.text) < short_chars]
    long = [row for item, row in zip(items, rows, strict=True) if len(item.text) >= short_chars]
    # macro-F1 over the languages of the set only: a wrong answer outside them still counts
    # (as a recall miss), but such labels get no F1 of their own
    gold_languages = sorted({row[1] for row in rows})
    report = grouped_scores(rows, gold_languages)
    _label_f1_per_group(report, rows)
    report["short_texts"] = (
        {"max_chars": short_chars - 1, **grouped_scores(short, gold_languages)} if short else {}
    )
    report["long_texts"] = grouped_scores(long, gold_languages) if long else {}
    return report


def _label_f1_per_group(report: dict[str, Any], rows: Sequence[tuple[str, str, str]]) -> None:
    """A language group holds one gold label, so a macro-F1 inside it means little: give each
    language the F1 of its own label over the whole set (precision counts texts of other
    languages wrongly given this one)."""
    label_scores = per_label_prf([r[1] for r in rows], [r[2] for r in rows])
    for group, block in report["per_group"].items():
        block.pop("macro_f1", None)
        block["f1"] = round(label_scores[group].f1, 4) if group in label_scores else 0.0


def _match_mentions(
    gold: Sequence[CityMention], predicted: Sequence[CityMention], kind: str | None = None
) -> tuple[PRF, list[tuple[CityMention, CityMention]], list[CityMention], list[CityMention]]:
    """One-to-one matching: same city and overlapping spans (and ``kind`` when given)."""
    gold_list = [m for m in gold if kind is None or m.kind == kind]
    pred_list = [m for m in predicted if kind is None or m.kind == kind]
    unmatched = list(pred_list)
    pairs: list[tuple[CityMention, CityMention]] = []
    missed: list[CityMention] = []
    for g in gold_list:
        partner = next((p for p in unmatched
                        if p.city == g.city and p.start < g.end and g.start < p.end), None)
        if partner is None:
            missed.append(g)
        else:
            unmatched.remove(partner)
            pairs.append((g, partner))
    return PRF(len(pairs), len(unmatched), len(missed)), pairs, missed, unmatched


def mention_report(
    sentences: Sequence[AnnotatedSentence], predicted: Sequence[Sequence[CityMention]],
    examples: int = 10,
) -> dict[str, Any]:
    """Mention-level P/R/F1 overall and per language; metonymy = F1 on government mentions."""
    totals: dict[str, PRF] = defaultdict(lambda: PRF(0, 0, 0))
    government: dict[str, PRF] = defaultdict(lambda: PRF(0, 0, 0))
    per_city: dict[str, PRF] = defaultdict(lambda: PRF(0, 0, 0))
    kind_pairs: Counter[tuple[str, str]] = Counter()
    missed_examples: list[dict[str, Any]] = []
    spurious_examples: list[dict[str, Any]] = []
    for sentence, found in zip(sentences, predicted, strict=True):
        counts, pairs, missed, spurious = _match_mentions(sentence.mentions, found)
        gov, *_ = _match_mentions(sentence.mentions, found, "government")
        for key in (sentence.lang, "*"):
            totals[key] += counts
            government[key] += gov
        for g, p in pairs:
            kind_pairs[(g.kind, p.kind)] += 1
            per_city[g.city] += PRF(1, 0, 0)
        for g in missed:
            per_city[g.city] += PRF(0, 0, 1)
            missed_examples.append({"id": sentence.id, "city": g.city, "surface": g.surface,
                                    "kind": g.kind, "text": sentence.text})
        for p in spurious:
            per_city[p.city] += PRF(0, 1, 0)
            spurious_examples.append({"id": sentence.id, "city": p.city, "surface": p.surface,
                                      "kind": p.kind, "text": sentence.text})

    def block(key: str) -> dict[str, Any]:
        return {"n_sentences": sum(1 for s in sentences if key in ("*", s.lang)),
                **totals[key].to_dict(), "metonymy": government[key].to_dict()}

    languages = sorted({s.lang for s in sentences})
    return {
        "overall": block("*"),
        "per_group": {lang: block(lang) for lang in languages},
        "per_city": {city: prf.to_dict() for city, prf in sorted(per_city.items())},
        "kind_confusion": [[g, p, n] for (g, p), n in sorted(kind_pairs.items())],
        "missed": missed_examples[:examples],
        "spurious": spurious_examples[:examples],
    }


def topic_report(
    sentences: Sequence[AnnotatedSentence], predicted: Sequence[Iterable[str]],
    topic_ids: Iterable[str],
) -> dict[str, Any]:
    """Multi-label topics: P/R/F1 per topic, micro over all, micro per language."""
    ids = list(topic_ids)
    per_topic = {topic: PRF(0, 0, 0) for topic in ids}
    per_language: dict[str, PRF] = defaultdict(lambda: PRF(0, 0, 0))
    for sentence, found in zip(sentences, predicted, strict=True):
        gold, pred = set(sentence.topics), set(found)
        for topic in ids:
            counts = PRF(int(topic in gold and topic in pred), int(topic in pred - gold),
                         int(topic in gold - pred))
            per_topic[topic] += counts
            per_language[sentence.lang] += counts
    overall = sum(per_topic.values(), PRF(0, 0, 0))
    scored = [p for p in per_topic.values() if p.tp + p.fn]
    return {
        "overall": {"n_sentences": len(sentences), **overall.to_dict(),
                    "macro_f1": round(sum(p.f1 for p in scored) / len(scored), 4) if scored else 0},
        "per_topic": {topic: prf.to_dict() for topic, prf in per_topic.items()},
        "per_group": {lang: prf.to_dict() for lang, prf in sorted(per_language.items())},
    }


def city_sentiment_rows(
    sentences: Sequence[AnnotatedSentence], predicted: Sequence[dict[str, str]]
) -> list[tuple[str, str, str]]:
    """(language, gold, predicted) per annotated (sentence, city); a city the system did not
    find counts as predicted "neutral" (it said nothing about it)."""
    rows = []
    for sentence, labels in zip(sentences, predicted, strict=True):
        for city, gold in sentence.city_sentiment.items():
            rows.append((sentence.lang, gold, labels.get(city, "neutral")))
    return rows


def articles_for(sentences: Sequence[AnnotatedSentence]) -> list[Article]:
    """Annotated sentences as title-only articles without a language hint."""
    return [Article(id=s.id, url=f"eval:{s.id}", title=s.text) for s in sentences]


# ---------------------------------------------------------------------------------------------
# Runners: the default pipeline's parts on each set (what `cityradar eval` calls)


def configured_languages(config_dir: Path) -> list[str]:
    from nlp.language import LanguageIdentifier

    return list(LanguageIdentifier.from_config(config_dir).settings.languages)


def run_language(config_dir: Path, data_dir: Path, limit: int | None = None) -> dict[str, Any]:
    """Language ID on lingua_sentences and wili2018_subset, restricted to nlp.yaml languages."""
    from nlp.language import LanguageIdentifier

    identifier = LanguageIdentifier.from_config(config_dir)
    languages = set(identifier.settings.languages)
    report: dict[str, Any] = {"configured_languages": sorted(languages)}
    sets = {
        "lingua_sentences": lambda: load_lingua_sentences(
            data_dir / "lingua_sentences", languages, limit),
        "wili2018_subset": lambda: [
            item for item in load_wili(data_dir / "wili2018_subset", limit)
            if item.label in languages
        ],
    }
    for name, load in sets.items():
        items = load()
        predicted = [code for code, _ in identifier.identify_batch([i.text for i in items])]
        report[name] = language_report(items, predicted)
    return report


def _sentiment_predictions(config_dir: Path, items: Sequence[LabelledText]) -> list[str]:
    from nlp.backends import sentiment_scorer_from_config
    from nlp.config_schema import nlp_section
    from nlp.sentiment import settings_for

    scorer = sentiment_scorer_from_config(config_dir)
    settings = settings_for(nlp_section(config_dir, "sentiment"), scorer)
    scores = scorer.score_batch([i.text for i in items], [i.group for i in items])
    return [settings.label(score, i.group) for score, i in zip(scores, items, strict=True)]


def run_sentiment(
    config_dir: Path, data_dir: Path, annotated: Path | None, limit: int | None = None
) -> dict[str, Any]:
    """Macro-F1 per language on XLM-T validation tweets, the English headline sets and the
    annotated set (tone toward each city)."""
    report: dict[str, Any] = {"labels": list(SENTIMENT_LABELS)}
    sets = {
        "xlmt_tweets": lambda: load_xlmt(data_dir / "xlmt_tweets", limit),
        "semeval2017_headlines": lambda: load_semeval_headlines(
            data_dir / "semeval2017_task5_headlines" / "SemEval2017Task5Headlines.json", limit),
        "financial_phrasebank": lambda: load_financial_phrasebank(
            data_dir / "financial_phrasebank" / "Sentences_AllAgree.txt", limit),
    }
    for name, load in sets.items():
        items = load()
        predicted = _sentiment_predictions(config_dir, items)
        report[name] = grouped_scores(
            [(i.group, i.label, p) for i, p in zip(items, predicted, strict=True)],
            SENTIMENT_LABELS,
        )
    report["semeval2017_headlines"]["neutral_band"] = SEMEVAL_NEUTRAL_BAND
    if annotated is not None:
        report["annotated_city_sentiment"] = run_annotated(
            config_dir, annotated, "test", limit=limit, topics=False)["city_sentiment"]
    return report


def run_splits(
    config_dir: Path, eval_dir: Path, limit: int | None = None
) -> dict[str, dict[str, Any]]:
    """The annotated set's frozen test split, its dev split, and the blind and fresh sets when
    present, each scored on its own (mentions, metonymy, tone toward each city; topics for
    test/dev)."""
    cities = Path(eval_dir) / "cities.jsonl"
    report = {split: run_annotated(config_dir, cities, split, limit) for split in ("test", "dev")}
    for split in ("test", "dev"):
        report[split]["topics"] = run_annotated(
            config_dir, Path(eval_dir) / "topics.jsonl", split, limit)["topics"]
    for name, relative in (("blind", BLIND_FILE), ("fresh", FRESH_FILE),
                           ("fresh2", FRESH2_FILE)):
        path = Path(eval_dir) / relative
        if path.is_file():
            report[name] = run_annotated(config_dir, path, None, limit, topics=False)
            report[name]["split"] = name
    return report


def run_annotated(
    config_dir: Path, path: Path, split: str | None = None, limit: int | None = None,
    topics: bool = True,
) -> dict[str, Any]:
    """The default Tagger on the annotated set: mentions, topics, city tone, language.

    Misses and spurious mentions are listed for the dev split only (MISS_EXAMPLES_SPLITS)."""
    from nlp.pipeline import Tagger
    from nlp.topics import load_topics

    sentences = load_annotated(path, split, limit)
    tagger = Tagger.from_config(config_dir)
    tagged = tagger.tag(articles_for(sentences))
    tags = [article.tags for article in tagged]
    label = tagger.sentiment_settings.label
    examples = 10 if split in MISS_EXAMPLES_SPLITS else 0
    return {
        "cities": mention_report(sentences, [t.mentions if t else [] for t in tags], examples),
        "topics": topic_report(sentences, [list(t.topics) if t else [] for t in tags],
                               [topic.id for topic in load_topics(config_dir)]) if topics else {},
        "city_sentiment": grouped_scores(
            city_sentiment_rows(sentences, [
                {city: label(score, t.language) for city, score in t.city_sentiment.items()}
                if t else {}
                for t in tags
            ]),
            SENTIMENT_LABELS,
        ),
        "language": grouped_scores(
            [(s.lang, s.lang, t.language if t else "und") for s, t in zip(sentences, tags,
                                                                         strict=True)]
        ),
        "split": split or "all",
    }


def _shares(labels: Sequence[str]) -> tuple[float, float]:
    n = len(labels) or 1
    return labels.count("negative") / n, labels.count("positive") / n


def run_calibration(
    config_dir: Path, path: Path, split: str | None = "dev", min_n: int = 5,
    lingua_dir: Path | None = DEFAULT_REALDATA / "langid" / "lingua_sentences",
) -> dict[str, Any]:
    """Per language: the share of negative / positive tone toward cities as annotated, as the
    trained model labels it without its per-language scale, and with it (the default)."""
    from nlp.pipeline import Tagger
    from nlp.tone_model import TrainedSentimentScorer

    tagger = Tagger.from_config(config_dir)
    scorer = tagger.scorer
    if not isinstance(scorer, TrainedSentimentScorer):
        return {"note": "the sentiment backend is not the trained model", "split": split}
    sentences = load_annotated(path, split)
    articles = articles_for(sentences)
    calibrated_settings = tagger.sentiment_settings
    # "uncalibrated": no language scale and the overall thresholds for every language
    plain_settings = dataclasses.replace(calibrated_settings, per_language={})
    rows: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    predictions = {}
    try:
        for calibrated in (False, True):
            scorer.calibrated = calibrated
            tagger.sentiment_settings = calibrated_settings if calibrated else plain_settings
            label = tagger.sentiment_settings.label
            tags = [a.tags for a in tagger.tag(articles)]
            predictions[calibrated] = [
                {city: label(score, t.language) for city, score in t.city_sentiment.items()}
                if t else {} for t in tags]
    finally:
        scorer.calibrated = True
        tagger.sentiment_settings = calibrated_settings
    raw = city_sentiment_rows(sentences, predictions[False])
    cal = city_sentiment_rows(sentences, predictions[True])
    for (lang, gold, r), (_, _, c) in zip(raw, cal, strict=True):
        rows[lang].append((gold, r, c))
        rows["*"].append((gold, r, c))

    def block(items: list[tuple[str, str, str]], lang: str | None) -> dict[str, Any]:
        gold, r, c = ([i[k] for i in items] for k in range(3))
        out: dict[str, Any] = {"n": len(items)}
        if lang:
            out["scale"] = scorer.model.scale_for(lang)
        for name, labels in (("gold", gold), ("raw", r), ("cal", c)):
            out[f"{name}_negative"], out[f"{name}_positive"] = (
                round(v, 3) for v in _shares(labels))
        out["raw_macro_f1"] = round(macro_f1(gold, r, SENTIMENT_LABELS), 4)
        out["cal_macro_f1"] = round(macro_f1(gold, c, SENTIMENT_LABELS), 4)
        return out

    per_group = {lang: block(items, lang) for lang, items in sorted(rows.items()) if lang != "*"}
    big = [b for b in per_group.values() if b["n"] >= min_n]

    def spread(key: str) -> float:
        values = [b[f"{key}_negative"] for b in big]
        return round(max(values) - min(values), 3) if values else 0.0

    report: dict[str, Any] = {
        "split": split or "all", "min_n": min_n, "per_group": per_group,
        "overall": block(rows["*"], None),
        "spread": {key: spread(key) for key in ("gold", "raw", "cal")}}
    out_of_fold = scorer.model.meta.get("dev_out_of_fold")
    if out_of_fold:
        report["dev_out_of_fold"] = out_of_fold
    if lingua_dir is not None and lingua_dir.is_dir():
        report["unlabelled"] = _calibration_unlabelled(
            scorer, calibrated_settings, plain_settings, lingua_dir, config_dir)
    return report


def _calibration_unlabelled(
    scorer: Any, calibrated: Any, plain: Any, lingua_dir: Path, config_dir: Path,
    per_language: int = 300,
) -> dict[str, Any]:
    """Share of texts labelled non-neutral per language on ordinary sentences (lingua's, no
    labels), uncalibrated vs calibrated: a language the model knows less should not read as
    "more neutral"."""
    items = load_lingua_sentences(lingua_dir, configured_languages(config_dir), per_language)
    by_language: dict[str, list[str]] = defaultdict(list)
    for item in items:
        by_language[item.group].append(item.text)
    out: dict[str, dict[str, float]] = {}
    try:
        for language, texts in sorted(by_language.items()):
            langs = [language] * len(texts)
            scorer.calibrated = False
            raw = scorer.score_batch(texts, langs)
            scorer.calibrated = True
            cal = scorer.score_batch(texts, langs)
            raw_labels = [plain.label(v, language) for v in raw]
            cal_labels = [calibrated.label(v, language) for v in cal]
            out[language] = {"n": len(texts),
                             "raw_toned": round(1 - raw_labels.count("neutral") / len(texts), 3),
                             "cal_toned": round(1 - cal_labels.count("neutral") / len(texts), 3)}
    finally:
        scorer.calibrated = True

    def spread(key: str) -> float:
        values = [b[key] for b in out.values()]
        return round(max(values) - min(values), 3) if values else 0.0

    def iqr(key: str) -> float:
        values = [b[key] for b in out.values()]
        return round(float(np.quantile(values, 0.75) - np.quantile(values, 0.25)), 3)

    return {"per_group": out, "spread": {"raw": spread("raw_toned"), "cal": spread("cal_toned")},
            "iqr": {"raw": iqr("raw_toned"), "cal": iqr("cal_toned")}}
