"""`cityradar eval {language,sentiment,cities,topics,all}`: measured NLP accuracy."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from nlp import eval_sets
from nlp import evaluation as ev

Report = dict[str, Any]
_SPLITS = click.Choice(["test", "dev", "all"])
_SPLIT_TITLES = {
    "test": "FROZEN TEST SPLIT (never tuned on)",
    "dev": "DEV SPLIT (rules, lexicons and the tone and metonymy models were tuned on it; "
           "misses listed)",
    "blind": "BLIND SET (written from the guide alone; never tuned on, misses never shown)",
    "fresh": "FRESH SET (round 10: a dev-style round held out from every trainer and rule "
             "writer; misses never shown)",
    "fresh2": "FRESH SET 2 (round 12: held out like the first, from tagger 1.10.0 on; misses "
              "never shown)",
    "all": "every sentence of the file: dev + test together, or a blind or fresh set (misses "
           "not listed)",
}


def _fmt(value: float) -> str:
    return f"{value:.3f}"


def _confusions(block: Report) -> str:
    pairs = block.get("confusions") or []
    return ", ".join(f"{g}->{p} x{n}" for g, p, n in pairs) or "-"


def format_classification(title: str, report: Report, group_name: str = "language") -> list[str]:
    """Per-group n / accuracy / macro-F1 lines, then overall, then the top confusions."""
    groups = report.get("per_group", {})
    label_f1 = any("f1" in block for block in groups.values())
    header = "F1" if label_f1 else "macro-F1"
    lines = [title, f"  {group_name:<10} {'n':>6} {'accuracy':>9} {header:>9}  top confusions"]
    for group, block in groups.items():
        score = block["f1"] if label_f1 else block["macro_f1"]
        lines.append(f"  {group:<10} {block['n']:>6} {_fmt(block['accuracy']):>9} "
                     f"{_fmt(score):>9}  {_confusions(block)}")
    overall = report.get("overall")
    if overall:
        lines.append(f"  {'overall':<10} {overall['n']:>6} {_fmt(overall['accuracy']):>9} "
                     f"{_fmt(overall['macro_f1']):>9}  {_confusions(overall)}")
    return lines


def format_language(report: Report) -> list[str]:
    lines = [f"language ID over {len(report['configured_languages'])} configured languages"]
    for name in ("lingua_sentences", "wili2018_subset"):
        block = report[name]
        lines += format_classification(f"{name}: all texts", block)
        for part, label in (("short_texts", "short (< 40 chars)"), ("long_texts", ">= 40 chars")):
            overall = (block.get(part) or {}).get("overall")
            if overall:
                lines.append(f"  {label}: n={overall['n']} accuracy={_fmt(overall['accuracy'])} "
                             f"macro-F1={_fmt(overall['macro_f1'])}")
    return lines


def format_sentiment(report: Report) -> list[str]:
    lines: list[str] = []
    titles = {"xlmt_tweets": "xlmt_tweets (validation split; the model trains on train only)",
              "annotated_city_sentiment": "annotated_city_sentiment (frozen test split)"}
    for name in ("xlmt_tweets", "semeval2017_headlines", "financial_phrasebank",
                 "annotated_city_sentiment"):
        if name in report:
            lines += format_classification(f"sentiment: {titles.get(name, name)}",
                                           report[name])
    groups = (report.get("xlmt_tweets") or {}).get("per_group") or {}
    if groups:
        scores = {lang: block["macro_f1"] for lang, block in groups.items()}
        without_hi = [v for lang, v in scores.items() if lang != "hi"]
        average = sum(scores.values()) / len(scores)
        lines.append(f"  xlm-t average macro-F1 over languages {average:.3f}"
                     + (f", without hi {sum(without_hi) / len(without_hi):.3f}"
                        if without_hi else ""))
    return lines


def format_cities(report: Report) -> list[str]:
    """Per-language P/R/F1 and metonymy; misses/spurious only when the report lists them
    (the runner fills them for the dev split alone)."""
    lines = ["city mentions (match = same city, overlapping span; metonymy = government F1)",
             f"  {'language':<10} {'sent.':>5} {'P':>6} {'R':>6} {'F1':>6}   "
             f"{'metonymy P/R/F1':>18}"]
    rows = [*report["per_group"].items(), ("overall", report["overall"])]
    for group, block in rows:
        gov = block["metonymy"]
        lines.append(
            f"  {group:<10} {block['n_sentences']:>5} {_fmt(block['precision']):>6} "
            f"{_fmt(block['recall']):>6} {_fmt(block['f1']):>6}   "
            + (f"{_fmt(gov['precision'])}/{_fmt(gov['recall'])}/{_fmt(gov['f1'])} "
               if gov["tp"] + gov["fp"] + gov["fn"] else f"{'-':>17} ")
            + f"(gold {gov['tp'] + gov['fn']})"
        )
    kinds = ", ".join(f"{g}->{p} x{n}" for g, p, n in report["kind_confusion"])
    lines.append(f"  kind of matched mentions (gold->predicted): {kinds or '-'}")
    for key in ("missed", "spurious"):
        for item in report[key]:
            lines.append(f"  {key}: {item['id']} {item['city']} {item['surface']!r} "
                         f"({item['kind']})")
    return lines


def format_topics(report: Report) -> list[str]:
    lines = ["topics (multi-label)", f"  {'topic':<22} {'P':>6} {'R':>6} {'F1':>6} {'gold':>5}"]
    for topic, block in report["per_topic"].items():
        lines.append(f"  {topic:<22} {_fmt(block['precision']):>6} {_fmt(block['recall']):>6} "
                     f"{_fmt(block['f1']):>6} {block['tp'] + block['fn']:>5}")
    for group, block in report["per_group"].items():
        lines.append(f"  language {group:<13} {_fmt(block['precision']):>6} "
                     f"{_fmt(block['recall']):>6} {_fmt(block['f1']):>6}")
    overall = report["overall"]
    lines.append(f"  {'overall (micro)':<22} {_fmt(overall['precision']):>6} "
                 f"{_fmt(overall['recall']):>6} {_fmt(overall['f1']):>6}   "
                 f"macro-F1 {_fmt(overall['macro_f1'])}")
    return lines


def format_calibration(report: Report) -> list[str]:
    if not report.get("per_group"):
        return [f"calibration: {report.get('note', 'not available')}"]
    in_sample = " (in sample: the tone model trains on this split)" \
        if report["split"] in ("dev", "all") else ""
    lines = [f"tone scale per language ({report['split']} split{in_sample}, tone toward each "
             "city): share negative / positive",
             f"  {'language':<10} {'n':>4} {'scale':>6}  {'annotated':>11}  "
             f"{'uncalibrated':>12}  {'calibrated':>11}   macro-F1 uncal/cal"]
    rows = [*report["per_group"].items(), ("overall", report["overall"])]
    for group, b in rows:
        lines.append(
            f"  {group:<10} {b['n']:>4} {b.get('scale', ''):>6}  "
            f"{b['gold_negative']:>5.2f}/{b['gold_positive']:<5.2f}  "
            f"{b['raw_negative']:>6.2f}/{b['raw_positive']:<5.2f}  "
            f"{b['cal_negative']:>5.2f}/{b['cal_positive']:<5.2f}   "
            f"{b['raw_macro_f1']:.3f}/{b['cal_macro_f1']:.3f}")
    lines.append(f"  spread of share-negative across languages (max - min, languages with "
                 f"n >= {report['min_n']}): annotated {report['spread']['gold']:.2f}, "
                 f"uncalibrated {report['spread']['raw']:.2f}, calibrated "
                 f"{report['spread']['cal']:.2f}")
    out_of_fold = report.get("dev_out_of_fold")
    if out_of_fold:
        lines.append("dev split out of fold (from the trainer: each clause scored by a model "
                     "that did not train on it, calibrated): share negative / positive")
        lines.append(f"  {'language':<10} {'n':>4}  {'annotated':>11}  {'labelled':>11}"
                     "   macro-F1")
        groups = [group for group in out_of_fold if group != "overall"] + ["overall"]
        for group in groups:
            b = out_of_fold[group]
            lines.append(f"  {group:<10} {b['n']:>4}  {b['gold_negative']:>5.2f}/"
                         f"{b['gold_positive']:<5.2f}  {b['negative']:>5.2f}/"
                         f"{b['positive']:<5.2f}   {b['macro_f1']:.3f}")
        shares = [b["negative"] - b["gold_negative"] for group, b in out_of_fold.items()
                  if group != "overall" and b["n"] >= report["min_n"]]
        if shares:
            lines.append(f"  labelled minus annotated share-negative per language: "
                         f"{min(shares):+.2f} to {max(shares):+.2f}")
    unlabelled = report.get("unlabelled")
    if unlabelled:
        lines.append("share of ordinary sentences (lingua, unlabelled) given a tone, "
                     "uncalibrated -> calibrated, per language:")
        cells = [f"{lang} {b['raw_toned']:.2f}->{b['cal_toned']:.2f}"
                 for lang, b in unlabelled["per_group"].items()]
        lines += ["  " + ", ".join(cells[i:i + 6]) for i in range(0, len(cells), 6)]
        lines.append(f"  across languages: max-min {unlabelled['spread']['raw']:.2f} -> "
                     f"{unlabelled['spread']['cal']:.2f}, interquartile range "
                     f"{unlabelled['iqr']['raw']:.2f} -> {unlabelled['iqr']['cal']:.2f}")
    return lines


def _emit(report: Report, as_json: bool, formatter: Callable[[Report], list[str]]) -> None:
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(formatter(report)))


def _run(task: Callable[[], Report]) -> Report:
    from cityradar.config import ConfigError

    try:
        return task()
    except (eval_sets.EvaluationDataError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc


def _common(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option("--json", "as_json", is_flag=True,
                            help="Print the report as JSON.")(function)
    function = click.option("--limit", type=click.IntRange(min=1), default=None,
                            help="At most N items per language (quick runs).")(function)
    return function



@click.group("eval")
def eval_group() -> None:
    """Measure the NLP stage on the public sets and the annotated sets (data/eval)."""

@eval_group.command("language")
@click.option("--data", type=click.Path(path_type=Path),
              default=eval_sets.DEFAULT_REALDATA / "langid",
              show_default=True, help="Folder with lingua_sentences/ and wili2018_subset/.")
@_common
@click.pass_obj
def language(settings: Any, data: Path, limit: int | None, as_json: bool) -> None:
    """Language ID accuracy per configured language (short texts reported apart)."""
    _emit(_run(lambda: ev.run_language(settings.config_dir, data, limit)), as_json,
          format_language)

@eval_group.command("sentiment")
@click.option("--data", type=click.Path(path_type=Path),
              default=eval_sets.DEFAULT_REALDATA / "sentiment", show_default=True,
              help="Folder with xlmt_tweets/, semeval2017_task5_headlines/, "
                   "financial_phrasebank/.")
@click.option("--annotated", type=click.Path(path_type=Path),
              default=eval_sets.DEFAULT_EVAL_DIR / "cities.jsonl", show_default=True,
              help="Annotated set with the tone toward each city.")
@_common
@click.pass_obj
def sentiment(settings: Any, data: Path, annotated: Path, limit: int | None,
              as_json: bool) -> None:
    """Sentiment macro-F1 per language (negative / neutral / positive)."""
    _emit(_run(lambda: ev.run_sentiment(settings.config_dir, data, annotated, limit)),
          as_json, format_sentiment)

@eval_group.command("cities")
@click.option("--data", type=click.Path(path_type=Path),
              default=eval_sets.DEFAULT_EVAL_DIR / "cities.jsonl", show_default=True,
              help="Annotated city mentions (JSON lines).")
@click.option("--split", type=_SPLITS, default="test", show_default=True,
              help="test (frozen), dev (misses listed) or all; for a set without splits "
                   "(the blind set) use all.")
@_common
@click.pass_obj
def cities(settings: Any, data: Path, split: str, limit: int | None, as_json: bool) -> None:
    """City-mention P / R / F1 per language, metonymy F1 and tone toward each city."""
    report = _run(lambda: ev.run_annotated(settings.config_dir, data, split, limit,
                                           topics=False))
    if as_json:
        click.echo(json.dumps({k: report[k] for k in ("cities", "city_sentiment")},
                              ensure_ascii=False, indent=2))
        return
    click.echo("\n".join([
        _SPLIT_TITLES.get(split, split), *format_cities(report["cities"]),
        *format_classification("tone toward each city (macro-F1 over neg/neu/pos)",
                               report["city_sentiment"])]))

@eval_group.command("topics")
@click.option("--data", type=click.Path(path_type=Path),
              default=eval_sets.DEFAULT_EVAL_DIR / "topics.jsonl", show_default=True,
              help="Annotated topics (JSON lines).")
@click.option("--split", type=_SPLITS, default="test", show_default=True)
@_common
@click.pass_obj
def topics(settings: Any, data: Path, split: str, limit: int | None, as_json: bool) -> None:
    """Topic precision / recall per topic."""
    report = _run(lambda: ev.run_annotated(settings.config_dir, data, split, limit))
    _emit(report["topics"], as_json, format_topics)

@eval_group.command("all")
@click.option("--data", type=click.Path(path_type=Path), default=eval_sets.DEFAULT_REALDATA,
              show_default=True, help="The realdata folder (langid/, sentiment/).")
@click.option("--eval-dir", type=click.Path(path_type=Path), default=eval_sets.DEFAULT_EVAL_DIR,
              show_default=True, help="Folder with cities.jsonl and topics.jsonl.")
@_common
@click.pass_obj
def run_all(settings: Any, data: Path, eval_dir: Path, limit: int | None,
            as_json: bool) -> None:
    """Every evaluation, with the default data paths."""
    config = settings.config_dir
    report = {
        "language": _run(lambda: ev.run_language(config, data / "langid", limit)),
        "sentiment": _run(lambda: ev.run_sentiment(config, data / "sentiment", None, limit)),
        "annotated": _run(lambda: ev.run_splits(config, eval_dir, limit)),
        "calibration": _run(lambda: ev.run_calibration(
            config, eval_dir / "cities.jsonl",
            lingua_dir=data / "langid" / "lingua_sentences")),
    }
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    lines = [*format_language(report["language"]), "",
             *format_sentiment(report["sentiment"])]
    for split, block in report["annotated"].items():
        lines += ["", f"=== {_SPLIT_TITLES[split]} ===", *format_cities(block["cities"]),
                  *format_classification("tone toward each city (macro-F1 over "
                                         "neg/neu/pos)", block["city_sentiment"])]
        if block.get("topics"):
            lines += format_topics(block["topics"])
    if "blind" not in report["annotated"]:
        lines += ["", f"(no blind set at {eval_dir / eval_sets.BLIND_FILE})"]
    lines += ["", *format_calibration(report["calibration"])]
    click.echo("\n".join(lines))

@eval_group.command("calibration")
@click.option("--data", type=click.Path(path_type=Path),
              default=eval_sets.DEFAULT_EVAL_DIR / "cities.jsonl", show_default=True)
@click.option("--split", type=_SPLITS, default="dev", show_default=True)
@click.option("--lingua", type=click.Path(path_type=Path),
              default=eval_sets.DEFAULT_REALDATA / "langid" / "lingua_sentences",
              show_default=True, help="Unlabelled sentences per language (skipped if "
                                      "missing).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def calibration(settings: Any, data: Path, split: str, lingua: Path, as_json: bool) -> None:
    """Share of negative tone toward cities per language, with and without the
    per-language calibration of the trained tone model, against the annotation."""
    _emit(_run(lambda: ev.run_calibration(settings.config_dir, data, split,
                                          lingua_dir=lingua)),
          as_json, format_calibration)


def register(cli: click.Group) -> None:
    cli.add_command(eval_group)
