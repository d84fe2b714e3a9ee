"""The data dictionary: the one description of every table, view and column of the warehouse.

Each column has its meaning, unit, the gateway document field it comes from (`data.` is the
session object of the response envelope) and an example from the vendor's sample. From it come
(`dictionary_render`): the `COMMENT ON` statements migrate applies on PostgreSQL
(`sql/comments.postgresql.sql`), `docs/warehouse.md` and the dbt `docs/dbt/sources.yml`; a test
keeps all three equal to it, and every column of a migrated database described.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RELATIONS", "Column", "Relation", "relation"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    meaning: str
    unit: str = ""
    source: str = ""
    example: str = ""


@dataclass(frozen=True, slots=True)
class Relation:
    name: str
    kind: str  # "table" or "view"
    description: str
    columns: tuple[Column, ...]
    analyst: bool = True
    """Analysts read it (`syncer grant analyst`, dbt sources); else bookkeeping of the worker."""
    loaded_at: str | None = None
    """The column dbt's freshness checks read."""


C = Column

# fmt: off
_RUN = C("last_run_id", "The run (sync_runs.run_id) that last wrote this row: lineage.", "", "", "9f2c…")
_SYNCED = C("synced_at", "When the syncer last wrote this row.", "UTC", "", "2026-12-03 09:00:00+00")
_NUM = "numeric (SQLite: exact decimal text)"

SESSIONS = Relation(
    "sessions",
    "table",
    "One row per charging session, as the gateway last sent it. Written only when the document's "
    "last_updated is strictly newer than the stored one.",
    (
        C("id", "The session's id (lower case). Primary key.", "", "data.id",
          "a5db858f68a59d25df755847db013244"),
        C("cpo_session_id", "The operator's own session number.", "", "data.session_id", "724615825"),
        C("country_code", "Country of the operator (ISO 3166-1 alpha-2).", "", "data.country_code", "IN"),
        C("party_id", "The operator's OCPI party id.", "", "data.party_id", "111"),
        C("location_id", "The location's id (lower case); joins locations.location_id.", "",
          "data.location_id", "620bb06abeaaa76c1e7657e1"),
        C("evse_uid", "The EVSE's uid (lower case); joins evses.uid with location_id.", "", "data.evseId",
          "amp03*1"),
        C(
            "connector_id",
            "DEPRECATED, same value as vendor_connector_ref (kept for a release). Despite its "
            "name it is not a connector id: for this vendor it is the EVSE's evse_id.",
            "",
            "data.connectorId",
            "in*111*eamp03*1",
        ),
        C("cpo_id", "The operator's id at the gateway.", "", "data.cpoId",
          "5134ef394bac9a74c46948529abc150f"),
        C("auth_id", "The token or authorisation used.", "", "data.auth_id (else data.cdr_token.uid)",
          "de4248351c54e55cd97c0000ed9ceb06"),
        C("auth_method", "How the session was authorised (OCPI AuthMethod; unknown values kept).", "",
          "data.auth_method", "AUTH_REQUEST"),
        C("currency", "Currency of the costs (ISO 4217).", "", "data.currency", "INR"),
        C("status", "Session status (OCPI SessionStatus; unknown values kept).", "", "data.status",
          "COMPLETED"),
        C("start_datetime", "When the session started.", "UTC", "data.start_datetime",
          "2022-03-14 12:35:44+00"),
        C("end_datetime", "When the session ended (null while active).", "UTC", "data.end_datetime",
          "2022-03-14 12:45:08+00"),
        C("created_date", "When the gateway created the record.", "UTC", "data.created_date",
          "2022-03-14 12:35:47.492+00"),
        C("last_modified_date", "When the gateway last modified the record.", "UTC",
          "data.last_modified_date", "2022-03-14 12:45:11.579+00"),
        C(
            "kwh",
            "Energy delivered, as billed. Authoritative: the sum of the ENERGY dimensions of "
            "charging_periods is the meter's samples and may differ by more than 1%.",
            f"kWh, {_NUM}",
            "data.kwh",
            "0.11429",
        ),
        C(
            "total_cost",
            "Total cost excluding VAT (OCPI 2.1.1 total_cost; OCPI 2.2 total_cost.excl_vat), "
            "exact as sent (float artefacts included: sum session_facts.total_cost_rounded instead).",
            f"currency, {_NUM}",
            "data.total_cost | data.total_cost.excl_vat",
            "1.71",
        ),
        C("total_cost_incl_vat", "Total cost including VAT, when the document sends it (OCPI 2.2 Price).",
          f"currency, {_NUM}", "data.total_cost.incl_vat", ""),
        C("last_updated", "The version: the document's last_updated, else last_modified_date.", "UTC",
          "data.last_updated", "2022-03-14 12:45:08+00"),
        _SYNCED,
        C(
            "connector_uid",
            "The id of the connector used; joins connectors.id with location_id and evse_uid. "
            "From the embedded location: the connector of the session's EVSE named by the session's "
            "connector "
            "reference, else that EVSE's only connector; null when not unambiguous.",
            "",
            "data.location.evses[uid=evseId].connectors[].id",
            "3fff37bfc17e66bc519c25fcfa65eaea",
        ),
        C(
            "vendor_connector_ref",
            "The vendor's connectorId as sent (lower case). For this vendor it is the "
            "EVSE's evse_id (joins evses.evse_id, case aside), not a connector id.",
            "",
            "data.connectorId",
            "in*111*eamp03*1",
        ),
        C(
            "local_start_datetime",
            "start_datetime as wall-clock time at the location (its time_zone_iana); "
            "null when the zone is unknown.",
            "local time",
            "data.start_datetime + location.time_zone",
            "2022-03-14 18:05:44 (IST)",
        ),
        C("local_end_datetime", "end_datetime as wall-clock time at the location.", "local time",
          "data.end_datetime + location.time_zone", "2022-03-14 18:15:08 (IST)"),
        _RUN,
    ),
    loaded_at="synced_at",
)

PERIODS = Relation(
    "charging_periods",
    "table",
    "One row per dimension of each charging period (long format); replaced whole with its session. "
    "A period with no dimensions keeps one row with null type and volume. For one row per period with "
    "its end, use the view charging_period_facts.",
    (
        C(
            "session_id",
            "sessions.id; written in the same transaction as its session (not a declared foreign "
            "key: checking one costs a lookup per period row).",
            "",
            "data.id",
            "a5db858f68a59d25df755847db013244",
        ),
        C("period_index", "Position of the period in the document (0-based).", "",
          "data.charging_periods[i]", "0"),
        C("dimension_index", "Position of the dimension in its period (0-based).", "",
          "data.charging_periods[i].dimensions[j]", "0"),
        C("start_date_time",
          "When the period started; it ends where the next one starts (the last one at the session's end).",
          "UTC", "data.charging_periods[i].start_date_time", "2022-03-14 12:35:57+00"),
        C(
            "dimension_type",
            "OCPI CdrDimensionType as sent: ENERGY (kWh), POWER/MAX_POWER/MIN_POWER (kW), "
            "CURRENT/MAX_CURRENT/MIN_CURRENT (A), STATE_OF_CHARGE (%), TIME and PARKING_TIME (hours), FLAT.",
            "",
            "data.charging_periods[i].dimensions[j].type",
            "ENERGY",
        ),
        C("volume", "The dimension's value, in the unit of its type.", f"by type, {_NUM}",
          "data.charging_periods[i].dimensions[j].volume", "0.006"),
        _RUN,
    ),
)

LOCATIONS = Relation(
    "locations",
    "table",
    "One row per location, the newest snapshot embedded in any session (its own version guard); rows a "
    "snapshot omits are never deleted.",
    (
        C("location_id", "The operator's location id sessions refer to (lower case). Primary key.", "",
          "data.location.location_id", "620bb06abeaaa76c1e7657e1"),
        C("gateway_id", "The gateway's own id of the location (lower case).", "", "data.location.id",
          "0928aa98a2703e688fba8fbccf9f1782"),
        C("name", "Display name, as sent.", "", "data.location.name", "EVnnovator Lab"),
        C("address", "Street and number, as sent (trailing spaces kept).", "", "data.location.address",
          "Radiant Heritage "),
        C("city", "City.", "", "data.location.city", "Bangalore"),
        C("postal_code", "Postal code.", "", "data.location.postal_code", "560099"),
        C("country", "Country (ISO 3166-1 alpha-3 in OCPI).", "", "data.location.country", ""),
        C("country_code", "Country of the operator (alpha-2).", "", "data.location.country_code", "IN"),
        C("party_id", "The operator's OCPI party id.", "", "data.location.party_id", "111"),
        C("type", "OCPI LocationType (unknown values kept).", "", "data.location.type", "UNKNOWN"),
        C("operator_name", "Operator's name.", "", "data.location.operator.name", "CERO"),
        C("operator_website", "Operator's website.", "", "data.location.operator.website",
          "http://slf.ceromobility.com/"),
        C("cpo_id", "The operator's id at the gateway.", "", "data.location.cpo_id",
          "1a85027042ecb57d09f192a20cf4811c"),
        C("cpo_resource_id", "The operator's resource id.", "", "data.location.cpo_resource_id",
          "5134ef394bac9a74c46948529abc150f"),
        C("time_zone",
          "Time zone as sent: IANA names mixed with abbreviations and empty strings. Use time_zone_iana.",
          "", "data.location.time_zone", "IST"),
        C("latitude", "Latitude.", f"degrees, {_NUM}", "data.location.coordinates.latitude", "12.87667"),
        C("longitude", "Longitude.", f"degrees, {_NUM}", "data.location.coordinates.longitude", "77.67912"),
        C("rating", "Rating, as sent.", _NUM, "data.location.rating", "0.0"),
        C("twentyfourseven", "Open all the time.", "boolean", "data.location.opening_times.twentyfourseven",
          "true"),
        C("charging_when_closed", "Charging possible when the location is closed.", "boolean",
          "data.location.charging_when_closed", "false"),
        C("publish", "Published to drivers.", "boolean", "data.location.publish", "false"),
        C("created_date", "When the gateway created the location.", "UTC", "data.location.created_date",
          "2022-03-05 09:37:57.382+00"),
        C("last_modified_date", "The location's version.", "UTC", "data.location.last_modified_date",
          "2022-04-04 06:13:30.317+00"),
        _SYNCED,
        C(
            "time_zone_iana",
            "time_zone as an IANA zone name: IST is Asia/Kolkata for this vendor, other "
            "abbreviations by the table in docs/warehouse.md; unknown or empty: null.",
            "",
            "data.location.time_zone",
            "Asia/Kolkata",
        ),
        _RUN,
    ),
    loaded_at="synced_at",
)

EVSES = Relation(
    "evses",
    "table",
    "One row per EVSE (charge point) of a location, newest snapshot under its own version guard.",
    (
        C("location_id", "locations.location_id.", "", "data.location.location_id",
          "620bb06abeaaa76c1e7657e1"),
        C("uid", "The EVSE's uid (lower case); sessions.evse_uid refers to it.", "",
          "data.location.evses[].uid", "amp03*1"),
        C("gateway_id", "The gateway's own id of the EVSE (lower case).", "", "data.location.evses[].id",
          "9c97a7b656f4c1a217fda8c8262c330d"),
        C("evse_id", "The EVSE's eMI3 id, as sent; sessions.vendor_connector_ref holds it lower case.", "",
          "data.location.evses[].evse_id", "IN*111*EAMP03*1"),
        C("status", "OCPI EVSE status when the snapshot was taken.", "", "data.location.evses[].status",
          "AVAILABLE"),
        C("floor_level", "Floor.", "", "data.location.evses[].floor_level", ""),
        C("physical_reference", "Number or name printed on the EVSE.", "",
          "data.location.evses[].physical_reference", ""),
        C("capabilities", "OCPI capabilities (text[]; JSON text on SQLite).", "",
          "data.location.evses[].capabilities", "{REMOTE_START_STOP_CAPABLE,RFID_READER}"),
        C("latitude", "Latitude (sent as a string).", f"degrees, {_NUM}",
          "data.location.evses[].coordinates.latitude", "12.87667"),
        C("longitude", "Longitude (sent as a string).", f"degrees, {_NUM}",
          "data.location.evses[].coordinates.longitude", "77.67912"),
        C("last_updated", "The EVSE's version (the location's when it sends none).", "UTC",
          "data.location.evses[].last_updated", "2022-04-04 06:13:30.317+00"),
        _SYNCED,
        _RUN,
    ),
    loaded_at="synced_at",
)

CONNECTORS = Relation(
    "connectors",
    "table",
    "One row per connector of an EVSE, newest snapshot under its own version guard. Power types can mix "
    "within one EVSE: count sessions by power type through sessions.connector_uid, not the EVSE.",
    (
        C("location_id", "locations.location_id.", "", "data.location.location_id",
          "620bb06abeaaa76c1e7657e1"),
        C("evse_uid", "evses.uid.", "", "data.location.evses[].uid", "amp03*1"),
        C("id", "The connector's id (lower case); sessions.connector_uid refers to it.", "",
          "data.location.evses[].connectors[].id", "3fff37bfc17e66bc519c25fcfa65eaea"),
        C("standard", "OCPI ConnectorType.", "", "data.location.evses[].connectors[].standard", "DOMESTIC_E"),
        C("format", "SOCKET or CABLE.", "", "data.location.evses[].connectors[].format", "SOCKET"),
        C("power_type", "AC_1_PHASE, AC_3_PHASE or DC.", "",
          "data.location.evses[].connectors[].power_type", "AC_1_PHASE"),
        C("tariff_id", "The tariff's id.", "", "data.location.evses[].connectors[].tariff_id", "Default"),
        C("voltage", "Voltage (line to neutral for AC_3_PHASE).", f"V, {_NUM}",
          "data.location.evses[].connectors[].voltage", "230"),
        C("amperage", "Current.", f"A, {_NUM}", "data.location.evses[].connectors[].amperage", "14"),
        C("max_electric_power", "Maximum power, when sent (OCPI 2.2).", f"W, {_NUM}",
          "data.location.evses[].connectors[].max_electric_power", ""),
        C("last_updated", "The connector's version (the EVSE's when it sends none).", "UTC",
          "data.location.evses[].connectors[].last_updated", "2022-04-04 06:13:30.317+00"),
        _SYNCED,
        _RUN,
    ),
    loaded_at="synced_at",
)

RAW = Relation(
    "raw_sessions",
    "table",
    "The data object of each session as received (exact numbers, unknown fields kept): the source of "
    "`syncer reprocess`. Not granted to analysts.",
    (
        C("id", "sessions.id.", "", "data.id", "a5db858f68a59d25df755847db013244"),
        C("document", "The data object as JSON (jsonb; text on SQLite).", "", "data", '{"id": …}'),
        C("last_updated", "The version, as sessions.last_updated.", "UTC", "data.last_updated",
          "2022-03-14 12:45:08+00"),
        C("fetched_at", "When it was written.", "UTC", "", "2026-12-03 09:00:00+00"),
        _RUN,
    ),
    analyst=False,
    loaded_at="fetched_at",
)

QUEUE = Relation(
    "sync_queue",
    "table",
    "Session ids waiting to be synced (`syncer enqueue`, `syncer run --queue`). Worker bookkeeping.",
    (
        C("id", "The session id (lower case).", "", "", "a5db858f68a59d25df755847db013244"),
        C("status", "pending, leased, done or failed.", "", "", "pending"),
        C("attempts", "Claims so far.", "count", "", "0"),
        C("available_at", "Not claimed before this time (deferred retries).", "UTC", "", ""),
        C("leased_until", "The lease of the worker holding it ends then.", "UTC", "", ""),
        C("lease_token", "The holding worker's token (fences late writers).", "", "", ""),
        C("last_error", "The last error's message (no secrets).", "", "", "HTTP 503"),
        C("last_error_kind", "The last error's kind.", "", "", "http_503"),
        C("enqueued_at", "When it was (last) queued.", "UTC", "", ""),
        C("updated_at", "When the row last changed.", "UTC", "", ""),
    ),
    analyst=False,
)

FAILURES = Relation(
    "sync_failures",
    "table",
    "One row per id that failed in a run, with what to do next (`syncer failures`). Worker bookkeeping.",
    (
        C("pk", "Row number.", "", "", "1"),
        C("id", "The session id.", "", "", "a5db858f68a59d25df755847db013244"),
        C("run_id", "sync_runs.run_id.", "", "", "9f2c…"),
        C("kind", "What failed (http_503, timeout, invalid_json, …).", "", "", "http_503"),
        C("http_status", "The HTTP status, when there was one.", "", "", "503"),
        C("message", "Short message (no secrets).", "", "", ""),
        C("at", "When.", "UTC", "", ""),
    ),
    analyst=False,
)

RUNS = Relation(
    "sync_runs",
    "table",
    "One row per run of the syncer (`syncer runs`): what it did, when, and how it ended.",
    (
        C("run_id", "The run's id; data rows name it in last_run_id.", "", "", "9f2c…"),
        C("started_at", "When the run started.", "UTC", "", ""),
        C("finished_at", "When it ended (null while running).", "UTC", "", ""),
        C("source", "Where its ids came from: file, queue, raw (reprocess).", "", "", "file"),
        C("status", "running, ok, failed, degraded, interrupted or abandoned.", "", "", "ok"),
        C("exit_code", "The process exit code (contract).", "", "", "0"),
        C("requested", "Ids taken.", "count", "", ""),
        C("fetched", "Documents received and read.", "count", "", ""),
        C("inserted", "Sessions new to the warehouse.", "count", "", ""),
        C("updated", "Sessions replaced by a newer version.", "count", "", ""),
        C("unchanged", "Sessions received at the stored version.", "count", "", ""),
        C("stale", "Sessions received older than stored.", "count", "", ""),
        C("not_found", "Ids the gateway does not know (404).", "count", "", ""),
        C("failed", "Ids that failed after their retries.", "count", "", ""),
        C("deferred", "Queue ids put back for later.", "count", "", ""),
        C("lease_lost", "Queue ids another worker took over.", "count", "", ""),
        C("retries", "Requests retried.", "count", "", ""),
        C("duration_s", "Run time.", "seconds", "", ""),
        C("sessions_per_s", "Ids per second.", "1/s", "", ""),
        C("heartbeat_at", "Last sign of life of a running run.", "UTC", "", ""),
        C("syncer_version", "The syncer release that ran.", "", "", "0.1.0"),
        C("gateway_url", "The gateway base URL (no credentials).", "", "", "https://host/api/v1"),
    ),
)

WORKERS = Relation(
    "sync_workers",
    "table",
    "Live worker processes sharing the gateway budget (`--global-rate`); each takes its share."
    " Worker bookkeeping.",
    (
        C("worker_id", "The worker process's own id.", "", "", "3c1e…"),
        C("run_id", "sync_runs.run_id of the run it serves.", "", "", "9f2c…"),
        C("host", "The host (pod) it runs on.", "", "", "syncer-queue-29bx7"),
        C("pid", "Its process id.", "", "", "1"),
        C("started_at", "When it joined.", "UTC", "", ""),
        C("heartbeat_at", "Its last heartbeat.", "UTC", "", ""),
        C("expires_at", "Past this without a heartbeat, it is gone and its share returns.", "UTC", "", ""),
    ),
    analyst=False,
)

SCHEMA_VERSIONS = Relation(
    "syncer_schema",
    "table",
    "The schema versions applied by `syncer migrate`.",
    (
        C("version", "Schema version.", "", "", "5"),
        C("applied_at", "When migrate applied it.", "UTC", "", ""),
    ),
    analyst=False,
)


def _same(table: Relation, name: str, as_name: str | None = None, note: str = "") -> Column:
    """A view column that is a table's column: its description, under the view's name."""
    found = next(c for c in table.columns if c.name == name)
    meaning = f"{table.name}.{name}: {found.meaning}{' ' + note if note else ''}"
    return Column(as_name or name, meaning, found.unit, found.source, found.example)


_REAL = "PostgreSQL numeric; SQLite REAL (floating point)"

SESSION_FACTS = Relation(
    "session_facts",
    "view",
    "One row per session with its location, EVSE, the connector used, local times, duration and money "
    "rounded to the currency's minor unit beside the exact value. On SQLite numbers are REAL here so "
    "they compare, sort and sum as numbers.",
    (
        _same(SESSIONS, "id", "session_id"),
        _same(SESSIONS, "cpo_session_id"),
        _same(SESSIONS, "status"),
        _same(SESSIONS, "location_id"),
        _same(LOCATIONS, "name", "location_name"),
        _same(LOCATIONS, "city"),
        _same(LOCATIONS, "country_code"),
        _same(SESSIONS, "evse_uid"),
        _same(EVSES, "evse_id"),
        _same(SESSIONS, "connector_uid"),
        _same(CONNECTORS, "power_type", note="Of the connector used."),
        _same(CONNECTORS, "standard", note="Of the connector used."),
        _same(CONNECTORS, "max_electric_power", note="Of the connector used."),
        C(
            "max_power_kw",
            "The connector's maximum power: max_electric_power, else voltage x amperage "
            "(x 3 for AC_3_PHASE), rounded to 3 places.",
            f"kW, {_REAL}",
            "",
            "3.22",
        ),
        C("time_zone", "locations.time_zone_iana: the location's IANA time zone (null when unknown).", "",
          "data.location.time_zone", "Asia/Kolkata"),
        _same(SESSIONS, "start_datetime"),
        _same(SESSIONS, "end_datetime"),
        _same(SESSIONS, "local_start_datetime"),
        _same(SESSIONS, "local_end_datetime"),
        C("duration_s", "end_datetime - start_datetime.", f"seconds, {_REAL}", "", "564"),
        _same(SESSIONS, "kwh"),
        _same(SESSIONS, "currency"),
        C("currency_minor_unit",
          "Decimal places of the currency (ISO 4217: JPY 0, BHD/KWD/OMR 3, most 2; unknown: 2).", "", "",
          "2"),
        _same(SESSIONS, "total_cost"),
        C(
            "total_cost_rounded",
            "total_cost rounded to the currency's minor unit: what revenue sums should "
            "use (the gateway's float artefacts such as 47.919999999999995 gone).",
            f"currency, {_REAL}",
            "",
            "1.71",
        ),
        _same(SESSIONS, "total_cost_incl_vat"),
        C("total_cost_incl_vat_rounded", "total_cost_incl_vat rounded to the currency's minor unit.",
          f"currency, {_REAL}", "", ""),
        C("price_per_kwh", "total_cost / kwh, 4 places (null when kwh is 0).", f"currency per kWh, {_REAL}",
          "", "14.9619"),
        _same(SESSIONS, "last_updated"),
        _same(SESSIONS, "synced_at"),
        _same(SESSIONS, "last_run_id"),
    ),
    loaded_at="synced_at",
)

PERIOD_FACTS = Relation(
    "charging_period_facts",
    "view",
    "One row per charging period, with its end and duration and one column per common dimension (a "
    "dimension sent twice in a period is summed; other types stay in charging_periods).",
    (
        _same(PERIODS, "session_id"),
        _same(PERIODS, "period_index"),
        C("period_start", "When the period started.", "UTC", "data.charging_periods[i].start_date_time",
          "2022-03-14 12:35:57+00"),
        C("period_end", "The next period's start, the last period's: its session's end_datetime.", "UTC",
          "", "2022-03-14 12:36:27+00"),
        C("duration_s", "period_end - period_start.", f"seconds, {_REAL}", "", "30"),
        C("energy_kwh", "ENERGY dimension: energy charged in the period.", f"kWh, {_REAL}", "", "0.001"),
        C("power_kw", "POWER dimension.", f"kW, {_REAL}", "", ""),
        C("current_a", "CURRENT dimension.", f"A, {_REAL}", "", ""),
        C("state_of_charge_pct", "STATE_OF_CHARGE dimension.", f"%, {_REAL}", "", ""),
        C("parking_time_h", "PARKING_TIME dimension.", f"hours, {_REAL}", "", "0.002"),
        C("time_h", "TIME dimension (charging time).", f"hours, {_REAL}", "", ""),
        _same(PERIODS, "last_run_id"),
    ),
)

DAILY = Relation(
    "daily_location_energy",
    "view",
    "Per location, local calendar day (of the session's start, in the location's zone; null when the zone "
    "is unknown) and currency: sessions, kWh and revenue.",
    (
        _same(SESSIONS, "location_id"),
        _same(LOCATIONS, "name", "location_name"),
        C("local_date", "The day of local_start_datetime.", "local date", "", "2022-03-14"),
        _same(SESSIONS, "currency"),
        C("sessions", "Sessions started that day.", "count", "", "1"),
        C("kwh", "Sum of sessions.kwh.", f"kWh, {_REAL}", "", "0.11429"),
        C("revenue", "Sum of session_facts.total_cost_rounded (excluding VAT).", f"currency, {_REAL}", "",
          "1.71"),
        C("revenue_incl_vat", "Sum of session_facts.total_cost_incl_vat_rounded.", f"currency, {_REAL}", "",
          ""),
    ),
)

# fmt: on

RELATIONS: tuple[Relation, ...] = (
    SESSIONS,
    PERIODS,
    LOCATIONS,
    EVSES,
    CONNECTORS,
    SESSION_FACTS,
    PERIOD_FACTS,
    DAILY,
    RAW,
    RUNS,
    FAILURES,
    QUEUE,
    WORKERS,
    SCHEMA_VERSIONS,
)
"""Every table and view, in the order the docs show them."""


def relation(name: str) -> Relation:
    return next(r for r in RELATIONS if r.name == name)
