"""The policy pages: list and versions for everyone, editing with validation and simulation for
managers and administrators, publishing for administrators only.

The draft used throughout lowers band A of the ``value`` dimension from 1000 to 900 and raises
band B from 500 to 650. In February (the published run) that moves exactly three customers:
B-2 (950) up from B to A, A-1 and A-2 (600 each) down from B to C; A2-1 (700) stays B.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from fenji.policy.validate import parse_policy
from fenji.web.accounts.models import AuditEntry
from fenji.web.evaluations.models import EvaluationRun, Publication, RunResult
from fenji.web.policies.models import Policy, PolicyVersion
from fenji.web.policies.selectors import policy_get
from fenji.web.policies.services import policy_draft_save
from fenji.web.policies.simulate import policy_simulate

from ..runs_support import FEB, POLICY_YAML
from ..ui_world import World

pytestmark = pytest.mark.django_db

ClientAs = Callable[[str], Client]

DRAFT_YAML = POLICY_YAML.replace("{label: A, min: 1000}", "{label: A, min: 900}", 1).replace(
    "{label: B, min: 500}", "{label: B, min: 650}", 1
)
MOVES = {("A-1", "value", "B", "C"), ("A-2", "value", "B", "C"), ("B-2", "value", "B", "A")}


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line of ``text`` containing ``needle``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def save_draft(world: World, text: str = DRAFT_YAML) -> PolicyVersion:
    return policy_draft_save(
        yaml_text=text, policy=policy_get(name=world.policy), user=world.users["admin"], note="A"
    )


def movers_in(html: str) -> set[tuple[str, str, str, str]]:
    rows = re.findall(
        r'data-customer="([^"]+)" data-dimension="([^"]+)" data-from="([^"]+)" data-to="([^"]+)"',
        html,
    )
    return set(rows)


def count_in(html: str, dimension: str, what: str) -> int:
    row = re.search(rf'<tr data-dimension="{dimension}">(.*?)</tr>', html, re.S)
    assert row is not None, f"no row for {dimension}"
    cell = re.search(rf'data-count="{what}">(\d+)<', row.group(1))
    assert cell is not None
    return int(cell.group(1))


# -- who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["admin", "mgr_east", "rep_a", "rep_b"])
def test_every_role_sees_the_list_a_version_and_a_comparison(
    world: World, client_as: ClientAs, login: str
) -> None:
    save_draft(world)
    client = client_as(login)
    listing = client.get("/policies/")
    assert listing.status_code == 200
    assert 'data-policy="runs_test"' in listing.content.decode()
    assert "运行测试" in listing.content.decode()
    assert client.get("/policies/runs_test/").status_code == 200
    assert client.get("/policies/runs_test/v2/").status_code == 200
    assert client.get("/policies/runs_test/compare/").status_code == 200


def test_a_rep_may_not_edit_check_simulate_or_publish(world: World, client_as: ClientAs) -> None:
    save_draft(world)
    rep = client_as("rep_a")
    forbidden = [
        rep.get("/policies/runs_test/edit/"),
        rep.post("/policies/runs_test/edit/", {"yaml": DRAFT_YAML}),
        rep.get("/policies/new-policy/"),
        rep.post("/policies/check-yaml/", {"yaml": DRAFT_YAML}),
        rep.get("/policies/runs_test/v2/simulate/?now=1"),
        rep.get("/policies/runs_test/v2/publish/"),
        rep.post("/policies/runs_test/v2/publish/"),
    ]
    assert [r.status_code for r in forbidden] == [403] * len(forbidden)
    assert PolicyVersion.objects.filter(policy__name="runs_test").count() == 2
    page = rep.get("/policies/runs_test/v2/").content.decode()
    assert "/edit/" not in page
    assert "/publish/" not in page
    assert "/simulate/" not in page


def test_a_manager_may_edit_and_simulate_but_not_publish(world: World, client_as: ClientAs) -> None:
    save_draft(world)
    manager = client_as("mgr_east")
    assert manager.get("/policies/runs_test/edit/").status_code == 200
    assert manager.get("/policies/new-policy/").status_code == 200
    assert manager.get("/policies/runs_test/v2/simulate/").status_code == 200
    assert manager.get("/policies/runs_test/v2/publish/").status_code == 403
    assert manager.post("/policies/runs_test/v2/publish/").status_code == 403
    assert not PolicyVersion.objects.get(policy__name="runs_test", version=2).is_published


def test_unknown_policies_and_versions_are_404(world: World, client_as: ClientAs) -> None:
    admin = client_as("admin")
    assert admin.get("/policies/nope/").status_code == 404
    assert admin.get("/policies/runs_test/v9/").status_code == 404
    assert admin.get("/policies/runs_test/v9/simulate/").status_code == 404
    assert admin.get("/policies/runs_test/v9/publish/").status_code == 404


# -- viewing ----------------------------------------------------------------------------------


def test_a_version_shows_numbered_yaml_its_dimensions_in_tier_order_and_the_versions(
    world: World, client_as: ClientAs
) -> None:
    save_draft(world)
    page = client_as("rep_a").get("/policies/runs_test/v2/").content.decode()
    number = line_of(DRAFT_YAML, "{label: B, min: 650}")
    assert re.search(
        rf'<span id="L{number}"><span class="muted">\s*{number} </span>'
        r"\s*- \{label: B, min: 650\}",
        page,
    )
    value = page[page.index('data-dimension="value"') :]
    value = value[: value.index("</table>")]
    assert list(re.findall(r'badge badge-\d">(\w)<', value)) == ["A", "B", "C", "D"]
    assert "当月销售额 ≥ 900" in value
    assert "当月销售额 ≥ 650" in value
    versions = page[page.index('data-testid="versions"') :]
    assert "v2" in versions
    assert "v1" in versions
    assert "admin" in versions
    assert 'data-testid="status">草稿<' in page


def test_the_list_speaks_the_readers_language(world: World, client_as: ClientAs) -> None:
    client = client_as("rep_a")
    client.cookies["fenji_language"] = "en"
    page = client.get("/policies/").content.decode()
    assert "run test" in page
    assert "as of 2026-02-28" in page


def test_policy_pages_use_a_fixed_number_of_queries(
    world: World, client_as: ClientAs, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    client = client_as("mgr_east")
    client.get("/policies/")  # the session is loaded, as on any later page
    # session, user, membership, then the page's own: a fixed count however many versions,
    # policies or runs there are
    pages = {
        "/policies/": 5,
        "/policies/runs_test/": 6,
        "/policies/runs_test/v1/": 6,
        "/policies/runs_test/compare/": 5,
        "/policies/runs_test/edit/": 5,
        "/policies/runs_test/v1/simulate/?now=1": 15,
    }

    def visit() -> None:
        for url, most in pages.items():
            with django_assert_max_num_queries(most, info=url):
                assert client.get(url).status_code == 200

    visit()
    for n in range(4):
        save_draft(world, DRAFT_YAML.replace("min: 900", f"min: {900 + n}"))
    other = POLICY_YAML.replace("name: runs_test", "name: other_test")
    policy_draft_save(yaml_text=other, policy=None, user=world.users["admin"])
    visit()


# -- editing and validation -------------------------------------------------------------------


def test_a_band_bound_typo_is_reported_at_its_line_with_the_line_marked(
    world: World, client_as: ClientAs
) -> None:
    broken = DRAFT_YAML.replace("{label: B, min: 650}", "{label: B, min: 6x0}")
    response = client_as("mgr_east").post(
        "/policies/check-yaml/", {"yaml": broken, "policy": "runs_test"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    line = line_of(broken, "6x0")
    assert f'data-line="{line}"' in html
    assert "dimensions.value.bands[1].min" in html
    assert "6x0" in html
    assert "is not a number" in html
    assert re.findall(r'<span id="L(\d+)" class="line-error"', html) == [str(line)]


def test_an_expression_outside_the_allow_list_is_reported_with_line_and_hint(
    world: World, client_as: ClientAs
) -> None:
    broken = DRAFT_YAML.replace(
        "metric: sales_m\n    bands", 'metric: "sales_m + sleep(1)"\n    bands', 1
    )
    html = (
        client_as("admin")
        .post("/policies/check-yaml/", {"yaml": broken, "policy": "runs_test"})
        .content.decode()
    )
    line = line_of(broken, "sleep(1)")
    assert 'data-code="policy.expr.unknown_function"' in html
    assert f'data-line="{line}"' in html
    assert "dimensions.value.metric" in html
    assert "function &#x27;sleep&#x27; is not allowed" in html
    assert "COALESCE" in html  # the hint lists the functions allowed
    assert f'<span id="L{line}" class="line-error"' in html


def test_a_valid_text_is_described_in_words(world: World, client_as: ClientAs) -> None:
    html = (
        client_as("admin")
        .post("/policies/check-yaml/", {"yaml": DRAFT_YAML, "policy": "runs_test"})
        .content.decode()
    )
    assert 'data-testid="valid"' in html
    assert "当月销售额 ≥ 650" in html


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a: [",
        "- just\n- a list\n",
        "fenji: 1\nname: Bad Name\n",
        "\x00\x01binary",
        "a: &x [1, 2]\nb: *x\n",
        "x: " + "[" * 2000,
        "fenji: 1\nname: runs_test\n" + "# padding\n" * 30000,
        "? [a, b]\n: c\n",
        "fenji: 1\nname: runs_test\ntitle: x\ndimensions: {v: {method: bands, bands: 5}}",
    ],
)
def test_bad_text_gives_issues_never_a_server_error(
    world: World, client_as: ClientAs, text: str
) -> None:
    client = client_as("admin")
    check = client.post("/policies/check-yaml/", {"yaml": text, "policy": "runs_test"})
    assert check.status_code == 200
    assert 'data-testid="issues"' in check.content.decode()
    save = client.post("/policies/runs_test/edit/", {"yaml": text, "note": "x"})
    assert save.status_code == 200
    assert 'data-testid="issues"' in save.content.decode()
    assert PolicyVersion.objects.filter(policy__name="runs_test").count() == 1


def test_save_as_draft_creates_an_unpublished_version_with_the_note(
    world: World, client_as: ClientAs
) -> None:
    # browsers send a textarea's lines ended by CR LF
    response = client_as("mgr_east").post(
        "/policies/runs_test/edit/",
        {"yaml": DRAFT_YAML.replace("\n", "\r\n"), "note": " tighter bands "},
    )
    assert response.status_code == 302
    assert response["Location"] == "/policies/runs_test/v2/"
    draft = PolicyVersion.objects.get(policy__name="runs_test", version=2)
    assert draft.yaml == DRAFT_YAML
    assert draft.note == "tighter bands"
    assert draft.created_by == world.users["mgr_east"]
    assert not draft.is_published
    assert draft.published_at is None
    assert PolicyVersion.objects.get(policy__name="runs_test", is_published=True).version == 1
    entry = AuditEntry.objects.get(action="policy.version_created", details__version=2)
    assert entry.user == world.users["mgr_east"]


def test_the_editor_starts_from_the_version_asked_for(world: World, client_as: ClientAs) -> None:
    save_draft(world)
    client = client_as("admin")
    published = client.get("/policies/runs_test/edit/").content.decode()
    draft = client.get("/policies/runs_test/edit/?from=2").content.decode()
    assert "{label: A, min: 1000}" in published.split("</textarea>")[0].split("<textarea")[1]
    assert "{label: A, min: 900}" in draft.split("</textarea>")[0].split("<textarea")[1]


def test_a_draft_cannot_move_to_another_policy_by_renaming_it(
    world: World, client_as: ClientAs
) -> None:
    renamed = DRAFT_YAML.replace("name: runs_test", "name: runs_other")
    response = client_as("admin").post("/policies/runs_test/edit/", {"yaml": renamed})
    html = response.content.decode()
    assert 'data-code="policy.name_changed"' in html
    assert f'data-line="{line_of(renamed, "name: runs_other")}"' in html
    assert not Policy.objects.filter(name="runs_other").exists()


def test_a_new_policy_starts_from_a_shipped_example(world: World, client_as: ClientAs) -> None:
    client = client_as("mgr_east")
    page = client.get("/policies/new-policy/?example=value_abcd").content.decode()
    textarea = page.split("</textarea>")[0].split("<textarea")[1]
    assert "name: value_abcd" in textarea
    from fenji.web.policies.selectors import shipped_example_text

    text = shipped_example_text(name="value_abcd")
    assert text is not None
    created = client.post("/policies/new-policy/", {"yaml": text, "note": "from the example"})
    assert created.status_code == 302
    version = PolicyVersion.objects.get(policy__name="value_abcd")
    assert version.version == 1
    assert not version.is_published
    again = client.post("/policies/new-policy/", {"yaml": text}).content.decode()
    assert 'data-code="policy.name_taken"' in again
    assert PolicyVersion.objects.filter(policy__name="value_abcd").count() == 1


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_every_shipped_example_is_described_in_words(
    world: World, client_as: ClientAs, lang: str
) -> None:
    from fenji.shipped import shipped_policies

    client = client_as("admin")
    client.cookies["fenji_language"] = lang
    for path in shipped_policies():
        text = path.read_text(encoding="utf-8-sig")
        version = policy_draft_save(yaml_text=text, policy=None, user=world.users["admin"])
        page = client.get(f"/policies/{version.policy.name}/v1/")
        assert page.status_code == 200, path.name
        html = page.content.decode()
        assert 'data-testid="summary"' in html, path.name
        for dimension in parse_policy(text).dimensions:
            assert f'data-dimension="{dimension}"' in html, (path.name, dimension)
        Policy.objects.filter(pk=version.policy_id).delete()


# -- simulation -------------------------------------------------------------------------------


def test_simulation_finds_exactly_the_customers_who_move_and_writes_nothing(
    world: World, client_as: ClientAs
) -> None:
    save_draft(world)
    before = (RunResult.objects.count(), EvaluationRun.objects.count(), Publication.objects.get())
    response = client_as("admin").get("/policies/runs_test/v2/simulate/?now=1")
    html = response.content.decode()
    assert response.status_code == 200
    assert movers_in(html) == MOVES
    assert (count_in(html, "value", "up"), count_in(html, "value", "down")) == (1, 2)
    assert count_in(html, "value", "same") == 5
    assert (count_in(html, "steady", "up"), count_in(html, "steady", "down")) == (0, 0)
    assert count_in(html, "steady", "same") == 8
    assert 'data-from="B" data-to="C">2<' in html  # the migration matrix of value
    assert "950元 ∈ [900元" in html  # the new explanation of B-2
    after = (RunResult.objects.count(), EvaluationRun.objects.count(), Publication.objects.get())
    assert after == before
    assert after[2].run_id == world.runs[-1].pk


def test_simulation_as_a_service_compares_with_the_published_run(world: World) -> None:
    draft = save_draft(world)
    result = policy_simulate(version=draft, user=world.users["admin"])
    assert result.as_of == FEB
    assert result.baseline_run_id == world.runs[-1].pk
    assert result.everyone
    assert result.visible == 8
    assert result.graded == 8
    value = next(d for d in result.dimensions if d.dimension == "value")
    assert (value.up, value.down, value.same, value.new, value.gone) == (1, 2, 5, 0, 0)
    assert value.matrix["B"] == {"A": 1, "B": 1, "C": 2, "D": 0}
    movers = [(m.customer_id, m.from_label, m.to_label, m.steps) for m in result.movers]
    # biggest moves first, downgrades before upgrades of the same size
    assert movers == [("A-1", "B", "C", -1), ("A-2", "B", "C", -1), ("B-2", "B", "A", 1)]


def test_a_manager_sees_only_the_teams_movers_and_counts(world: World, client_as: ClientAs) -> None:
    save_draft(world)
    html = client_as("mgr_east").get("/policies/runs_test/v2/simulate/?now=1").content.decode()
    assert movers_in(html) == {m for m in MOVES if not m[0].startswith("B-")}
    assert (count_in(html, "value", "up"), count_in(html, "value", "down")) == (0, 2)
    assert count_in(html, "value", "same") + 2 == 5
    assert "B-" not in html
    assert "北京" not in html
    scope = html[html.index('data-testid="scope"') :]
    assert "5" in scope[:300]
    # filters narrow the list, never widen the scope
    up = client_as("mgr_east").get(
        "/policies/runs_test/v2/simulate/?now=1&dimension=value&direction=up"
    )
    assert movers_in(up.content.decode()) == set()
    assert "B-2" not in up.content.decode()


def test_a_dropped_dimension_counts_as_gone_and_a_new_one_as_new(world: World) -> None:
    text = DRAFT_YAML.replace("  steady:", "  stable:")
    draft = save_draft(world, text)
    result = policy_simulate(version=draft, user=world.users["mgr_east"])
    by = {d.dimension: d for d in result.dimensions}
    assert (by["stable"].new, by["stable"].gone) == (5, 0)
    assert (by["steady"].new, by["steady"].gone) == (0, 5)
    assert not result.everyone
    assert result.visible == 5


def test_the_simulation_page_loads_its_result_by_itself(world: World, client_as: ClientAs) -> None:
    save_draft(world)
    client = client_as("admin")
    page = client.get("/policies/runs_test/v2/simulate/").content.decode()
    assert 'hx-trigger="load"' in page
    assert 'data-testid="simulation"' not in page
    fragment = client.get(
        "/policies/runs_test/v2/simulate/?as_of=2026-02-28", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in fragment
    assert movers_in(fragment) == MOVES


def test_a_bad_as_of_date_is_explained(world: World, client_as: ClientAs) -> None:
    save_draft(world)
    response = client_as("admin").get("/policies/runs_test/v2/simulate/?now=1&as_of=2026-13-45")
    assert response.status_code == 200
    assert "2026-13-45" in response.content.decode()


# -- publishing -------------------------------------------------------------------------------


def test_publishing_asks_with_the_simulation_and_makes_one_published_version(
    world: World, client_as: ClientAs
) -> None:
    save_draft(world)
    client = client_as("admin")
    page = client.get("/policies/runs_test/v2/publish/").content.decode()
    confirm = re.search(r'data-confirm="([^"]+)"', page)
    assert confirm is not None
    assert "上调 1 个，下调 2 个，新增 0 个，移出 0 个" in confirm.group(1)
    assert not PolicyVersion.objects.get(policy__name="runs_test", version=2).is_published

    response = client.post("/policies/runs_test/v2/publish/")
    assert response.status_code == 302
    assert response["Location"] == "/policies/runs_test/v2/?published=1"
    published = PolicyVersion.objects.filter(policy__name="runs_test", is_published=True)
    assert [v.version for v in published] == [2]
    assert PolicyVersion.objects.get(policy__name="runs_test", version=1).published_at is not None
    entry = AuditEntry.objects.get(action="policy.published", user=world.users["admin"])
    assert entry.user == world.users["admin"]
    assert entry.details == {"version": 2}
    after = client.get(response["Location"]).content.decode()
    assert 'data-testid="published-alert"' in after
    # the runs keep the old grades until a run is started
    assert Publication.objects.get().run_id == world.runs[-1].pk


def test_publishing_the_published_version_changes_nothing(
    world: World, client_as: ClientAs
) -> None:
    response = client_as("admin").post("/policies/runs_test/v1/publish/")
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(action="policy.published", user=world.users["admin"])


# -- comparing --------------------------------------------------------------------------------


def test_compare_shows_the_yaml_diff_and_the_bounds_that_moved(
    world: World, client_as: ClientAs
) -> None:
    save_draft(world)
    html = client_as("rep_b").get("/policies/runs_test/compare/?a=1&b=2").content.decode()
    assert re.search(r'<tr class="diff-del">.*?- \s*- \{label: A, min: 1000\}', html)
    assert re.search(r'<tr class="diff-add">.*?\+ \s*- \{label: A, min: 900\}', html)
    assert len(re.findall(r'<tr class="diff-(?:add|del)">', html)) == 4
    assert re.search(r'data-part="dimension" data-name="value" data-kind="changed"', html)
    assert 'data-name="steady"' not in html
    bounds = re.findall(r'<tr data-dimension="(\w+)" data-label="(\w+)">', html)
    assert bounds == [("value", "A"), ("value", "B")]


def test_compare_with_one_version_says_so(world: World, client_as: ClientAs) -> None:
    html = client_as("admin").get("/policies/runs_test/compare/").content.decode()
    assert "只有一个版本" in html
