"""Load a policy and report every problem at once, each with its YAML path, line and a hint.

Checks run in two passes: the shape (Pydantic) and then the meaning across the document —
unknown metrics or sources, expressions outside the allow-list, labels in the wrong order,
cycles between metrics and dimensions. A user fixing a policy sees all problems in one go.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fenji.policy.dimensions import (
    Band,
    BandsDimension,
    ClustersDimension,
    Cut,
    MatrixDimension,
    ParetoDimension,
    RfmDimension,
    RulesDimension,
    ScorecardDimension,
    StarsDimension,
)
from fenji.policy.expressions import ExpressionError, ParsedExpression, Scope, parse_expression
from fenji.policy.models import Metric, Policy
from fenji.policy.numbers import format_decimal
from fenji.policy.sources import BUILTIN_SOURCES, CUSTOMERS
from fenji.policy.yaml_loader import YamlSyntaxError, line_of, load_yaml

PathT = tuple[str | int, ...]

#: How many clusters a clusters dimension may have.
MIN_CLUSTERS, MAX_CLUSTERS = 2, 20

#: How many classes a natural-breaks cut may split a population into.
MIN_BREAK_CLASSES = 2
MAX_BREAK_CLASSES = 10

#: Names an entity-level expression may always use besides metrics and dimensions.
ENTITY_BUILTINS = frozenset({"customer_id", "business_line"})


@dataclass(frozen=True)
class ValidationIssue:
    """One problem in a policy: stable code, message, dotted path, line and how to fix it."""

    code: str
    message: str
    path: str
    line: int | None = None
    hint: str = ""
    file: str | None = None

    def __str__(self) -> str:
        where = f"{self.file or 'policy'}"
        if self.line is not None:
            where += f":{self.line}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class PolicyError(ValueError):
    """The policy cannot be used; ``issues`` holds every problem found."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = issues
        lines = [f"{len(issues)} problem(s) in the policy:"] + [f"  - {i}" for i in issues]
        super().__init__("\n".join(lines))


def dotted(path: Iterable[str | int]) -> str:
    """``("dimensions", "overall", "bands", 2, "min")`` -> ``dimensions.overall.bands[2].min``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def load_policy(source: str | Path, *, text: str | None = None) -> Policy:
    """Read and validate a policy from a file path (or from ``text``, named ``source``)."""
    file = str(source)
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise PolicyError(
                [
                    ValidationIssue(
                        "policy.file_not_found",
                        f"no policy file at {file}",
                        "",
                        hint="check the path; shipped policies are in examples/policies/",
                        file=file,
                    )
                ]
            ) from None
        except UnicodeDecodeError:
            raise PolicyError(
                [ValidationIssue("policy.encoding", "the file is not UTF-8", "", file=file)]
            ) from None
    return parse_policy(text, file=file)


def parse_policy(text: str, *, file: str | None = None) -> Policy:
    """Validate policy YAML text; raise :class:`PolicyError` listing every problem."""
    try:
        data, lines = load_yaml(text)
    except YamlSyntaxError as err:
        raise PolicyError(
            [
                ValidationIssue(
                    "policy.yaml_syntax",
                    f"not valid YAML: {err}",
                    "",
                    line=err.line,
                    hint="check indentation and quoting; quote text that contains ':' or '#'",
                    file=file,
                )
            ]
        ) from None
    if not isinstance(data, dict):
        raise PolicyError(
            [
                ValidationIssue(
                    "policy.not_a_mapping",
                    "a policy is a YAML mapping with fenji, name, title, metrics and dimensions",
                    "",
                    line=1,
                    file=file,
                )
            ]
        )
    try:
        policy = Policy.model_validate(data)
    except ValidationError as err:
        raise PolicyError(_shape_issues(err, data, lines, file)) from None
    issues = _Checker(policy, lines, file).run()
    if issues:
        raise PolicyError(issues)
    return policy


_METHODS = {"bands", "rules", "scorecard", "matrix", "pareto", "rfm", "stars"}


def _shape_issues(
    err: ValidationError, data: dict[str, Any], lines: dict[PathT, int], file: str | None
) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    seen: set[tuple[str, str]] = set()
    for e in err.errors():
        loc = list(e["loc"])
        # Discriminated unions insert the method name into the location; drop it.
        if len(loc) >= 3 and loc[0] == "dimensions" and loc[2] in _METHODS:
            del loc[2]
        loc = [p for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
        path: PathT = tuple(p for p in loc if isinstance(p, str | int))
        message = str(e["msg"]).removeprefix("Value error, ")
        code = "policy." + str(e["type"]).replace("-", "_")
        hint = ""
        if e["type"] == "extra_forbidden":
            message = f"unknown key '{path[-1]}'"
            hint = "check the spelling; see docs/POLICY.md for the keys each part accepts"
        elif e["type"] == "union_tag_invalid":
            hint = "method is one of: " + ", ".join(sorted(_METHODS))
        elif e["type"] == "missing":
            message = f"'{path[-1]}' is required"
        elif e["type"] == "string_pattern_mismatch":
            hint = "names are lower case letters, digits and _ and start with a letter"
        key = (dotted(path), message)
        if key in seen:
            continue
        seen.add(key)
        issues.append(
            ValidationIssue(code, message, dotted(path), line_of(lines, path), hint, file)
        )
    return issues


class _Checker:
    """Checks that need the whole document: names, expressions, order of labels, cycles."""

    def __init__(self, policy: Policy, lines: dict[PathT, int], file: str | None) -> None:
        self.p = policy
        self.lines = lines
        self.file = file
        self.issues: list[ValidationIssue] = []
        self.names = set(policy.metrics) | set(policy.dimensions) | ENTITY_BUILTINS
        self.deps: dict[str, set[str]] = {}

    def add(self, code: str, message: str, path: PathT, hint: str = "") -> None:
        self.issues.append(
            ValidationIssue(code, message, dotted(path), line_of(self.lines, path), hint, self.file)
        )

    def run(self) -> list[ValidationIssue]:
        for name in set(self.p.metrics) & set(self.p.dimensions):
            self.add(
                "policy.duplicate_name",
                f"'{name}' is both a metric and a dimension",
                ("dimensions", name),
                "give them different names: expressions refer to both by name",
            )
        for name, metric in self.p.metrics.items():
            self._metric(name, metric, ("metrics", name))
        for name, dim in self.p.dimensions.items():
            self.deps[name] = set()
            self._dimension(name, dim, ("dimensions", name))
        if self.p.population:
            self.expr(self.p.population, ("population",), owner=None)
        if self.p.summary.revenue and self.p.summary.revenue not in self.p.metrics:
            self.add(
                "policy.unknown_metric",
                f"summary revenue metric '{self.p.summary.revenue}' is not defined",
                ("summary", "revenue"),
            )
        self._cycles()
        return self.issues

    # -- expressions -------------------------------------------------------------------------
    def expr(
        self,
        text: str,
        path: PathT,
        *,
        owner: str | None,
        scope: Scope = "entity",
        extra: frozenset[str] = frozenset(),
        allowed: Iterable[str] | None = None,
    ) -> ParsedExpression | None:
        try:
            parsed = parse_expression(text, scope)
        except ExpressionError as err:
            for problem in err.problems:
                where = f" (at character {problem.position + 1})" if problem.position else ""
                self.add(
                    "policy." + problem.code.replace(".", "_", 1).replace("expr_", "expr."),
                    f"expression '{_short(text)}': {problem.message}{where}",
                    path,
                    problem.hint,
                )
            return None
        known = set(allowed) if allowed is not None else self.names
        for name in sorted(parsed.names - known - extra):
            self.add(
                "policy.unknown_name",
                f"expression '{_short(text)}' uses '{name}', which is not "
                + ("a column of the source" if scope == "row" else "a metric or dimension"),
                path,
                "define it under metrics, or check the spelling; known: "
                + ", ".join(sorted(known)[:30]),
            )
        if owner is not None:
            self.deps.setdefault(owner, set()).update(parsed.names & self.names)
        return parsed

    def ref(self, text: str, path: PathT, owner: str) -> None:
        """A field that holds a metric name or an expression."""
        if text in self.names:
            self.deps.setdefault(owner, set()).add(text)
        else:
            self.expr(text, path, owner=owner)

    def cut(self, cut: Cut | None, path: PathT, owner: str) -> None:
        if cut is not None and cut.where:
            self.expr(cut.where, (*path, "where"), owner=owner)
        if cut is not None and cut.stat == "natural_breaks":
            self._natural_breaks(cut, path, owner)

    def _natural_breaks(self, cut: Cut, path: PathT, owner: str) -> None:
        k, c = cut.classes, cut.class_
        assert k is not None
        assert c is not None
        if not MIN_BREAK_CLASSES <= k <= MAX_BREAK_CLASSES:
            self.add(
                "policy.natural_breaks_classes",
                f"dimension '{owner}': natural breaks into {k} classes; the number of classes "
                f"is {MIN_BREAK_CLASSES} to {MAX_BREAK_CLASSES}",
                path,
                "e.g. {natural_breaks: 4, class: 1} for the lowest value of the highest of 4 "
                "classes",
            )
        elif not 1 <= c < k:
            self.add(
                "policy.natural_breaks_class",
                f"dimension '{owner}': class {c} of {k} natural-breaks classes cannot be a "
                f"cut; use class 1 (the highest) to {k - 1}",
                path,
                f"classes count from 1, the highest; class {k} starts at the lowest value, so "
                "the last band without a bound takes it",
            )

    # -- metrics -----------------------------------------------------------------------------
    def _metric(self, name: str, m: Metric, path: PathT) -> None:
        self.deps[name] = set()
        if m.kind == "agg":
            assert m.source is not None
            columns = self._source_columns(m.source)
            if columns is None:
                self.add(
                    "policy.unknown_source",
                    f"metric '{name}' reads '{m.source}', which is not a known source",
                    (*path, "from"),
                    "built-in sources: "
                    + ", ".join(sorted(set(BUILTIN_SOURCES) - {"customers"}))
                    + "; declare others under 'sources'",
                )
                return
            for key, text in (("of", m.of), ("where", m.where)):
                if text is None or (key == "of" and text == "*"):
                    continue
                self.expr(text, (*path, key), owner=None, scope="row", allowed=columns | {"as_of"})
        elif m.kind == "model":
            self._model_metric(name, m, path)
        elif m.kind == "expr":
            assert m.expr is not None
            self.expr(m.expr, (*path, "expr"), owner=name)
        elif m.kind == "tenure":
            assert m.tenure is not None
            if m.tenure in self.p.metrics:
                self.deps[name].add(m.tenure)
            elif (
                m.tenure not in CUSTOMERS.column_names or CUSTOMERS.column(m.tenure).type != "date"
            ):
                self.add(
                    "policy.bad_tenure",
                    f"tenure of metric '{name}' counts from '{m.tenure}', which is neither a "
                    "date column of customers nor a metric",
                    (*path, "tenure"),
                    "use first_deal_date or a metric such as the first order date",
                )

    def _model_metric(self, name: str, m: Metric, path: PathT) -> None:
        """A model is fitted on purchase days and amounts: its source needs them."""
        assert m.source is not None
        columns = self._source_columns(m.source)
        needed = {"customer_id", "order_date", "amount"}
        if columns is None or not needed <= columns:
            missing = sorted(needed - (columns or set()))
            self.add(
                "policy.bad_model_source",
                f"metric '{name}' fits its model on '{m.source}', which "
                + ("is not a known source" if columns is None else f"has no {', '.join(missing)}"),
                (*path, "from"),
                "models are fitted on orders (customer_id, order_date, amount): use from: orders",
            )

    def _source_columns(self, source: str) -> set[str] | None:
        if source in self.p.sources:
            return set(self.p.sources[source].columns) | {"customer_id"}
        builtin = BUILTIN_SOURCES.get(source)
        if builtin is None or source == "customers":
            return None
        return set(builtin.column_names)

    # -- dimensions --------------------------------------------------------------------------
    def _dimension(self, name: str, d: Any, path: PathT) -> None:
        for i, rule in enumerate(d.first):
            self.expr(rule.when, (*path, "first", i, "when"), owner=name)
        if d.population:
            self.expr(d.population, (*path, "population"), owner=name)
        produced: list[str] = [r.label for r in d.first]
        if isinstance(d, BandsDimension):
            self.ref(d.metric, (*path, "metric"), name)
            self._bands(d.bands, (*path, "bands"), name)
            produced += [b.label for b in d.bands]
        elif isinstance(d, RulesDimension):
            for i, rule in enumerate(d.rules):
                self.expr(rule.when, (*path, "rules", i, "when"), owner=name)
            produced += [r.label for r in d.rules] + ([d.default] if d.default else [])
        elif isinstance(d, ScorecardDimension):
            self._scorecard(name, d, path)
            produced += [b.label for b in d.grades] + [r.label for r in d.red_lines]
        elif isinstance(d, MatrixDimension):
            for axis in ("x", "y"):
                a = getattr(d, axis)
                self.ref(a.metric, (*path, axis, "metric"), name)
                self.cut(a.cut, (*path, axis, "cut"), name)
            produced += list(d.quadrants.model_dump().values())
        elif isinstance(d, ParetoDimension):
            self.ref(d.metric, (*path, "metric"), name)
            for i, c in enumerate(d.classes):
                last = i == len(d.classes) - 1
                if last != (c.upto is None):
                    self.add(
                        "policy.pareto_classes",
                        f"class {c.label}: only the last class has no 'upto'",
                        (*path, "classes", i),
                        "give every class but the last a cumulative share such as 0.7",
                    )
                prev = d.classes[i - 1].upto if i else None
                if c.upto is not None and prev is not None and c.upto <= prev:
                    self.add(
                        "policy.pareto_order",
                        f"class {c.label}: upto {c.upto} must be above {prev}",
                        (*path, "classes", i, "upto"),
                    )
            produced += [c.label for c in d.classes]
        elif isinstance(d, RfmDimension):
            for key in ("recency", "frequency", "monetary"):
                self.ref(getattr(d, key), (*path, key), name)
            for i, rule in enumerate(d.segments):
                self.expr(
                    rule.when,
                    (*path, "segments", i, "when"),
                    owner=None,
                    allowed={"r", "f", "m"},
                )
            produced += list(d.classes.values()) if d.model == "cn8" else []
            produced += [r.label for r in d.segments] + ([d.default] if d.default else [])
        elif isinstance(d, StarsDimension):
            for i, comp in enumerate(d.components):
                self.ref(comp.metric, (*path, "components", i, "metric"), name)
            self._bands(d.stars, (*path, "stars"), name)
            produced += [b.label for b in d.stars]
        elif isinstance(d, ClustersDimension):
            produced += self._clusters(name, d, path)
        if d.outside:
            produced.append(d.outside)
        if d.labels:
            unknown = [lab for lab in produced if lab not in d.labels]
            for lab in dict.fromkeys(unknown):
                self.add(
                    "policy.unlisted_label",
                    f"dimension '{name}' gives label '{lab}', which is not under 'labels'",
                    (*path, "labels"),
                    "list every label under 'labels', best first",
                )
        for key, info in d.labels.items():
            if info.strategy and info.strategy not in self.p.strategies:
                self.add(
                    "policy.unknown_strategy",
                    f"label '{key}' uses strategy '{info.strategy}', which is not defined",
                    (*path, "labels", key, "strategy"),
                    "define it under 'strategies'",
                )

    def _clusters(self, name: str, d: ClustersDimension, path: PathT) -> list[str]:
        """Checks of a clusters dimension; returns the labels it can give."""
        for i, m in enumerate(d.metrics):
            if m.metric not in self.p.metrics:
                self.add(
                    "policy.unknown_metric",
                    f"dimension '{name}' clusters on '{m.metric}', which is not a metric",
                    (*path, "metrics", i),
                    "cluster on metrics defined under 'metrics'; known: "
                    + ", ".join(sorted(self.p.metrics)[:30]),
                )
            else:
                self.deps[name].add(m.metric)
        names = [m.metric for m in d.metrics]
        for metric in dict.fromkeys(n for n in names if names.count(n) > 1):
            self.add(
                "policy.clusters_metrics",
                f"dimension '{name}' lists '{metric}' more than once",
                (*path, "metrics"),
            )
        if d.value not in self.p.metrics:
            self.add(
                "policy.unknown_metric",
                f"dimension '{name}' ranks its clusters by '{d.value}', which is not a metric",
                (*path, "value"),
                "rank clusters by a metric such as 12-month sales",
            )
        else:
            self.deps[name].add(d.value)
        if d.k is not None and d.k_range is not None:
            self.add(
                "policy.clusters_k",
                f"dimension '{name}': give 'k' or 'k_range', not both",
                (*path, "k"),
                "k fixes the number of clusters; k_range lets the silhouette choose",
            )
        if d.k is not None and not MIN_CLUSTERS <= d.k <= MAX_CLUSTERS:
            self.add(
                "policy.clusters_k",
                f"dimension '{name}': {d.k} clusters; k is {MIN_CLUSTERS} to {MAX_CLUSTERS}",
                (*path, "k"),
            )
        if d.k_range is not None:
            r = d.k_range
            if len(r) != 2 or not MIN_CLUSTERS <= r[0] <= r[1] <= MAX_CLUSTERS:
                self.add(
                    "policy.clusters_k_range",
                    f"dimension '{name}': k_range {r} is not [lowest, highest] within "
                    f"{MIN_CLUSTERS} to {MAX_CLUSTERS}",
                    (*path, "k_range"),
                    "e.g. k_range: [2, 6]",
                )
                return []
        top = d.k_bounds[1]
        if d.names and len(d.names) != top:
            self.add(
                "policy.clusters_names",
                f"dimension '{name}' names {len(d.names)} clusters but may give {top}",
                (*path, "names"),
                "give one name per rank, highest value first",
            )
        if len(set(d.names)) != len(d.names):
            self.add(
                "policy.clusters_names",
                f"dimension '{name}': cluster names must differ",
                (*path, "names"),
            )
        return [d.rank_label(r) for r in range(1, top + 1)] + ([d.missing] if d.missing else [])

    def _bands(self, bands: list[Band], path: PathT, owner: str) -> None:
        previous: tuple[Band, int] | None = None
        for i, band in enumerate(bands):
            bound = band.bound
            last = i == len(bands) - 1
            if bound is None and not last:
                self.add(
                    "policy.catch_all_not_last",
                    f"band {band.label} has no bound but is not the last band",
                    (*path, i),
                    "only the last band may catch everything else",
                )
            self.cut(bound, (*path, i, "min" if band.min is not None else "above"), owner)
            if bound is not None and bound.value is not None and previous is not None:
                prev_band, _ = previous
                pb = prev_band.bound
                assert pb is not None
                if pb.value is not None and (
                    bound.value > pb.value
                    or (bound.value == pb.value and not (prev_band.above and band.min))
                ):
                    key = "min" if band.min is not None else "above"
                    self.add(
                        "policy.band_order",
                        f"band {band.label} lower bound {format_decimal(bound.value)} is not "
                        f"below band {prev_band.label} lower bound {format_decimal(pb.value)}",
                        (*path, i, key),
                        "bounds must decrease from the first (best) band to the last",
                    )
            if bound is not None and previous is not None:
                self._break_order(band, previous[0], (*path, i))
            if bound is not None:
                previous = (band, i)

    def _break_order(self, band: Band, above: Band, path: PathT) -> None:
        """Natural-breaks bounds of the same classes must go down the classes as the bands go
        down: band B at class 1 under band A at class 2 would never be reached."""
        cut, prev = band.bound, above.bound
        assert cut is not None
        assert prev is not None
        if cut.stat != "natural_breaks" or prev.stat != "natural_breaks":
            return
        if (cut.classes, cut.where) != (prev.classes, prev.where):
            return
        assert cut.class_ is not None
        assert prev.class_ is not None
        if cut.class_ < prev.class_ or (
            cut.class_ == prev.class_ and not (above.above and band.min)
        ):
            self.add(
                "policy.band_order",
                f"band {band.label} lower bound is natural-breaks class {cut.class_} of "
                f"{cut.classes}, not below band {above.label} at class {prev.class_}",
                (*path, "min" if band.min is not None else "above"),
                "classes count from 1, the highest: list the bands best first with classes "
                "1, 2, 3, ...",
            )

    def _scorecard(self, name: str, d: ScorecardDimension, path: PathT) -> None:
        for i, item in enumerate(d.items):
            ipath = (*path, "items", i)
            if item.dimension is not None:
                if item.dimension not in self.p.dimensions:
                    self.add(
                        "policy.unknown_dimension",
                        f"item '{item.name}' takes points from '{item.dimension}', which is "
                        "not a dimension of this policy",
                        (*ipath, "dimension"),
                    )
                self.deps[name].add(item.dimension)
            if item.value is not None:
                self.expr(item.value, (*ipath, "value"), owner=name)
            if item.metric is not None:
                self.ref(item.metric, (*ipath, "metric"), name)
                for j, pb in enumerate(item.bands or []):
                    for key in ("min", "above"):
                        self.cut(getattr(pb, key), (*ipath, "bands", j, key), name)
        for group in ("bonus", "deductions"):
            for i, adj in enumerate(getattr(d, group)):
                if adj.when:
                    self.expr(adj.when, (*path, group, i, "when"), owner=name)
                if adj.value:
                    self.expr(adj.value, (*path, group, i, "value"), owner=name)
        for i, red in enumerate(d.red_lines):
            self.expr(red.when, (*path, "red_lines", i, "when"), owner=name)
        self._bands(d.grades, (*path, "grades"), name)

    def _cycles(self) -> None:
        state: dict[str, int] = {}

        def visit(node: str, trail: list[str]) -> None:
            state[node] = 1
            for dep in sorted(self.deps.get(node, ())):
                if dep == node or state.get(dep) == 1:
                    cycle = [*trail[trail.index(dep) :], dep] if dep in trail else [node, dep]
                    section = "dimensions" if node in self.p.dimensions else "metrics"
                    self.add(
                        "policy.cycle",
                        "circular definition: " + " -> ".join(cycle),
                        (section, node),
                        "a metric or dimension cannot depend on itself",
                    )
                elif state.get(dep, 0) == 0 and dep in self.deps:
                    visit(dep, [*trail, dep])
            state[node] = 2

        for node in list(self.deps):
            if state.get(node, 0) == 0:
                visit(node, [node])


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."
