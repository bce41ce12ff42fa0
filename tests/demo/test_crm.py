"""The demo's follow-ups and feedback look like a sales team's CRM, and change nothing else."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from fenji.demo import vocabulary as vocab
from fenji.demo.generate import CRM_TABLES, TABLES, generate
from fenji.web.facts.importing.sources import CRM_SOURCES, FEEDBACK_KINDS, INTERACTION_KINDS

AS_OF = date(2026, 10, 31)
CRM_START = date(2025, 11, 1)  # twelve months ending at AS_OF


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``fenji demo`` generates: 2,000 customers over 36 months, with the CRM tables."""
    out = tmp_path_factory.mktemp("crm")
    generate(out, customers=2000, months=36, as_of=AS_OF, crm=True)
    return out


def query(data: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    for name in (*TABLES, *CRM_TABLES):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{data}/{name}.parquet')")
    con.execute(
        f"""CREATE VIEW ranked AS
        SELECT c.customer_id, c.owner, c.region, coalesce(r.revenue, 0) AS revenue,
               r.last_order, percent_rank() OVER (ORDER BY coalesce(r.revenue, 0)) AS pct,
               coalesce(f.follow_ups, 0) AS follow_ups, f.last_follow_up,
               f.last_visit
        FROM customers c
        LEFT JOIN (SELECT customer_id, sum(amount) AS revenue, max(order_date) AS last_order
                   FROM orders WHERE order_date > DATE '{AS_OF}' - INTERVAL 12 MONTH
                   GROUP BY 1) r USING (customer_id)
        LEFT JOIN (SELECT customer_id, count(*) AS follow_ups,
                          max(interaction_date) AS last_follow_up,
                          max(interaction_date) FILTER (kind = 'visit') AS last_visit
                   FROM interactions GROUP BY 1) f USING (customer_id)"""
    )
    return con.execute(sql).fetchall()


def one(data: Path, sql: str) -> object:
    return query(data, sql)[0][0]


def test_crm_tables_are_deterministic_and_leave_the_other_tables_unchanged(
    tmp_path: Path,
) -> None:
    args = {"customers": 300, "orders": 6_000, "months": 24, "fmt": "csv", "seed": 5}
    generate(tmp_path / "a", crm=True, **args)  # type: ignore[arg-type]
    generate(tmp_path / "b", crm=True, **args)  # type: ignore[arg-type]
    generate(tmp_path / "plain", **args)  # type: ignore[arg-type]
    for name in CRM_TABLES:
        first = (tmp_path / "a" / f"{name}.csv").read_bytes()
        assert first == (tmp_path / "b" / f"{name}.csv").read_bytes(), name
        assert not (tmp_path / "plain" / f"{name}.csv").exists()
    for name in TABLES:
        with_crm = (tmp_path / "a" / f"{name}.csv").read_bytes()
        assert with_crm == (tmp_path / "plain" / f"{name}.csv").read_bytes(), name


def test_crm_files_are_in_the_import_format(demo: Path) -> None:
    for name in CRM_TABLES:
        columns = pq.read_schema(demo / f"{name}.parquet").names
        assert columns == list(CRM_SOURCES[name].column_names)
    assert {k for (k,) in query(demo, "SELECT DISTINCT kind FROM interactions")} == set(
        INTERACTION_KINDS
    )
    assert {k for (k,) in query(demo, "SELECT DISTINCT kind FROM feedback")} == set(FEEDBACK_KINDS)
    assert one(demo, "SELECT count(*) - count(DISTINCT interaction_id) FROM interactions") == 0
    assert one(demo, "SELECT count(*) - count(DISTINCT feedback_id) FROM feedback") == 0


def test_follow_ups_fall_on_weekdays_of_the_last_year_by_the_customers_own_rep(
    demo: Path,
) -> None:
    first, last = query(
        demo, "SELECT min(interaction_date), max(interaction_date) FROM interactions"
    )[0]
    assert first >= CRM_START - date.resolution  # type: ignore[operator] # a Saturday: Friday
    assert last <= AS_OF  # type: ignore[operator]
    assert one(demo, "SELECT count(*) FROM interactions WHERE isodow(interaction_date) > 5") == 0
    assert (
        one(
            demo,
            "SELECT count(*) FROM interactions i JOIN customers c USING (customer_id) "
            "WHERE i.user <> c.owner",
        )
        == 0
    )
    assert one(demo, "SELECT count(*) FROM interactions WHERE next_due <= interaction_date") == 0


def test_bigger_customers_are_followed_up_more_and_in_person(demo: Path) -> None:
    top, bottom = query(
        demo,
        "SELECT avg(follow_ups) FILTER (pct >= 0.8), avg(follow_ups) FILTER (pct < 0.5) "
        "FROM ranked",
    )[0]
    assert top > 4 * bottom  # type: ignore[operator]
    in_person = query(
        demo,
        "SELECT avg((kind IN ('visit', 'meeting'))::INT) FILTER (pct >= 0.9), "
        "avg((kind IN ('visit', 'meeting'))::INT) FILTER (pct < 0.5) "
        "FROM interactions JOIN ranked USING (customer_id)",
    )[0]
    assert in_person[0] > in_person[1] + 0.2  # type: ignore[operator]


def test_key_accounts_were_visited_lately_and_some_customers_are_neglected(demo: Path) -> None:
    # the biggest customers still ordering had a visit in the last three weeks
    key, visited = query(
        demo,
        f"SELECT count(*), count(*) FILTER (last_visit >= DATE '{AS_OF}' - 21) FROM ranked "
        f"WHERE pct >= 0.95 AND last_order >= DATE '{AS_OF}' - 60",
    )[0]
    assert key >= 50
    assert visited >= 0.9 * key  # type: ignore[operator]
    # some customers still ordering nobody has followed up for months: their next follow-up
    # date has long passed
    active, neglected, overdue = query(
        demo,
        f"""SELECT count(*),
               count(*) FILTER (last_follow_up < DATE '{AS_OF}' - 75),
               count(*) FILTER (last_follow_up < DATE '{AS_OF}' - 75 AND EXISTS (
                   SELECT 1 FROM interactions i WHERE i.customer_id = ranked.customer_id
                   AND i.interaction_date = ranked.last_follow_up
                   AND i.next_due < DATE '{AS_OF}' - 30))
            FROM ranked WHERE last_order >= DATE '{AS_OF}' - 60 AND follow_ups > 0""",
    )[0]
    assert 0.05 * active <= neglected <= 0.35 * active  # type: ignore[operator]
    assert overdue >= 0.5 * neglected  # type: ignore[operator]


def test_feedback_holds_satisfaction_scores_of_one_to_five_and_a_few_complaints(
    demo: Path,
) -> None:
    low, high, mean, answers = query(
        demo,
        "SELECT min(score), max(score), avg(score), count(*) FROM feedback "
        "WHERE kind = 'satisfaction'",
    )[0]
    assert (low, high) == (1, 5)
    assert 3.5 <= mean <= 4.5  # type: ignore[operator]
    assert answers > 1000  # type: ignore[operator]
    assert one(demo, "SELECT count(*) FROM feedback WHERE score % 1 <> 0") == 0
    complaints, with_text, with_score, customers = query(
        demo,
        "SELECT count(*), count(text), count(score), count(DISTINCT customer_id) FROM feedback "
        "WHERE kind = 'complaint'",
    )[0]
    assert (with_text, with_score) == (complaints, 0)
    assert 20 <= customers <= 200  # type: ignore[operator]
    texts = query(demo, "SELECT DISTINCT text FROM feedback WHERE text IS NOT NULL")
    assert {t for (t,) in texts} <= set(vocab.COMPLAINTS)
    # neglected customers are less satisfied
    neglected, followed = query(
        demo,
        f"""SELECT avg(score) FILTER (last_follow_up < DATE '{AS_OF}' - 75),
                   avg(score) FILTER (last_follow_up >= DATE '{AS_OF}' - 30)
            FROM feedback JOIN ranked USING (customer_id) WHERE kind = 'satisfaction'""",
    )[0]
    assert neglected < followed - 0.3  # type: ignore[operator]


def test_each_rep_owns_the_customers_of_provinces_in_their_own_sales_region(demo: Path) -> None:
    team_of_province = {p: team for team, _, provinces in vocab.TEAMS for p in provinces}
    team_of_rep = {
        rep: team_of_province[province]
        for (province, _, _), rep in zip(vocab.REGIONS, vocab.OWNERS, strict=True)
    }
    pairs = query(demo, "SELECT DISTINCT owner, region FROM customers")
    assert {owner for owner, _ in pairs} == set(vocab.OWNERS)
    assert all(team_of_rep[owner] == team_of_province[region] for owner, region in pairs)
    assert set(team_of_province) == {name for name, _, _ in vocab.REGIONS}
