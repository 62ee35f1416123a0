"""Compile metrics to SQL: metrics become sqlglot expressions, and the expressions become SQL for one dialect.

The pipeline is plain steps: `plan_metrics` groups metrics that can share one scan of their source table(s),
`Compiler.plan_query` turns a plan into a query that returns tidy cube rows, and `Compiler.sql` prints it.
A dialect is a thin `Compiler` subclass that sets `dialect` and overrides the few `visit_*` rules that differ.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import ClassVar

from sqlglot import exp

from ecoradar.data.schema import DIMENSIONS
from ecoradar.errors import InputError, unknown
from ecoradar.metrics.loader import check_metric
from ecoradar.metrics.model import CONCENTRATION_KINDS, Metric
from ecoradar.metrics.sources import CREATOR_DIMENSIONS, NEW_CREATOR_DAYS, NONE_VALUE, columns_of

#: Cube columns in order (the Parquet layout every stage reads).
CUBE_COLUMNS: tuple[str, ...] = ("metric", "date", *DIMENSIONS, "numerator", "denominator", "value")

#: Entity kinds computed from per-entity totals alone (no rank, count or total per slice needed).
UNRANKED_KINDS = ("distinct_count", "effective_count")

#: Tolerance added before flooring top_fraction * n, so 0.29 * 100 counts 29 entities, not 28.
_FLOOR_EPS = 1e-9


class MetricNotSupported(InputError):
    """A metric uses a feature that the target engine cannot compute."""


@dataclass(frozen=True)
class Plan:
    """Metrics computed together from one scan of their source table(s).

    Simple plans hold every non-concentration metric over the same tables; concentration plans (gini, entropy,
    top_share) hold the metrics that share one per-entity measure (same table, entity, numerator and filter).
    """

    tables: tuple[str, ...]
    metrics: tuple[Metric, ...]
    dims: tuple[str, ...]
    """Dimensions any metric of the plan slices by, in cube order (bit i of the grouping id is dims[i])."""
    sets: tuple[tuple[str, ...], ...]
    """Grouping sets (dimension tuples) the plan computes: the union of its metrics' slices."""
    entity: str | None = None
    """For concentration plans: the column whose distribution is measured."""


def metric_dims(metric: Metric, dims: Iterable[str] | None = None) -> tuple[str, ...]:
    """The dimensions `metric` is sliced by in a run restricted to `dims` (None: all of its own), in cube order."""
    allowed = set(metric.dimensions) if dims is None else set(metric.dimensions) & set(dims)
    return tuple(d for d in DIMENSIONS if d in allowed)


def metric_slices(metric: Metric, dims: Iterable[str] | None = None, depth: int = 2) -> list[tuple[str, ...]]:
    """Every slice (tuple of dimensions) `metric` gets up to `depth`: all combinations, plus () for the total.

    A share metric only gets slices that include its entity (its value is defined only there).
    """
    own = metric_dims(metric, dims)
    out = [c for k in range(min(depth, len(own)) + 1) for c in combinations(own, k)]
    if metric.kind == "share":
        out = [c for c in out if metric.entity in c]
    return out


def plan_metrics(metrics: Sequence[Metric], *, dims: Iterable[str] | None = None, depth: int = 2) -> list[Plan]:
    """Group metrics into plans so each source table is scanned once per plan (simple first, then per entity)."""
    if depth < 0:
        raise InputError(f"depth must be >= 0, got {depth}")
    dims = None if dims is None else tuple(dims)
    groups: dict[tuple, list[Metric]] = {}
    for metric in metrics:
        if metric.kind in CONCENTRATION_KINDS:
            key = ("entity", metric.table, metric.entity, metric.numerator, metric.filter)
        elif metric.kind == "distinct_count" and isinstance(check_metric(metric)["numerator"], exp.Column):
            # distinct values = entities of the slice: shares the per-entity scan (no COUNT(DISTINCT) per set)
            key = ("entity", metric.table, check_metric(metric)["numerator"].name, None, metric.filter)
        else:
            key = ("simple", *metric.tables)
        groups.setdefault(key, []).append(metric)
    plans = []
    for key, members in sorted(groups.items(), key=lambda kv: (kv[0][0] != "simple", [k or "" for k in kv[0][1:]])):
        sets: dict[tuple[str, ...], None] = {}
        for metric in members:
            sets.update(dict.fromkeys(metric_slices(metric, dims, depth)))
        if not sets:
            continue
        used = {d for s in sets for d in s}
        plan_dims = tuple(d for d in DIMENSIONS if d in used)
        ordered = sorted(sets, key=lambda s: (len(s), [plan_dims.index(d) for d in s]))
        tables = (key[1],) if key[0] == "entity" else key[1:]
        entity = key[2] if key[0] == "entity" else None
        plans.append(Plan(tables, tuple(members), plan_dims, tuple(ordered), entity))
    return plans


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table)


def _lit(value) -> exp.Expression:
    if isinstance(value, str):
        return exp.Literal.string(value)
    return exp.Literal.number(value)


def dim_column(name: str) -> str:
    """Internal column name of a dimension inside the compiled query."""
    return f"_dim_{name}"


def _decompose(agg: exp.Expression):
    """Split a count or sum into (partial aggregate, re-aggregation of partials); None for other aggregates."""
    wrapped = isinstance(agg, exp.Coalesce)
    core = agg.this if wrapped else agg
    func = core.this if isinstance(core, exp.Filter) else core
    if not isinstance(func, exp.Count | exp.Sum) or isinstance(func.this, exp.Distinct):
        return None

    def outer(partial: exp.Expression) -> exp.Expression:
        total = exp.Sum(this=partial)
        return exp.Coalesce(this=total, expressions=[_lit(0)]) if wrapped else total

    return core, outer


class Compiler:
    """Turn metrics into sqlglot expressions and SQL for one dialect.

    Subclasses set `dialect` (a sqlglot dialect name) and override `visit_*` rules where the engine differs.
    Example:
        >>> from ecoradar.metrics.loader import load_catalog
        >>> sql = get_compiler("duckdb").compile_metric(load_catalog().get("like_rate"), dims=["region"])
        >>> "GROUPING SETS" in sql
        True
    """

    dialect: ClassVar[str] = ""
    """The sqlglot dialect SQL is written in."""
    UNSUPPORTED_KINDS: ClassVar[tuple[str, ...]] = ()
    """Metric kinds this engine cannot compute (compile raises MetricNotSupported)."""
    MATERIALIZE_SHARED: ClassVar[bool] = False
    """Whether a source CTE read by several plans is written `AS MATERIALIZED` (read and joined once)."""
    registry: ClassVar[dict[str, type[Compiler]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.dialect:
            Compiler.registry[cls.dialect] = cls

    # -- dialect rules: override these in a subclass when the engine spells them differently -------------------

    def visit_day(self, ts: exp.Expression) -> exp.Expression:
        """The calendar day of a timestamp."""
        return exp.cast(ts, "DATE")

    def visit_days_between(self, later: exp.Expression, earlier: exp.Expression) -> exp.Expression:
        """Whole days from `earlier` to `later`."""
        return exp.DateDiff(this=later, expression=earlier, unit=exp.var("DAY"))

    def visit_quantile(self, arg: exp.Expression, q: float) -> exp.Expression:
        """Exact (interpolated) quantile of `arg`, like numpy's default."""
        return exp.PercentileCont(this=arg, expression=_lit(q))

    def visit_safe_div(self, num: exp.Expression, den: exp.Expression) -> exp.Expression:
        """num / den, NULL (never inf or an error) when den is 0."""
        num = exp.paren(num) if isinstance(num, exp.Binary) else num
        return exp.Div(this=num, expression=exp.Nullif(this=den, expression=_lit(0)))

    def visit_grouping(self, column: exp.Expression) -> exp.Expression:
        """1 when `column` is aggregated away in the current grouping set, else 0."""
        return exp.Grouping(expressions=[column])

    # -- public API ----------------------------------------------------------------------------------------------

    def sql(self, expression: exp.Expression, *, pretty: bool = False) -> str:
        """SQL text of an expression in this compiler's dialect."""
        return expression.sql(dialect=self.dialect, pretty=pretty)

    def compile_metric(
        self,
        metric: Metric,
        *,
        dims: Iterable[str] | None = None,
        depth: int = 2,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        pretty: bool = True,
    ) -> str:
        """SQL computing one metric's cube rows (columns CUBE_COLUMNS)."""
        return self.sql(
            self.cube_query([metric], dims=dims, depth=depth, date_from=date_from, date_to=date_to), pretty=pretty
        )

    def cube_query(
        self,
        metrics: Sequence[Metric],
        *,
        dims: Iterable[str] | None = None,
        depth: int = 2,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
    ) -> exp.Query:
        """One query returning the tidy cube rows of all `metrics` for days in [date_from, date_to].

        Raises:
            MetricNotSupported: a metric's kind is not available on this engine.
            InputError: a metric does not validate, or the run has no slice to compute.
        """
        for metric in metrics:
            if metric.kind in self.UNSUPPORTED_KINDS:
                raise MetricNotSupported(
                    f"metric {metric.name!r}: kind {metric.kind!r} is not supported on engine {self.dialect!r}"
                )
        plans = plan_metrics(metrics, dims=dims, depth=depth)
        if not plans:
            raise InputError("no metric has a slice to compute (check --dims / the metrics' dimensions)")
        # plans over the same table(s) share one source CTE: one read (and creators join) of the table per run
        parsed = [{m.name: check_metric(m) for m in plan.metrics} for plan in plans]
        sources: dict[tuple, tuple[dict[str, None], dict[str, None], list[int]]] = {}
        for i, plan in enumerate(plans):
            dims_used, needed, users = sources.setdefault((plan.tables, plan.metrics[0].date_column), ({}, {}, []))
            dims_used.update(dict.fromkeys(plan.dims))
            needed.update(dict.fromkeys(self._needed_columns(plan, parsed[i])))
            users.append(i)
        ctes: list[tuple[str, exp.Expression, bool]] = []
        src_of: dict[int, str] = {}
        for j, ((tables, date_column), (dims_used, needed, users)) in enumerate(sources.items()):
            ordered = tuple(d for d in DIMENSIONS if d in dims_used)
            query = self.source(tables, ordered, list(needed), date_column, date_from=date_from, date_to=date_to)
            ctes.append((f"src{j}", query, self.MATERIALIZE_SHARED and len(users) > 1))
            src_of.update(dict.fromkeys(users, f"src{j}"))
        parts = []
        for i, plan in enumerate(plans):
            plan_ctes, tidy = self.plan_query(plan, parsed[i], src_of[i], prefix=f"p{i}_")
            ctes += [(name, cte, False) for name, cte in plan_ctes]
            parts.append(tidy)
        query = parts[0] if len(parts) == 1 else exp.union(*parts, distinct=False, copy=False)
        for name, cte, materialized in ctes:
            query = query.with_(name, as_=cte, copy=False, materialized=materialized or None)
        return query

    # -- compile steps -------------------------------------------------------------------------------------------

    def plan_query(
        self, plan: Plan, parsed: dict[str, dict[str, exp.Expression]], src: str, *, prefix: str
    ) -> tuple[list[tuple[str, exp.Expression]], exp.Select]:
        """The CTEs (after the source `src`) and the final tidy SELECT of one plan."""
        ctes = []
        if plan.entity is None:
            steps, wide, picks = self.simple_aggregates(plan, parsed, src, prefix)
            ctes += steps
        else:
            steps = self.entity_steps(plan, parsed, src, prefix)
            ctes += steps
            wide, picks = self.concentration_aggregates(plan, steps[-1][0])
        ctes.append((f"{prefix}agg", wide))
        return ctes, self.tidy(plan, f"{prefix}agg", picks)

    def _needed_columns(self, plan: Plan, parsed: dict[str, dict[str, exp.Expression]]) -> list[str]:
        cols: dict[str, None] = {}
        for trees in parsed.values():
            for tree in trees.values():
                cols.update(dict.fromkeys(c.name for c in tree.find_all(exp.Column)))
        if plan.entity:
            cols[plan.entity] = None
        return list(cols)

    def column_expression(self, name: str, date_column: str) -> exp.Expression:
        """A column of the source row (alias t), or tier / creator_age through the creators join (alias c)."""
        if name == "tier":
            return _col("tier", "c")
        if name == "creator_age":
            return self.creator_age(date_column)
        return _col(name, "t")

    def creator_age(self, date_column: str) -> exp.Expression:
        """'new' when the creator joined less than NEW_CREATOR_DAYS before the row's day, else 'established'."""
        age = self.visit_days_between(self.visit_day(_col(date_column, "t")), _col("join_date", "c"))
        return exp.Case(
            ifs=[
                exp.If(this=exp.Is(this=_col("join_date", "c"), expression=exp.Null()), true=exp.Null()),
                exp.If(this=exp.LT(this=age, expression=_lit(NEW_CREATOR_DAYS)), true=_lit("new")),
            ],
            default=_lit("established"),
        )

    def source(
        self,
        tables: tuple[str, ...],
        dims: tuple[str, ...],
        needed: list[str],
        date_column: str,
        *,
        date_from: dt.date | None,
        date_to: dt.date | None,
    ) -> exp.Query:
        """Rows of the table(s) with the day, the dimensions (NULL -> '(none)') and the columns used."""
        branches = []
        for table in tables:
            cols = set(columns_of(table))
            uses_creators = any(c in CREATOR_DIMENSIONS for c in [*dims, *needed] if c in cols)
            projections: list[exp.Expression] = [exp.alias_(self.visit_day(_col(date_column, "t")), "_day")]
            if len(tables) > 1:
                projections.append(exp.alias_(_lit(table), "_table"))
            for d in dims:
                value = exp.cast(self.column_expression(d, date_column), "VARCHAR")
                projections.append(exp.alias_(exp.Coalesce(this=value, expressions=[_lit(NONE_VALUE)]), dim_column(d)))
            for name in needed:
                value = self.column_expression(name, date_column) if name in cols else exp.Null()
                projections.append(exp.alias_(value, name))
            query = exp.select(*projections).from_(exp.to_table(table).as_("t"))
            if uses_creators:
                query = query.join(
                    exp.to_table("creators").as_("c"),
                    on=exp.EQ(this=_col("creator_id", "t"), expression=_col("creator_id", "c")),
                    join_type="left",
                )
            if date_from is not None:
                query = query.where(
                    exp.GTE(this=_col(date_column, "t"), expression=exp.cast(_lit(str(date_from)), "DATE"))
                )
            if date_to is not None:
                end = date_to + dt.timedelta(days=1)
                query = query.where(exp.LT(this=_col(date_column, "t"), expression=exp.cast(_lit(str(end)), "DATE")))
            branches.append(query)
        return branches[0] if len(branches) == 1 else exp.union(*branches, distinct=False)

    def grouping_id(self, plan: Plan) -> exp.Expression:
        """Bit i set when plan.dims[i] is aggregated away: identifies the grouping set of a row."""
        terms = [
            exp.Mul(this=self.visit_grouping(_col(dim_column(d))), expression=_lit(1 << i))
            for i, d in enumerate(plan.dims)
        ]
        if not terms:
            return _lit(0)
        out = terms[0]
        for term in terms[1:]:
            out = exp.Add(this=out, expression=term)
        return out

    def grouping_sets(self, plan: Plan, extra: Sequence[str] = ()) -> exp.Group:
        """GROUP BY GROUPING SETS over the plan's sets, each with the day (and `extra` columns)."""
        tuples = [exp.Tuple(expressions=[_col(c) for c in ("_day", *extra, *map(dim_column, s))]) for s in plan.sets]
        return exp.Group(expressions=[exp.GroupingSets(expressions=tuples)])

    def _safe(self, tree: exp.Expression) -> exp.Expression:
        """Rewrite every division in a user expression to be NULL on a zero divisor."""
        return tree.copy().transform(
            lambda node: self.visit_safe_div(node.this, node.expression) if isinstance(node, exp.Div) else node
        )

    def _filtered(self, agg: exp.Expression, cond: exp.Expression | None) -> exp.Expression:
        if cond is None:
            return agg
        return exp.Filter(this=agg, expression=exp.Where(this=cond))

    def _cond(self, plan: Plan, table: str, predicate: exp.Expression | None) -> exp.Expression | None:
        parts = []
        if len(plan.tables) > 1:
            parts.append(exp.EQ(this=_col("_table"), expression=_lit(table)))
        if predicate is not None:
            parts.append(exp.paren(self._safe(predicate)))
        return exp.and_(*parts) if parts else None

    def _summed(self, tree: exp.Expression, cond: exp.Expression | None) -> exp.Expression:
        """SUM of a row expression (booleans count as 1), or the user's own aggregate, restricted to `cond`."""
        tree = self._safe(tree)
        if tree.find(exp.AggFunc):
            return tree.transform(
                lambda n: (
                    self._filtered(n, cond)
                    if isinstance(n, exp.AggFunc) and not isinstance(n.parent, exp.Filter)
                    else n
                )
            )
        return self._zero(self._filtered(exp.Sum(this=exp.cast(tree, "DOUBLE")), cond))

    def _zero(self, agg: exp.Expression) -> exp.Expression:
        """A sum over no rows is 0 here, not NULL: a slice with no matching rows has numerator 0."""
        return exp.Coalesce(this=agg, expressions=[_lit(0)])

    def simple_aggregates(
        self, plan: Plan, parsed: dict[str, dict[str, exp.Expression]], src: str, prefix: str
    ) -> tuple[list[tuple[str, exp.Expression]], exp.Select, dict[str, tuple[exp.Expression, ...]]]:
        """The wide GROUPING SETS aggregate of a simple plan, and per metric its (numerator, denominator, value).

        When every aggregate is a count or a sum, rows are first summed per day and finest slice (all of the plan's
        dimensions), and the grouping sets re-aggregate those partial sums: far fewer rows per grouping set.
        """
        columns: dict[str, str] = {}  # SQL of an aggregate -> its column name
        aggs: list[exp.Expression] = []

        def column(agg: exp.Expression) -> exp.Column:
            key = agg.sql()
            if key not in columns:
                columns[key] = f"a{len(columns)}"
                aggs.append(exp.alias_(agg, columns[key]))
            return _col(columns[key])

        picks: dict[str, tuple[exp.Expression, ...]] = {}
        windows: list[exp.Expression] = []
        for metric in plan.metrics:
            trees = parsed[metric.name]
            cond = self._cond(plan, metric.table, trees.get("filter"))
            num = self._safe(trees["numerator"]) if "numerator" in trees else None
            null = exp.Null()
            if metric.kind == "count":
                n = column(self._filtered(exp.Count(this=num if num is not None else exp.Star()), cond))
                picks[metric.name] = (n, null, n)
            elif metric.kind == "sum":
                n = column(self._filtered(exp.Sum(this=exp.cast(num, "DOUBLE")), cond))
                picks[metric.name] = (n, null, n)
            elif metric.kind == "distinct_count":
                n = column(self._filtered(exp.Count(this=exp.Distinct(expressions=[num])), cond))
                picks[metric.name] = (n, null, n)
            elif metric.kind == "mean":
                n = column(self._zero(self._filtered(exp.Sum(this=exp.cast(num, "DOUBLE")), cond)))
                d = column(self._filtered(exp.Count(this=num), cond))
                picks[metric.name] = (n, d, self.visit_safe_div(n, d))
            elif metric.kind == "quantile":
                q = column(self._filtered(self.visit_quantile(num, metric.quantile), cond))
                d = column(self._filtered(exp.Count(this=num), cond))
                picks[metric.name] = (q, d, q)
            elif metric.kind == "ratio":
                n = column(self._summed(trees["numerator"], cond))
                den_table = metric.denominator_table or metric.table
                den_pred = trees.get("denominator_filter") if metric.denominator_table else trees.get("filter")
                d = column(self._summed(trees["denominator"], self._cond(plan, den_table, den_pred)))
                picks[metric.name] = (n, d, self.visit_safe_div(n, d))
            elif metric.kind == "share":
                base = exp.Sum(this=exp.cast(num, "DOUBLE")) if num is not None else exp.Count(this=exp.Star())
                n = column(self._filtered(base, cond))
                parent = f"{n.name}_parent_{metric.entity}"
                others = [_col(dim_column(d)) for d in plan.dims if d != metric.entity]
                win = exp.Window(this=exp.Sum(this=n.copy()), partition_by=[_col("_day"), _col("_g"), *others])
                windows.append(exp.alias_(win, parent))
                picks[metric.name] = (n, _col(parent), self.visit_safe_div(n, _col(parent)))
            else:  # pragma: no cover - plan_metrics routes the other kinds to concentration plans
                raise MetricNotSupported(f"metric {metric.name!r}: kind {metric.kind!r} in a simple plan")
        keys = [_col("_day"), *[_col(dim_column(d)) for d in plan.dims]]
        steps: list[tuple[str, exp.Expression]] = []
        parts = [_decompose(a.this) for a in aggs]
        if all(p is not None for p in parts):
            fine = exp.select(*keys, *[exp.alias_(inner, a.alias) for (inner, _), a in zip(parts, aggs, strict=True)])
            steps.append((f"{prefix}fine", fine.from_(src).group_by(*[k.copy() for k in keys])))
            aggs = [exp.alias_(outer(_col(a.alias)), a.alias) for (_, outer), a in zip(parts, aggs, strict=True)]
            src = f"{prefix}fine"
        wide = exp.select(*[k.copy() for k in keys], exp.alias_(self.grouping_id(plan), "_g"), *aggs).from_(src)
        wide.set("group", self.grouping_sets(plan))
        if windows:
            wide = exp.select(exp.Star(), *windows).from_(wide.subquery("w"))
        return steps, wide, picks

    def entity_steps(
        self, plan: Plan, parsed: dict[str, dict[str, exp.Expression]], src: str, prefix: str
    ) -> list[tuple[str, exp.Expression]]:
        """Per-entity totals in every grouping set, then each entity's rank, count and total within its slice."""
        # the measure comes from a concentration metric; distinct counts only need the entities (same filter)
        metric = next((m for m in plan.metrics if m.kind != "distinct_count"), plan.metrics[0])
        trees = dict(parsed[metric.name])
        if metric.kind == "distinct_count":
            trees.pop("numerator")
        keys = [_col("_day"), *[_col(dim_column(d)) for d in plan.dims]]
        measure = (
            exp.Sum(this=exp.cast(self._safe(trees["numerator"]), "DOUBLE"))
            if "numerator" in trees
            else exp.cast(exp.Count(this=exp.Star()), "DOUBLE")
        )
        entity = _col(plan.entity)
        fine = exp.select(*keys, exp.alias_(entity, "_e"), exp.alias_(measure, "_x")).from_(src)
        fine = fine.where(exp.Not(this=exp.Is(this=entity.copy(), expression=exp.Null())))
        if "filter" in trees:
            fine = fine.where(self._safe(trees["filter"]))
        fine = fine.group_by(*[k.copy() for k in keys], entity.copy())
        per_entity = exp.select(
            *[k.copy() for k in keys],
            exp.alias_(self.grouping_id(plan), "_g"),
            _col("_e"),
            exp.alias_(exp.Sum(this=_col("_x")), "_x"),
        ).from_(f"{prefix}fine")
        per_entity.set("group", self.grouping_sets(plan, extra=["_e"]))
        steps = [(f"{prefix}fine", fine), (f"{prefix}per_entity", per_entity)]
        if all(m.kind in UNRANKED_KINDS for m in plan.metrics):
            return steps
        part = [_col("_day"), _col("_g"), *[_col(dim_column(d)) for d in plan.dims]]
        rank = exp.Window(
            this=exp.RowNumber(),
            partition_by=part,
            order=exp.Order(expressions=[exp.Ordered(this=_col("_x"), desc=True), exp.Ordered(this=_col("_e"))]),
        )
        ranked = (
            exp.select(
                exp.Star(),
                exp.alias_(rank, "_rank"),
                exp.alias_(exp.Window(this=exp.Count(this=exp.Star()), partition_by=[p.copy() for p in part]), "_n"),
                exp.alias_(exp.Window(this=exp.Sum(this=_col("_x")), partition_by=[p.copy() for p in part]), "_tot"),
            )
            .from_(f"{prefix}per_entity")
            .where(exp.Not(this=exp.Is(this=_col("_x"), expression=exp.Null())))
        )
        return [*steps, (f"{prefix}ent", ranked)]

    def concentration_aggregates(
        self, plan: Plan, ent: str
    ) -> tuple[exp.Select, dict[str, tuple[exp.Expression, ...]]]:
        """Gini, entropy, top shares and effective counts per slice from the (ranked) per-entity rows."""
        x, n_ent, tot, rank = _col("_x"), _col("_n"), _col("_tot"), _col("_rank")
        share = self.visit_safe_div(x, tot)
        kinds = {m.kind for m in plan.metrics}
        aggs: dict[str, exp.Expression] = {"n": exp.Count(this=exp.Star()), "tot": exp.Sum(this=x)}
        if "gini" in kinds:
            # ascending position of an entity = n - rank + 1 (ties leave the Gini sum unchanged)
            position = exp.paren(exp.Add(this=exp.Sub(this=n_ent, expression=rank), expression=_lit(1)))
            aggs["wsum"] = exp.Sum(this=exp.Mul(this=position, expression=x))
        if "effective_count" in kinds:
            aggs["sq"] = exp.Sum(this=exp.Mul(this=x.copy(), expression=x.copy()))
        if "entropy" in kinds:
            plogp = exp.Neg(this=exp.Mul(this=share, expression=exp.Ln(this=share.copy())))
            aggs["ent"] = exp.Sum(this=exp.Case(ifs=[exp.If(this=exp.GT(this=x, expression=_lit(0)), true=plogp)]))
        picks: dict[str, tuple[exp.Expression, ...]] = {}
        n, total = _col("n"), _col("tot")
        for metric in plan.metrics:
            if metric.kind == "gini":
                ratio = self.visit_safe_div(
                    exp.Mul(this=_lit(2.0), expression=_col("wsum")), exp.Mul(this=n, expression=total)
                )
                tail = self.visit_safe_div(exp.Add(this=n.copy(), expression=_lit(1.0)), n.copy())
                gini = exp.Sub(this=ratio, expression=tail)
                picks[metric.name] = (gini, n.copy(), gini.copy())
            elif metric.kind == "distinct_count":
                picks[metric.name] = (n.copy(), exp.Null(), n.copy())
            elif metric.kind == "effective_count":
                # inverse Simpson index: the number of equal entities that would be as concentrated as these
                eff = self.visit_safe_div(exp.Mul(this=total.copy(), expression=total.copy()), _col("sq"))
                picks[metric.name] = (eff, n.copy(), eff.copy())
            elif metric.kind == "entropy":
                picks[metric.name] = (_col("ent"), n.copy(), _col("ent"))
            else:  # top_share
                name = f"top_{len(aggs)}"
                k = exp.Floor(
                    this=exp.Add(
                        this=exp.Mul(this=_lit(metric.top_fraction), expression=n_ent), expression=_lit(_FLOOR_EPS)
                    )
                )
                # the top floor(fraction * n) entities, and always the first one
                top = exp.or_(exp.LTE(this=rank, expression=k), exp.EQ(this=rank.copy(), expression=_lit(1)))
                aggs[name] = exp.Sum(this=exp.Case(ifs=[exp.If(this=top, true=x)], default=_lit(0)))
                picks[metric.name] = (_col(name), total.copy(), self.visit_safe_div(_col(name), total.copy()))
        keys = [_col("_day"), _col("_g"), *[_col(dim_column(d)) for d in plan.dims]]
        wide = exp.select(*keys, *[exp.alias_(a, k) for k, a in aggs.items()]).from_(ent)
        wide = wide.group_by(*[k.copy() for k in keys])
        return wide, picks

    def tidy(self, plan: Plan, agg: str, picks: dict[str, tuple[exp.Expression, ...]]) -> exp.Select:
        """Turn the wide aggregate into cube rows: one row per metric, day and slice allowed for that metric."""
        rows = []
        for k, metric in enumerate(plan.metrics):
            own = set(metric_dims(metric, plan.dims))
            mask = sum(1 << i for i, d in enumerate(plan.dims) if d not in own)
            req = sum(1 << i for i, d in enumerate(plan.dims) if metric.kind == "share" and d == metric.entity)
            rows.append(exp.Tuple(expressions=[_lit(k), _lit(metric.name), _lit(mask), _lit(req)]))
        values = exp.Values(
            expressions=rows,
            alias=exp.TableAlias(
                this=exp.to_identifier("m"), columns=[exp.to_identifier(c) for c in ("k", "metric", "mask", "req")]
            ),
        )

        def pick(i: int) -> exp.Expression:
            case = exp.Case(
                this=_col("k", "m"),
                ifs=[exp.If(this=_lit(k), true=picks[m.name][i].copy()) for k, m in enumerate(plan.metrics)],
            )
            return exp.cast(case, "DOUBLE")

        dims = [
            exp.alias_(_col(dim_column(d), "a") if d in plan.dims else exp.cast(exp.Null(), "VARCHAR"), d, quoted=True)
            for d in DIMENSIONS
        ]
        g = _col("_g", "a")
        where = exp.and_(
            exp.EQ(this=exp.paren(exp.BitwiseAnd(this=g, expression=_col("mask", "m"))), expression=_col("mask", "m")),
            exp.EQ(this=exp.paren(exp.BitwiseAnd(this=g.copy(), expression=_col("req", "m"))), expression=_lit(0)),
        )
        return (
            exp.select(
                exp.alias_(_col("metric", "m"), "metric", quoted=True),
                exp.alias_(_col("_day", "a"), "date", quoted=True),
                *dims,
                exp.alias_(pick(0), "numerator", quoted=True),
                exp.alias_(pick(1), "denominator", quoted=True),
                exp.alias_(pick(2), "value", quoted=True),
            )
            .from_(exp.to_table(agg).as_("a"))
            .join(values, join_type="cross")
            .where(where)
        )


class DuckDBCompiler(Compiler):
    """DuckDB: every rule of the base compiler applies as is."""

    dialect = "duckdb"
    MATERIALIZE_SHARED = True


#: Dialects whose compiler lives in an engine module imported on first use.
LAZY_DIALECTS: dict[str, str] = {"spark": "ecoradar.metrics.spark"}


def get_compiler(dialect: str) -> Compiler:
    """A compiler instance for `dialect`.

    Raises:
        NotFound: no compiler for that dialect (the message suggests the closest one).
    """
    if dialect not in Compiler.registry and dialect in LAZY_DIALECTS:
        importlib.import_module(LAZY_DIALECTS[dialect])
    if dialect not in Compiler.registry:
        raise unknown("SQL dialect", dialect, {*Compiler.registry, *LAZY_DIALECTS})
    return Compiler.registry[dialect]()


def compile_metric(metric: Metric, dims: Iterable[str] | None = None, depth: int = 2, dialect: str = "duckdb") -> str:
    """SQL (in `dialect`) that computes `metric`'s cube rows over slices of `dims` up to `depth`."""
    return get_compiler(dialect).compile_metric(metric, dims=dims, depth=depth)
