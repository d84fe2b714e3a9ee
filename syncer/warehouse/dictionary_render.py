"""The data dictionary (`dictionary.py`) rendered three ways, each checked in and test-held equal:

- `comments_sql()`: `sql/comments.postgresql.sql`, the `COMMENT ON` every table, view and column
  that migrate applies on PostgreSQL (the texts are this module's constants, quoted as SQL
  literals; no value from outside is ever formatted in);
- `markdown()`: `docs/warehouse.md`;
- `dbt_sources()`: `docs/dbt/sources.yml`, with freshness on each relation's load time.

`syncer dictionary --format markdown|dbt|sql` prints them; `python -m
syncer.warehouse.dictionary_render` rewrites the three files after a change of the dictionary.
"""

from __future__ import annotations

import json
from pathlib import Path

from syncer.documents.time_zones import ABBREVIATIONS
from syncer.warehouse.dictionary import RELATIONS, Column, Relation

__all__ = ["FILES", "column_comment", "comments_sql", "dbt_sources", "markdown", "render", "write_files"]

MINOR_UNITS = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF",
    3: "BHD IQD JOD KWD LYD OMR TND",
}
"""ISO 4217 minor units the views know (`sql/views/session_facts.*.sql`); any other currency: 2."""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def column_comment(column: Column) -> str:
    parts = [column.meaning]
    if column.unit:
        parts.append(f"Unit: {column.unit}.")
    if column.source:
        parts.append(f"Source: {column.source}.")
    if column.example:
        parts.append(f"Example: {column.example}.")
    return " ".join(parts)


def comments_sql() -> str:
    lines = [
        "-- Generated from syncer/warehouse/dictionary.py by syncer/warehouse/dictionary_render.py: do not",
        "-- edit (a test holds it equal). Applied by migrate on PostgreSQL after every version change.",
    ]
    for rel in RELATIONS:
        kind = "VIEW" if rel.kind == "view" else "TABLE"
        lines.append(f"COMMENT ON {kind} {rel.name} IS {_literal(rel.description)};")
        for column in rel.columns:
            lines.append(f"COMMENT ON COLUMN {rel.name}.{column.name} IS {_literal(column_comment(column))};")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|") if text else ""


def _code(text: str) -> str:
    return f"`{_cell(text)}`" if text else ""


def _relation_md(rel: Relation) -> list[str]:
    lines = [f"### {rel.name} ({rel.kind})", "", rel.description, ""]
    lines += ["| column | meaning | unit | source | example |", "|---|---|---|---|---|"]
    for c in rel.columns:
        lines.append(
            f"| `{c.name}` | {_cell(c.meaning)} | {_cell(c.unit)} | {_code(c.source)} | {_code(c.example)} |"
        )
    return [*lines, ""]


_INTRO = """\
# The warehouse: data dictionary

<!-- Generated from syncer/warehouse/dictionary.py (python -m syncer.warehouse.dictionary_render);
do not edit: a test holds this file, the PostgreSQL column comments and docs/dbt/sources.yml equal. -->

Every table, view and column the syncer writes, with its meaning, unit, the gateway document
field it comes from (`data.` is the session object of the response) and an example from the
vendor's sample. On PostgreSQL the same texts are the comments `\\d+` shows; for dbt, see
[dbt/sources.yml](dbt/sources.yml) (`syncer dictionary --format dbt`).

## What to know first

- **Start from the views**: `session_facts` (a session with its place, connector, local times
  and rounded money), `charging_period_facts` (a period with its end and one column per
  dimension), `daily_location_energy`. Same names and columns on PostgreSQL and SQLite.
- **Energy**: `sessions.kwh` is the billed energy and authoritative. The ENERGY dimensions of
  `charging_periods` are the meter's samples; their sum can differ from it by more than 1%.
- **Money**: `total_cost` excludes VAT (OCPI 2.1.1 `total_cost`; OCPI 2.2 `total_cost.excl_vat`);
  `total_cost_incl_vat` is filled only when the document sends it. Amounts are exact as sent,
  float artefacts included (`47.919999999999995`): sum `session_facts.total_cost_rounded`,
  rounded to the currency's minor unit (ISO 4217; 0 for {zero}; 3 for {three}; 2 for any
  other or no currency).
- **Units**: ENERGY kWh, POWER kW, CURRENT A, STATE_OF_CHARGE %, TIME and PARKING_TIME hours;
  `max_electric_power` W; voltages V; amperages A; durations in the views seconds.
- **Times** are UTC (`timestamptz`). Local wall-clock times are in `local_start_datetime` /
  `local_end_datetime`, in the location's `time_zone_iana`.
- **Connectors**: `sessions.connector_uid` is the connector used, joinable with
  `connectors (location_id, evse_uid, id)`. It is taken from the location embedded in the
  session (OCPI 2.1.1: it holds "only the relevant EVSE and connector"): the EVSE whose uid is
  the session's `evseId`, then its connector whose id is the session's connector reference
  (OCPI 2.2 `connector_id`), else its only connector. Anything less certain gives null, never a
  wrong join. The vendor's `connectorId` is the EVSE's `evse_id`, not a connector id: it is in
  `vendor_connector_ref` (and, deprecated, `connector_id`). Count sessions by power type through
  `connector_uid`: EVSEs can have connectors of several power types.
- **Lineage**: every data row has `last_run_id`, the `sync_runs.run_id` that last wrote it.
  Rows written before schema version 5 have null there (and in the other new columns) until
  they are written again: `syncer reprocess` rewrites them all from `raw_sessions`.
- **SQLite** stores money and energy as exact decimal text; the views CAST them to REAL, so
  there they compare, sort and sum as numbers, in floating point. SQLite has no COMMENT: this
  file is its dictionary.
- **Access**: `syncer grant analyst ROLE` gives read access to the data tables and the views
  (not `sync_queue`, `raw_sessions`, `sync_failures`); `syncer grant writer ROLE` what the
  worker needs, no DDL. Run them again after `syncer migrate` adds tables.

## Time zones

`locations.time_zone` is kept as sent; `locations.time_zone_iana` is its IANA name: an
abbreviation from this table (what this vendor means by it), else an IANA zone name the tz
database knows (any case), else null (unknown or ambiguous abbreviations such as `CST`,
offsets, empty strings).

| sent | IANA zone |
|---|---|
"""


def markdown() -> str:
    intro = _INTRO.replace("{zero}", MINOR_UNITS[0]).replace("{three}", MINOR_UNITS[3])
    lines = intro.splitlines()
    lines += [f"| `{abbreviation}` | `{zone}` |" for abbreviation, zone in ABBREVIATIONS.items()]
    lines += ["", "## Tables and views", ""]
    for rel in RELATIONS:
        lines += _relation_md(rel)
    return "\n".join(lines).rstrip("\n") + "\n"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


_SOURCE = "EV-charging sessions synced from the operator gateway (docs/warehouse.md)."


def dbt_sources() -> str:
    lines = [
        "# Generated from syncer/warehouse/dictionary.py (syncer dictionary --format dbt): do not edit.",
        "version: 2",
        "",
        "sources:",
        "  - name: syncer",
        f"    description: {_q(_SOURCE)}",
        "    tables:",
    ]
    for rel in RELATIONS:
        if not rel.analyst:
            continue
        lines += [f"      - name: {rel.name}", f"        description: {_q(rel.description)}"]
        if rel.loaded_at:
            lines += [
                f"        loaded_at_field: {rel.loaded_at}",
                "        freshness:",
                "          warn_after: {count: 1, period: day}",
                "          error_after: {count: 2, period: day}",
            ]
        lines.append("        columns:")
        for column in rel.columns:
            described = _q(column_comment(column))
            lines += [f"          - name: {column.name}", f"            description: {described}"]
    return "\n".join(lines) + "\n"


FORMATS = {"markdown": markdown, "dbt": dbt_sources, "sql": comments_sql}
_ROOT = Path(__file__).resolve().parents[2]
FILES = {"markdown": "docs/warehouse.md", "dbt": "docs/dbt/sources.yml", "sql": "sql/comments.postgresql.sql"}
"""Where each rendering is checked in, relative to the repository root."""


def render(fmt: str) -> str:
    return FORMATS[fmt]()


def write_files(root: Path = _ROOT) -> None:
    for fmt, path in FILES.items():
        (root / path).write_text(render(fmt), encoding="utf-8")


if __name__ == "__main__":
    write_files()
