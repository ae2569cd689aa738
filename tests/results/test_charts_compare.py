"""SVG charts carry a text alternative; the rule comparison names the projects that differ."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import tally
from results.charts import Bar, budget_chart, district_chart
from results.compare import compare

SVG = "{http://www.w3.org/2000/svg}"


def test_district_chart_is_valid_accessible_svg() -> None:
    svg = district_chart(
        "c1",
        "Votes per project in North",
        [Bar("Park <benches>", 12, True, "12"), Bar("Bike lane", 3, False, "3")],
        "votes",
    )
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "Votes per project in North"
    desc = root.find(f"{SVG}desc").text
    assert "Funded: Park <benches>" in desc and "Bike lane: 3 votes" in desc
    bars = root.findall(f"{SVG}rect")
    assert [b.get("class") for b in bars] == ["chart-bar chart-bar-funded", "chart-bar"]
    assert int(bars[0].get("width")) > int(bars[1].get("width")) > 0
    assert "style=" not in svg  # the site's CSP forbids inline styles


def test_budget_chart_never_overflows() -> None:
    root = ET.fromstring(budget_chart("b", "Budget used", 150, 100, "150", "-50"))
    track, bar = root.findall(f"{SVG}rect")
    assert int(bar.get("width")) <= int(track.get("width"))
    assert ET.fromstring(budget_chart("z", "Budget used", 0, 0, "0", "0")) is not None


def test_compare_lists_what_each_rule_adds_and_drops() -> None:
    # Greedy funds the big popular project; equal shares spreads the money.
    e = tally.Election(
        budget=100,
        projects=(tally.Project("big", 90), tally.Project("s1", 50), tally.Project("s2", 50)),
        ballots=(
            tally.Ballot(("big",), weight=6),
            tally.Ballot(("s1",), weight=5),
            tally.Ballot(("s2",), weight=5),
        ),
    )
    official = tally.run("greedy", e, "")
    assert official.selected == ("big",)
    rows = {r.rule: r for r in compare(e, official, "")}
    assert rows["greedy"].official and rows["greedy"].same
    mes = rows["equalshares/add1"]
    assert set(mes.added) == {"s1", "s2"} and mes.dropped == ("big",)
    assert rows["borda-greedy"].error  # needs rankings
