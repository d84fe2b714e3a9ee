"""Guards against a misconfigured or hostile gateway, in pure parts: settings refused at start
(unknown variables, credentials in the URL, short tokens), case-insensitive redaction, the
health judgement of a run, the byte budget and batches by weight, and id lines never changed
into another id."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import anyio
import pytest

from syncer.errors import ConfigError, GatewayUnusable, PermanentError, TransientError
from syncer.observe.logs import REDACTED, Redactor
from syncer.pipeline.batches import batches
from syncer.pipeline.budget import ByteBudget, Ticket, cost
from syncer.pipeline.health import PROBE, GatewayHealth
from syncer.settings import load_settings
from syncer.sources.file import MAX_LINE_CHARS, file_ids

TOKEN = "tok-Guard-5e6f7a8b9c"

# -- settings ----------------------------------------------------------------------------------


def test_a_misspelt_variable_is_refused_with_a_did_you_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCER_CONCURENCY", "5")
    with pytest.raises(
        ConfigError, match=r"^SYNCER_CONCURENCY: unknown variable; did you mean SYNCER_CONCURRENCY\?$"
    ):
        load_settings()


def test_the_test_suites_own_and_other_known_variables_are_not_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNCER_TEST_ANYTHING", "x")
    monkeypatch.setenv("SYNCER_EVENT_LOOP", "asyncio")
    monkeypatch.setenv("SYNCER_CONCURRENCY", "5")
    assert load_settings().concurrency == 5


def test_credentials_in_the_gateway_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(gateway_url="http://user:pa55word@gw.example/api/v1", token=TOKEN)
    message = str(refused.value)
    assert message.startswith("--gateway-url:") and "credentials" in message
    assert "pa55word" not in message and "\n" not in message


def test_a_token_too_short_to_redact_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"--token: .*shorter than 8"):
        load_settings(token="abc")
    assert load_settings(token=f"  {TOKEN}\n").token_value == TOKEN  # a mounted secret's newline


# -- redaction -----------------------------------------------------------------------------------


def test_redaction_ignores_case_in_text_and_bytes() -> None:
    redact = Redactor([TOKEN])
    assert redact.text(f"bad {TOKEN.upper()} and {TOKEN.lower()}") == f"bad {REDACTED} and {REDACTED}"
    body = b'{"auth_id": "' + TOKEN.swapcase().encode() + b'"}'
    assert redact.data(body) == b'{"auth_id": "***"}'
    plain = b'{"auth_id": "someone"}'
    assert redact.data(plain) is plain  # nothing to scrub: no copy
    assert redact(None, "info", {"event": TOKEN.upper()})["event"] == REDACTED


# -- health --------------------------------------------------------------------------------------

URL = "http://gw.example:8080/api/v2"


def foreign() -> PermanentError:
    error = PermanentError(
        "session not found (HTTP 404 on GET /api/v2/sessions/a)", kind="not_found", http_status=404
    )
    error.foreign = True
    return error


def unreachable() -> TransientError:
    error = TransientError("ClientConnectorError on GET /api/v2/sessions/a", kind="connection")
    error.unreachable = True
    return error


def test_foreign_answers_first_stop_the_run_naming_the_url() -> None:
    health = GatewayHealth(URL)
    for i in range(PROBE - 1):
        health.attempt(f"id-{i}", foreign())
    with pytest.raises(
        GatewayUnusable, match=r"http://gw.example:8080/api/v2/sessions/id-2 answered HTTP 404"
    ):
        health.attempt("id-2", foreign())


def test_unreachable_first_stops_the_run_naming_host_and_port() -> None:
    health = GatewayHealth(URL)
    for _ in range(PROBE - 1):
        health.attempt("a", unreachable())
    with pytest.raises(GatewayUnusable, match=r"cannot connect to gw\.example:8080"):
        health.attempt("a", unreachable())


def test_once_the_gateway_answered_nothing_stops_the_run() -> None:
    health = GatewayHealth(URL)
    health.attempt("a", PermanentError("gateway status_code 2003", kind="not_found"))  # its envelope
    for _ in range(10 * PROBE):
        health.attempt("b", foreign())
        health.attempt("c", unreachable())
    health.verdict()
    assert not health.degraded


def test_an_outage_is_degraded_and_a_few_foreign_answers_fail_at_the_end() -> None:
    outage = GatewayHealth(URL)
    for _ in range(50):
        outage.attempt("a", TransientError("gateway busy or failing (HTTP 503 ...)", kind="http_503"))
    outage.verdict()
    assert outage.degraded
    idle = GatewayHealth(URL)  # nothing was due: not degraded
    idle.attempt("x", PermanentError("invalid session id", kind="invalid_id"))
    assert not idle.degraded
    short = GatewayHealth(URL)
    short.attempt("only-one", foreign())
    with pytest.raises(GatewayUnusable):
        short.verdict()


# -- budget --------------------------------------------------------------------------------------


async def test_the_budget_waits_first_come_first_served_and_lets_a_huge_one_through_alone() -> None:
    budget = ByteBudget(100)
    assert await budget.acquire(60) == 60
    order: list[str] = []

    async def take(name: str, n: int) -> None:
        await budget.acquire(n)
        order.append(name)

    async with anyio.create_task_group() as tg:
        tg.start_soon(take, "big", 500)  # capped to the capacity: waits for an empty budget
        await anyio.sleep(0.05)
        tg.start_soon(take, "small", 10)  # would fit now, but comes after "big"
        await anyio.sleep(0.05)
        assert order == []
        budget.release(60)
        await anyio.sleep(0.05)
        assert order == ["big"]
        budget.release(100)
    assert order == ["big", "small"]
    assert budget.used == 10


async def test_a_ticket_holds_its_body_cost_until_released() -> None:
    budget = ByteBudget(cost(1000))
    first = Ticket(budget)
    await first.start()  # nothing seen yet: the whole budget, the first request goes alone
    assert budget.used == budget.capacity
    first.settle(100)
    assert (first.held, budget.used) == (cost(100), cost(100))
    second = Ticket(budget)
    await second.start()  # the estimate is now the last body's cost
    assert second.held == cost(100)
    second.settle(5000)  # bigger than estimated: taken without waiting, over the capacity
    assert budget.used == cost(5100) > budget.capacity
    assert first.release() == cost(100) and second.release() == cost(5000)
    assert budget.used == 0


async def test_requests_waiting_behind_the_first_go_once_its_body_is_small() -> None:
    """The first request goes alone (nothing seen yet); the others, queued while it was in
    flight, then ask for the new estimate, not the whole budget: small bodies do not chain
    every request to the commit of the one before (a throughput of 14/s instead of 50/s)."""
    budget = ByteBudget(cost(10_000))
    first = Ticket(budget)
    await first.start()
    started: list[int] = []

    async def request(n: int) -> None:
        await Ticket(budget).start()
        started.append(n)

    async with anyio.create_task_group() as tg:
        for n in range(5):
            tg.start_soon(request, n)
        await anyio.sleep(0.05)
        assert started == []
        first.settle(100)  # not released: its batch is not committed yet
    assert started == [0, 1, 2, 3, 4]
    assert budget.used == cost(100) * 6


async def test_batches_are_cut_by_weight() -> None:
    send, receive = anyio.create_memory_object_stream[int](100)
    for weight in (5, 5, 30, 1, 1):
        send.send_nowait(weight)
    send.close()
    with receive:
        got = [batch async for batch in batches(receive, 100, 5.0, weigh=lambda w: w, max_weight=10)]
    assert got == [[5, 5], [30], [1, 1]]


# -- id lines ------------------------------------------------------------------------------------


async def collect(path: Path) -> list[tuple[str, bool]]:
    return [(item.id, item.valid) async for item in file_ids(str(path))]


async def test_a_leading_bom_is_skipped_and_unicode_whitespace_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes("\ufeffFirst-1\nx\u00a0\n\u00a0y\na\u2028b\nz\u3000\n  padded  \n".encode())
    got = await collect(path)
    assert got[0] == ("first-1", True)  # the BOM is not part of the first id
    assert got[1:5] == [("x\\xa0", False), ("\\xa0y", False), ("a\\u2028b", False), ("z\\u3000", False)]
    assert got[5] == ("padded", True)  # ASCII spaces around an id are layout, not part of it
    assert "x" not in [id for id, _ in got]  # never silently the different id "x"


async def test_an_overlong_line_is_invalid_and_never_held_whole(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    line = 32 * 1024 * 1024
    with path.open("w") as handle:
        handle.write("before\n")
        for _ in range(line // (1024 * 1024)):
            handle.write("x" * 1024 * 1024)
        handle.write("\nafter\n")
    tracemalloc.start()
    try:
        got = await collect(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [valid for _, valid in got] == [True, False, True]
    assert got[0][0] == "before" and got[2][0] == "after"
    assert len(got[1][0]) <= MAX_LINE_CHARS
    assert peak < 4 * 1024 * 1024, peak  # a 32 MB line, read a chunk at a time
