"""Load metric YAML files into a validated Catalog: every error names the file, the line and the field."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
import yaml
from pydantic import ValidationError
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ecoradar.errors import InputError, did_you_mean, unknown
from ecoradar.metrics.model import CONCENTRATION_KINDS, Metric
from ecoradar.metrics.sources import columns_of, dimensions_of, source_tables

#: Folder of the built-in metric files.
BUILTIN_DIR = Path(__file__).resolve().parent / "catalog"

#: Environment variable naming a folder of user metric files.
ENV_DIR = "ECORADAR_METRICS_DIR"

#: Expression fields of a metric, each parsed and checked against the columns of its table.
EXPRESSION_FIELDS = ("numerator", "denominator", "filter", "denominator_filter")


@dataclass(frozen=True)
class Origin:
    """Where a metric was defined: its file and the line of each of its fields."""

    path: Path | None = None
    line: int | None = None
    """Line (1-based) where the metric's mapping starts."""
    fields: dict[str, int] = field(default_factory=dict)
    """Field name -> line of its key."""

    def where(self, name: str, field_name: str | None = None) -> str:
        """Prefix for an error message: 'file:line: metric NAME, field F: '."""
        line = self.fields.get(field_name or "", self.line)
        place = f"{self.path}:{line}: " if self.path else ""
        return place + f"metric {name!r}" + (f", field {field_name!r}" if field_name else "") + ": "


class Catalog(Mapping[str, Metric]):
    """The metrics available to a run: name -> Metric, in definition order."""

    def __init__(self, metrics: Iterable[Metric], origins: Mapping[str, Origin] | None = None):
        self._metrics: dict[str, Metric] = {}
        self._origins: dict[str, Origin] = dict(origins or {})
        for metric in metrics:
            if metric.name in self._metrics:
                raise InputError(f"metric {metric.name!r} is defined twice")
            self._metrics[metric.name] = metric

    def __getitem__(self, name: str) -> Metric:
        try:
            return self._metrics[name]
        except KeyError:
            raise unknown("metric", name, self._metrics) from None

    def __contains__(self, name: object) -> bool:
        return name in self._metrics

    def __iter__(self) -> Iterator[str]:
        return iter(self._metrics)

    def __len__(self) -> int:
        return len(self._metrics)

    def get(self, name: str) -> Metric:  # type: ignore[override]
        """The metric called `name`.

        Raises:
            NotFound: no such metric (the message suggests the closest name).
        """
        return self[name]

    def select(self, names: Iterable[str] | None) -> list[Metric]:
        """The metrics called `names` (all when None), in catalog order."""
        if names is None:
            return list(self._metrics.values())
        wanted = [self[n].name for n in names]
        return [m for m in self._metrics.values() if m.name in wanted]

    def origin(self, name: str) -> Origin:
        """Where metric `name` was defined (an empty Origin for metrics built in Python)."""
        return self._origins.get(name, Origin())


def load_catalog(extra_dirs: list[Path] | None = None) -> Catalog:
    """Load the built-in metrics plus user files ($ECORADAR_METRICS_DIR, ./metrics/, `extra_dirs`).

    Args:
        extra_dirs (list[Path] | None): more folders of *.yaml metric files (e.g. from `--catalog DIR`).

    Returns:
        Catalog: every metric, validated against the data contract.

    Raises:
        InputError: a file does not parse or a metric is invalid (naming file, line and field), or a folder
            named in `extra_dirs` or $ECORADAR_METRICS_DIR does not exist.
    """
    folders: list[Path] = [BUILTIN_DIR]
    if os.environ.get(ENV_DIR):
        folders.append(_existing_dir(Path(os.environ[ENV_DIR]), f"${ENV_DIR}"))
    if (Path.cwd() / "metrics").is_dir():
        folders.append(Path.cwd() / "metrics")
    folders += [_existing_dir(Path(d), "--catalog") for d in extra_dirs or []]
    metrics: list[Metric] = []
    origins: dict[str, Origin] = {}
    seen: set[Path] = set()
    for folder in folders:
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            for metric, origin in load_file(path):
                if metric.name in origins:
                    first = origins[metric.name]
                    raise InputError(
                        f"{path}:{origin.line}: metric {metric.name!r} is already defined at {first.path}:{first.line}"
                    )
                metrics.append(metric)
                origins[metric.name] = origin
    _check_families(metrics, origins)
    _check_effective_n(metrics, origins)
    return Catalog(metrics, origins)


def _check_families(metrics: list[Metric], origins: dict[str, Origin]) -> None:
    """A family's metrics share a category: their anomalies become one issue, which has one category and owner."""
    first: dict[str, Metric] = {}
    for m in metrics:
        if m.family is None:
            continue
        lead = first.setdefault(m.family, m)
        if m.category != lead.category:
            where = origins[m.name]
            raise InputError(
                f"{where.path}:{where.line}: metric {m.name!r} is in family {m.family!r} with category {m.category!r}, "
                f"but {lead.name!r} of that family has category {lead.category!r} (one family, one category)"
            )


def _check_effective_n(metrics: list[Metric], origins: dict[str, Origin]) -> None:
    """`effective_n` names an effective_count metric that is computed on every slice of the metric naming it."""
    by_name = {m.name: m for m in metrics}
    for m in metrics:
        if m.effective_n is None:
            continue
        where = origins[m.name].where(m.name, "effective_n")
        source = by_name.get(m.effective_n)
        if source is None:
            raise InputError(where + f"no metric named {m.effective_n!r}" + did_you_mean(m.effective_n, by_name))
        if source.kind != "effective_count" or source.table != m.table:
            raise InputError(where + f"{m.effective_n!r} must be an effective_count metric on table {m.table!r}")
        lacking = [d for d in m.dimensions if d not in source.dimensions]
        if lacking:
            raise InputError(where + f"{m.effective_n!r} is not sliced by {', '.join(lacking)}")


def _existing_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise InputError(f"metric folder {str(path)!r} ({what}) does not exist")
    return path


def load_file(path: Path) -> list[tuple[Metric, Origin]]:
    """Parse one YAML file (a metric, a list of metrics, or `metrics: [...]`) and validate each metric.

    Raises:
        InputError: naming the file, the line and the field at fault.
    """
    text = path.read_text()
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{path}{line}: not valid YAML: {problem}") from None
    if data is None:
        return []
    items, nodes = data, root
    if isinstance(data, dict) and "metrics" in data:
        items = data["metrics"]
        nodes = next(v for k, v in root.value if k.value == "metrics")
    elif isinstance(data, dict):
        items, nodes = [data], yaml.SequenceNode("tag:yaml.org,2002:seq", [root])
    if not isinstance(items, list):
        raise InputError(f"{path}:{nodes.start_mark.line + 1}: expected a list of metrics, got {type(items).__name__}")
    out = []
    for item, node in zip(items, nodes.value, strict=True):
        origin = Origin(
            path=path,
            line=node.start_mark.line + 1,
            fields={k.value: k.start_mark.line + 1 for k, _ in node.value}
            if isinstance(node, yaml.MappingNode)
            else {},
        )
        if not isinstance(item, dict):
            raise InputError(f"{path}:{origin.line}: expected a metric (a mapping of fields), got {item!r}")
        metric = _build(item, origin)
        check_metric(metric, origin)
        out.append((metric, origin))
    return out


def _build(item: dict, origin: Origin) -> Metric:
    """Validate the fields with Pydantic; turn its first error into one line with file, line and field."""
    name = str(item.get("name", "?"))
    try:
        return Metric.model_validate(item)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        field_name = loc[0] if loc else None
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field" + did_you_mean(field_name, Metric.model_fields)
        elif err["type"] == "missing":
            msg = "missing required field"
            return _fail(origin, name, field_name, msg, at_field=False)
        elif field_name is None and (m := re.search(r"field '(\w+)'", msg)):
            field_name = m.group(1)
        if len(loc) > 1:
            msg = f"item {loc[1]}: {msg}"
        return _fail(origin, name, field_name, msg)


def _fail(origin: Origin, name: str, field_name: str | None, msg: str, *, at_field: bool = True) -> Metric:
    where = origin.where(name, field_name) if at_field else origin.where(name) + f"field {field_name!r}: "
    raise InputError(where + msg)


def parse_expression(text: str, *, metric: str = "?", field_name: str = "expression", origin: Origin | None = None):
    """Parse a metric's SQL expression in the engine-neutral dialect.

    Raises:
        InputError: the text is not one SQL expression.
    """
    origin = origin or Origin()
    try:
        tree = sqlglot.parse_one(str(text))
    except SqlglotError as exc:
        first = str(exc).splitlines()[0]
        raise InputError(origin.where(metric, field_name) + f"not a SQL expression: {first}") from None
    if isinstance(tree, exp.Query | exp.Command) or tree.find(exp.Subquery):
        raise InputError(origin.where(metric, field_name) + "write one expression over the row, not a query")
    return tree


def check_metric(metric: Metric, origin: Origin | None = None) -> dict[str, exp.Expression]:
    """Check a metric against the data contract: tables, columns, dimensions, functions, aggregates.

    Returns:
        dict[str, exp.Expression]: the parsed expression of each expression field that is set.

    Raises:
        InputError: naming the metric, the field and the unknown or misused name.
    """
    origin = origin or Origin()

    def where(field_name: str) -> str:
        return origin.where(metric.name, field_name)

    for fld, table in (("table", metric.table), ("denominator_table", metric.denominator_table)):
        if table is not None and table not in source_tables():
            raise InputError(
                where(fld) + f"unknown table {table!r}{did_you_mean(table, source_tables())}; "
                f"allowed: {', '.join(source_tables())}"
            )
    for table in metric.tables:
        cols = columns_of(table)
        if metric.date_column not in cols:
            raise InputError(where("date_column") + f"table {table!r} has no column {metric.date_column!r}")
        allowed = dimensions_of(table)
        for dim in metric.dimensions:
            if dim not in allowed:
                raise InputError(
                    where("dimensions") + f"unknown dimension {dim!r} for table {table!r}"
                    f"{did_you_mean(dim, allowed)}; allowed: {', '.join(allowed)}"
                )
    if metric.entity is not None and metric.entity not in columns_of(metric.table):
        raise InputError(
            where("entity") + f"table {metric.table!r} has no column {metric.entity!r}"
            f"{did_you_mean(metric.entity, columns_of(metric.table))}"
        )
    parsed = {}
    for fld in EXPRESSION_FIELDS:
        text = getattr(metric, fld)
        if text is None:
            continue
        table = (
            metric.denominator_table
            if fld in ("denominator", "denominator_filter") and metric.denominator_table
            else metric.table
        )
        tree = parse_expression(text, metric=metric.name, field_name=fld, origin=origin)
        _check_tree(
            tree, table, where(fld), aggregates_ok=metric.kind == "ratio" and fld in ("numerator", "denominator")
        )
        parsed[fld] = tree
    if metric.kind in CONCENTRATION_KINDS + ("share",) and "numerator" in parsed:
        _check_tree(parsed["numerator"], metric.table, where("numerator"), aggregates_ok=False)
    return parsed


def _check_tree(tree: exp.Expression, table: str, where: str, *, aggregates_ok: bool) -> None:
    cols = columns_of(table)
    for col in tree.find_all(exp.Column):
        if col.table:
            raise InputError(where + f"write column {col.name!r} without the prefix {col.table!r}")
        if col.name not in cols:
            raise InputError(where + f"unknown column {col.name!r} in table {table!r}{did_you_mean(col.name, cols)}")
    for fn in tree.find_all(exp.Anonymous):
        raise InputError(where + f"unknown function {fn.name!r} (use portable SQL functions)")
    if tree.find(exp.Window):
        raise InputError(where + "window functions are not allowed in metric expressions")
    if not aggregates_ok and tree.find(exp.AggFunc):
        raise InputError(
            where + f"aggregate {tree.find(exp.AggFunc).sql()!r} is not allowed here (rows are "
            "aggregated by the metric kind; aggregates are allowed in ratio numerator/denominator)"
        )
