"""The README's analyst queries run as written, on the vendor's sample synced (at IST), on both
backends, and answer what they say."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from syncer.documents.flatten import flatten_body
from syncer.warehouse.store import Store
from tests.unit.docs_factory import SEED_ID, body

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def analyst_queries() -> list[str]:
    section = README.split("### Analyst queries", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, re.S)


async def test_the_readme_analyst_queries_run_as_written(database_url: str) -> None:
    queries = analyst_queries()
    assert len(queries) == 3
    results: list[list[Any]] = []
    async with Store.open(database_url) as store:
        await store.write([flatten_body(body({"location.time_zone": "IST"}), SEED_ID)], now=datetime.now(UTC))
        async with store.engine.connect() as conn:
            for query in queries:
                results.append(list((await conn.exec_driver_sql(query.strip().rstrip(";"))).all()))
    daily, by_power, curve = results
    assert [(r[0], str(r[1]), r[2], r[3]) for r in daily] == [("EVnnovator Lab", "2022-03-14", "INR", 1)]
    assert [(r[0], r[1]) for r in by_power] == [("AC_1_PHASE", 1)]
    assert Decimal(str(by_power[0][3])) == Decimal("9.4")  # 564 s
    assert len(curve) == 20 and curve[0][0] == 0 and Decimal(str(curve[0][4])) == Decimal("0.001")
