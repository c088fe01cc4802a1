"""The SQLite request cache (persistence, several processes) and the retry/rate policies."""

import multiprocessing
import random
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

from ccneg_build.negators.llm.backend import parse_retry_after
from ccneg_build.negators.llm.messages import ChatRequest, Completion
from ccneg_build.negators.llm.cache import RequestCache, request_key
from ccneg_build.negators.llm.pacing import RetryPolicy


def _key(text: str, **changes) -> str:
    args = dict(backend="openai", model="m", prompt_version="v1", prompt_digest="d",
                params={"temperature": 0.7}, request=ChatRequest("relation_parsing", "sys", (("user", text),)))
    args.update(changes)
    return request_key(**args)


def test_key_changes_with_everything_that_determines_the_answer() -> None:
    base = _key("a dog")
    assert base == _key("a dog")
    variants = [_key("a cat"), _key("a dog", model="m2"), _key("a dog", backend="gemini"),
                _key("a dog", prompt_version="v2"), _key("a dog", prompt_digest="e"),
                _key("a dog", params={"temperature": 0.0})]
    assert len({base, *variants}) == 1 + len(variants)


def test_answers_survive_a_new_cache_object(tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    cache = RequestCache(path)
    cache.put("k", stage="s", backend="b", model="m", prompt_version="v1", completion=Completion("t", 3, 4))
    cache.close()
    again = RequestCache(path)
    assert again.get("k") == Completion("t", 3, 4)
    assert again.get("missing") is None and len(again) == 1


def _writer(path: str, worker: int, n: int) -> None:
    cache = RequestCache(path)
    for i in range(n):
        cache.put(f"{worker}-{i}", stage="s", backend="b", model="m", prompt_version="v1",
                  completion=Completion(f"answer {worker} {i}"))
    cache.close()


def test_several_processes_write_one_cache(tmp_path) -> None:
    path = str(tmp_path / "c.sqlite")
    RequestCache(path).close()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, w, 200)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = RequestCache(path)
    assert len(cache) == 600
    assert cache.get("2-199") == Completion("answer 2 199")


def test_backoff_grows_with_jitter_and_retry_after_wins() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=8.0)
    rng = random.Random(0)
    for attempt, cap in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 8.0)]:
        delays = [policy.delay(attempt, None, rng) for _ in range(50)]
        assert all(cap / 2 <= d <= cap for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert all(7.0 <= policy.delay(1, 7.0, rng) <= 7.7 for _ in range(20))


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "3"}) == 0.25
    assert parse_retry_after({}) is None and parse_retry_after(None) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after({"retry-after": later}) <= 31


def test_token_bucket_waits_for_tokens_and_rpm_spaces_requests() -> None:
    import asyncio
    import time

    from ccneg_build.negators.llm.pacing import RateLimiter

    async def run() -> tuple[float, float, float]:
        tokens = RateLimiter(tpm=600)  # 10 tokens per second, bucket of 600
        started = time.monotonic()
        await tokens.acquire(600)  # the full bucket: no wait
        full = time.monotonic() - started
        await tokens.acquire(5)  # needs 5 fresh tokens: at least 0.5 s
        refill = time.monotonic() - started
        requests = RateLimiter(rpm=1200)  # one every 0.05 s
        started = time.monotonic()
        for _ in range(5):
            await requests.acquire()
        return full, refill, time.monotonic() - started

    full, refill, spaced = asyncio.run(run())
    assert refill >= 0.5 and refill > full
    assert spaced >= 4 * 0.05  # lower bounds only: never flaky


def test_settle_returns_overestimated_tokens() -> None:
    from ccneg_build.negators.llm.pacing import RateLimiter

    limiter = RateLimiter(tpm=1000)
    limiter._tokens = 0.0
    limiter.settle(estimated=300, actual=100)
    assert 199 <= limiter._tokens <= 210
