"""Triage lifecycle (new -> acknowledged -> resolved) and the `cityradar detect` / `alerts` CLI."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pytest
from click.testing import CliRunner

from alerts.episodes import TransitionError, transition, triage_choices
from cityradar.cli import cli
from cityradar.records import ALERT_STATUSES
from search.sqlite_store import SQLiteStore
from tests.conftest import CONFIG_DIR
from tests.contract.factories import make_alert, make_article


def test_transitions_append_history_and_notes():
    alert = make_alert(status="new", notes=[])

    acknowledged = transition(alert, "acknowledged", note="looking", by="ana")
    resolved = transition(acknowledged, "resolved", by="ana")
    reopened = transition(resolved, "acknowledged", note="again", by="ben")

    assert alert.status == "new" and len(alert.history) == 1  # the original is untouched
    assert [a.status for a in (acknowledged, resolved, reopened)] == [
        "acknowledged", "resolved", "acknowledged"]
    assert reopened.notes == ["looking", "again"]
    assert [(h.what, h.by) for h in reopened.history[1:]] == [
        ("status: acknowledged", "ana"), ("status: resolved", "ana"),
        ("status: acknowledged", "ben")]


@pytest.mark.parametrize(("status", "target"), [("new", "resolved"), ("acknowledged", "new"),
                                                 ("resolved", "new"), ("new", "closed")])
def test_disallowed_transitions_are_refused(status, target):
    with pytest.raises(TransitionError):
        transition(make_alert(status=status), target)


def test_same_status_with_a_note_only_adds_the_note():
    alert = make_alert(status="acknowledged", notes=["first"])
    noted = transition(alert, "acknowledged", note="second")
    assert noted.notes == ["first", "second"]
    assert noted.history[-1].what == "note"
    with pytest.raises(TransitionError, match="already acknowledged"):
        transition(alert, "acknowledged")


@pytest.fixture
def db(tmp_path):
    """A store with a Wuhan surge from 2019-12-02 over a quiet background."""
    path = tmp_path / "cli.db"
    rng = np.random.default_rng(3)
    articles = []
    start = date(2019, 10, 1)
    for i in range(75):
        day = start + timedelta(days=i)
        surging = day >= date(2019, 12, 2)
        for n in range(int(rng.poisson(30 if surging else 3))):
            articles.append(make_article(url=f"https://news.example.com/{day}/{n}",
                                         published_at=day, cities=["wuhan"],
                                         sentiment=-0.6 if surging else 0.2))
    with SQLiteStore(path) as store:
        store.upsert_articles(articles)
    return path


def cityradar(db, *args: str):
    return CliRunner().invoke(cli, ["--db", str(db), "--config", str(CONFIG_DIR), *args])


def test_detect_then_triage_from_the_command_line(db):
    first = cityradar(db, "detect")
    assert first.exit_code == 0, first.output
    # one surge and one negative spike, each in language groups "all" and "en"
    assert first.output.startswith("detect: 4 episodes opened, 0 updated")

    listed = cityradar(db, "alerts", "list", "--json", "--kind", "volume_surge")
    [alert] = [json.loads(line) for line in listed.output.splitlines()
               if json.loads(line)["language_group"] == "all"]
    assert alert["city"] == "wuhan" and alert["status"] == "new"

    acked = cityradar(db, "alerts", "ack", alert["id"], "--note", "press office told")
    assert acked.exit_code == 0, acked.output
    assert "acknowledged" in acked.output

    again = cityradar(db, "detect")  # re-detection keeps the analyst's status and note
    assert again.output.startswith("detect: 0 episodes opened, 0 updated")
    shown = json.loads(cityradar(db, "alerts", "show", alert["id"]).output)
    assert shown["status"] == "acknowledged"
    assert shown["notes"] == ["press office told"]
    assert shown["evidence"]["stories"]

    resolved = cityradar(db, "alerts", "resolve", alert["id"])
    assert resolved.exit_code == 0
    new_only = cityradar(db, "alerts", "list", "--status", "new")
    assert alert["id"] not in new_only.output
    assert "negative_spike" in new_only.output


def test_triage_errors_are_one_line(db):
    cityradar(db, "detect")
    missing = cityradar(db, "alerts", "ack", "nope")
    assert missing.exit_code == 1
    assert "no alert with id 'nope'" in missing.output
    [alert_id] = [json.loads(x)["id"] for x in
                  cityradar(db, "alerts", "list", "--json", "--kind", "volume_surge")
                  .output.splitlines() if json.loads(x)["language_group"] == "all"]
    refused = cityradar(db, "alerts", "resolve", alert_id)
    assert refused.exit_code == 1
    assert "cannot go from new to resolved" in refused.output


def test_detect_rejects_a_bad_since_date(db):
    result = cityradar(db, "detect", "--since", "yesterday")
    assert result.exit_code == 2
    assert "--since" in result.output


@pytest.mark.parametrize("status", ALERT_STATUSES)
def test_the_triage_choices_are_exactly_the_moves_transition_allows(status):
    """What the UI offers (triage_choices) and what the CLI's ack/resolve may do (transition)
    are one rule: every offered move succeeds, every other one is refused."""
    offered = triage_choices(status)
    assert offered[-1] == status  # the current status: a note only
    for target in ALERT_STATUSES:
        if target == status:
            continue
        if target in offered:
            assert transition(make_alert(status=status), target, by="ana").status == target
        else:
            with pytest.raises(TransitionError):
                transition(make_alert(status=status), target)
    assert triage_choices("new") == ["acknowledged", "new"]  # never new -> resolved
    assert "new" not in triage_choices("acknowledged") + triage_choices("resolved")
