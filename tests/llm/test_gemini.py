"""The gemini backend, through the real ``google-genai`` client, against a local server speaking its REST shape."""

from __future__ import annotations

import json
import logging

import pytest

from ccneg_build.negators.base import RowsOwed
from ccneg_build.negators.llm.backend import FatalBackendError
from ccneg_core.record import Negation, Rejection
from ccneg_build.verify import verify
from ccneg_core.record import Verdict
from tests.llm.conftest import FAKE_KEYS, files_containing, make_rows, negator_for


def test_success_uses_the_generate_content_rest_shape(server, fake_keys, tmp_path) -> None:
    rows = make_rows(["a dog on a couch", "A woman next to a table in the dining area"])
    negator = negator_for("gemini", server, tmp_path, model="gemini-test")
    results = negator.negate_batch(rows)
    usage = negator.usage()
    negator.close()
    for row, result in zip(rows, results):
        assert isinstance(result, Negation), result
        assert result.generator.backend == "gemini" and result.generator.model == "gemini-test"
        assert isinstance(verify(row, result), Verdict)
    assert results[0].negated_caption == "a dog not on a couch" and results[0].exclusion_caption == "a dog"
    assert {r["path"] for r in server.requests} == {"/v1beta/models/gemini-test:generateContent"}
    assert all(r["auth"] for r in server.requests)
    assert usage["total"]["requests"] == 4 and usage["total"]["tokens_in"] > 0 and usage["total"]["tokens_out"] > 0


def test_429_is_retried_after_the_servers_delay(server, fake_keys, tmp_path) -> None:
    caption = "FAULT:429 a cat on a mat"
    negator = negator_for("gemini", server, tmp_path, backoff_base=0.01)
    [result] = negator.negate_batch(make_rows([caption]))
    negator.close()
    assert isinstance(result, Negation)
    first, second = server.logged(caption=caption, stage="relation_parsing")
    assert first["fault"] == "429" and second["t"] - first["t"] >= 0.95


@pytest.mark.parametrize(
    "caption, reason",
    [
        ("FAULT:badjsonx99 a fish in a bowl", "llm_invalid_json"),
        ("FAULT:shapex99 a cup on a table", "llm_wrong_shape"),
        ("FAULT:emptyx99 a pen on a desk", "llm_empty_response"),
    ],
)
def test_malformed_answers_are_rejected_with_a_reason(server, fake_keys, tmp_path, caption, reason) -> None:
    negator = negator_for("gemini", server, tmp_path)
    [result] = negator.negate_batch(make_rows([caption]))
    negator.close()
    assert isinstance(result, Rejection) and result.reason == reason, result
    assert result.stage == "decompose" and result.detail


@pytest.mark.parametrize("caption", ["FAULT:500x99 a bird in a nest", "FAULT:truncbodyx99 a boat on the lake"])
def test_transport_failures_owe_the_row_instead_of_rejecting_it(server, fake_keys, tmp_path, caption) -> None:
    negator = negator_for("gemini", server, tmp_path)
    with pytest.raises(RowsOwed) as owed:
        negator.negate_batch(make_rows(["a dog on a couch", caption]))
    negator.close()
    assert owed.value.rows == 1 and server.root_url in str(owed.value)
    assert len(server.logged(caption=caption)) == 3  # the whole retry budget (FAST: 3 attempts)
    assert server.probes == 1  # one reachability probe before the first request


def test_cache_and_key_hygiene(server, fake_keys, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    rows = make_rows(["a dog on a couch", "FAULT:500x99 a bird in a nest"])
    first = negator_for("gemini", server, tmp_path)
    with pytest.raises(RowsOwed):
        first.negate_batch(rows)
    first.close()
    sent = server.count
    again = negator_for("gemini", server, tmp_path)
    [result] = again.negate_batch(rows[:1])  # answered before the failure: served from the cache
    again.close()
    assert isinstance(result, Negation) and server.count == sent
    assert files_containing(tmp_path, FAKE_KEYS) == []
    assert not any(key in caplog.text for key in FAKE_KEYS)
    assert not any(key in json.dumps(again.describe()) for key in FAKE_KEYS)


def test_refused_key_stops_the_run(server, fake_keys, tmp_path) -> None:
    negator = negator_for("gemini", server, tmp_path)
    with pytest.raises(FatalBackendError, match="GEMINI_API_KEY") as info:
        negator.negate_batch(make_rows(["FAULT:401 a dog on a couch"]))
    negator.close()
    assert not any(key in str(info.value) for key in FAKE_KEYS)


def test_missing_key_is_a_clear_error(monkeypatch, tmp_path) -> None:
    from ccneg_build.negators.llm.factory import create_llm_negator

    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(FatalBackendError, match="GEMINI_API_KEY"):
        create_llm_negator("gemini", {}, tmp_path)
