"""The holdout chart is well-formed SVG with one point per calibration-frequency group."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fenji.engine.clv.chart import holdout_svg

ROWS = {
    "rows": [
        {"label": "0", "actual_mean": 0.24, "expected_mean": 0.23},
        {"label": "1", "actual_mean": 0.70, "expected_mean": 0.52},
        {"label": "7+", "actual_mean": 6.1, "expected_mean": 6.4},
    ]
}
SVG = "{http://www.w3.org/2000/svg}"


def test_chart_has_actual_and_predicted_series_and_escapes_the_title() -> None:
    svg = holdout_svg(ROWS, title="a < b & c", lang="en")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 2
    assert all(len(line.attrib["points"].split()) == 3 for line in lines)
    assert len(root.findall(f"{SVG}circle")) == 6
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "a < b & c" in texts
    assert {"actual", "predicted", "7+"} <= set(texts)


def test_higher_values_are_drawn_higher() -> None:
    root = ET.fromstring(holdout_svg(ROWS, lang="zh"))
    actual = root.findall(f"{SVG}polyline")[0].attrib["points"].split()
    ys = [float(p.split(",")[1]) for p in actual]
    assert ys[0] > ys[1] > ys[2]  # SVG y grows downwards
