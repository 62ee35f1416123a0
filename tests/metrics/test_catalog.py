"""Loading and validating metric YAML: good files load, bad ones fail naming the file, the line and the field."""

from __future__ import annotations

import textwrap

import pytest

from ecoradar.errors import InputError, NotFound
from ecoradar.metrics.loader import BUILTIN_DIR, ENV_DIR, Catalog, check_metric, load_catalog, load_file
from ecoradar.metrics.model import Metric

GOOD = """\
metrics:
  - name: long_watch_rate
    description: Share of impressions watched for at least 30 s.
    table: impressions
    kind: ratio
    numerator: watch_ms >= 30000
    denominator: "1"
    dimensions: [region, format]
    category: user_experience
"""


def write(folder, text, name="mine.yaml"):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(folder, text) -> str:
    path = write(folder, text)
    with pytest.raises(InputError) as info:
        load_catalog([folder])
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_builtins_load_and_validate():
    catalog = load_catalog()
    assert len(catalog) >= 25
    for metric in catalog.values():
        check_metric(metric)
        assert catalog.origin(metric.name).path.parent == BUILTIN_DIR
    assert catalog.get("format_share").kind == "share"
    assert catalog.get("top1pct_creator_share").top_fraction == 0.01
    assert catalog.get("review_latency_p90_h").quantile == 0.9


def test_user_folder_adds_metrics(tmp_path):
    write(tmp_path, GOOD)
    catalog = load_catalog([tmp_path])
    assert catalog.get("long_watch_rate").dimensions == ["region", "format"]
    assert catalog.origin("long_watch_rate").line == 2


def test_env_folder_and_cwd_folder(tmp_path, monkeypatch):
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    write(env_dir, GOOD)
    monkeypatch.setenv(ENV_DIR, str(env_dir))
    assert "long_watch_rate" in load_catalog()
    monkeypatch.delenv(ENV_DIR)
    work = tmp_path / "work"
    (work / "metrics").mkdir(parents=True)
    write(work / "metrics", GOOD.replace("long_watch_rate", "cwd_metric"))
    monkeypatch.chdir(work)
    assert "cwd_metric" in load_catalog()


def test_missing_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_catalog([tmp_path / "nope"])


def test_get_unknown_suggests():
    with pytest.raises(NotFound, match="did you mean 'like_rate'"):
        load_catalog().get("like_rat")


def test_yaml_syntax_error_names_line(tmp_path):
    message = error_of(tmp_path, "metrics:\n  - name: x\n    kind: [count\n")
    assert "not valid YAML" in message
    assert ":4:" in message or ":3:" in message


def test_unknown_field_names_line_and_suggests(tmp_path):
    message = error_of(tmp_path, GOOD.replace("    numerator:", "    numerater:"))
    assert ":6:" in message
    assert "field 'numerater'" in message and "did you mean 'numerator'" in message


def test_bad_enum_value(tmp_path):
    message = error_of(tmp_path, GOOD.replace("category: user_experience", "category: vibes"))
    assert ":9:" in message and "field 'category'" in message


def test_missing_field(tmp_path):
    message = error_of(tmp_path, GOOD.replace("    table: impressions\n", ""))
    assert ":2:" in message and "field 'table'" in message and "missing" in message


def test_kind_needs_its_fields(tmp_path):
    message = error_of(tmp_path, GOOD.replace('    denominator: "1"\n', ""))
    assert "field 'denominator'" in message


def test_unknown_column(tmp_path):
    message = error_of(tmp_path, GOOD.replace("watch_ms >= 30000", "watch_msec >= 30000"))
    assert ":6:" in message
    assert "unknown column 'watch_msec'" in message and "did you mean 'watch_ms'" in message


def test_unknown_table(tmp_path):
    message = error_of(tmp_path, GOOD.replace("table: impressions", "table: impresions"))
    assert ":4:" in message and "unknown table 'impresions'" in message and "did you mean 'impressions'" in message


def test_unknown_dimension(tmp_path):
    message = error_of(tmp_path, GOOD.replace("[region, format]", "[region, policy]"))
    assert ":8:" in message and "unknown dimension 'policy'" in message


def test_unknown_function(tmp_path):
    message = error_of(tmp_path, GOOD.replace("watch_ms >= 30000", "my_udf(watch_ms) > 1"))
    assert "unknown function 'my_udf'" in message


def test_not_sql(tmp_path):
    message = error_of(tmp_path, GOOD.replace("watch_ms >= 30000", "watch_ms >= >= 3"))
    assert "field 'numerator'" in message and "not a SQL expression" in message


def test_aggregate_where_rows_are_expected(tmp_path):
    text = GOOD.replace("kind: ratio", "kind: sum").replace('    denominator: "1"\n', "")
    message = error_of(tmp_path, text.replace("watch_ms >= 30000", "sum(watch_ms)"))
    assert "aggregate" in message


def test_share_needs_entity_dimension(tmp_path):
    text = GOOD.replace("kind: ratio", "kind: share\n    entity: category").replace('    denominator: "1"\n', "")
    message = error_of(tmp_path, text)
    assert "entity 'category'" in message


def test_duplicate_of_builtin(tmp_path):
    message = error_of(tmp_path, GOOD.replace("long_watch_rate", "like_rate"))
    assert "already defined" in message and "impressions.yaml" in message


def test_a_family_has_one_category(tmp_path):
    # watch_hours is in the built-in family "audience" (user_experience): joining it as supply is refused
    message = error_of(tmp_path, GOOD.replace("category: user_experience", "category: supply\n    family: audience"))
    assert "family 'audience'" in message and "one family, one category" in message
    assert (
        load_catalog([write(tmp_path, GOOD + "    family: audience\n").parent])["long_watch_rate"].family == "audience"
    )


def test_effective_n_names_an_effective_count_over_the_same_slices(tmp_path):
    message = error_of(tmp_path, GOOD + "    effective_n: effective_new_creatorz\n")
    assert "effective_n" in message and "no metric named 'effective_new_creatorz'" in message
    assert "effective_new_creators" in message  # did you mean
    message = error_of(tmp_path, GOOD + "    effective_n: like_rate\n")
    assert "must be an effective_count metric on table 'impressions'" in message
    narrow = """
  - name: long_watchers
    description: Effective number of creators with long watches.
    table: impressions
    kind: effective_count
    entity: creator_id
    filter: watch_ms >= 30000
    dimensions: [region]
    category: diversity
"""
    message = error_of(tmp_path, GOOD + "    effective_n: long_watchers\n" + narrow)
    assert "'long_watchers' is not sliced by format" in message
    assert load_catalog()["new_creator_share"].effective_n == "effective_new_creators"
    assert not load_catalog()["effective_new_creators"].detect
    assert {n for n, m in load_catalog().items() if m.effective_n == "effective_creators"} == {
        "impressions",
        "active_viewers",
        "watch_hours",
        "format_share",
        "category_share",
    }
    gini = GOOD.replace("kind: ratio", "kind: gini\n    entity: creator_id").replace('    denominator: "1"\n', "")
    message = error_of(tmp_path, gini + "    effective_n: effective_creators\n")
    assert "'effective_n' is only for kinds ratio, share, count, sum and distinct_count" in message


def test_single_metric_file(tmp_path):
    path = write(tmp_path, "\n".join(line[4:] for line in GOOD.splitlines()[1:]))
    [(metric, origin)] = load_file(path)
    assert metric.name == "long_watch_rate" and origin.line == 1


def test_catalog_from_python():
    metric = Metric(name="x", description="", table="uploads", kind="count", dimensions=["region"], category="supply")
    catalog = Catalog([metric])
    assert list(catalog) == ["x"] and catalog.get("x") is metric
    with pytest.raises(InputError, match="twice"):
        Catalog([metric, metric])
