"""Token and cost accounting per stage: what was sent, what came from the cache, what it cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageUsage:
    """Counts for one stage (relation parsing or sentence formation)."""

    requests: int = 0  # answered by the provider in this run
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0  # requests given up on (attempts exhausted or refused)
    tokens_in: int = 0
    tokens_out: int = 0

    def merge(self, other: "StageUsage | dict[str, int]") -> None:
        items = other if isinstance(other, dict) else other.__dict__
        for name, value in items.items():
            if name in self.__dataclass_fields__:
                setattr(self, name, getattr(self, name) + int(value))


@dataclass
class Usage:
    """Per-stage usage plus optional prices (USD per million tokens in and out)."""

    price_in: float | None = None
    price_out: float | None = None
    stages: dict[str, StageUsage] = field(default_factory=dict)

    def stage(self, name: str) -> StageUsage:
        return self.stages.setdefault(name, StageUsage())

    def cost_usd(self, stage: StageUsage) -> float | None:
        if self.price_in is None and self.price_out is None:
            return None
        return (stage.tokens_in * (self.price_in or 0.0) + stage.tokens_out * (self.price_out or 0.0)) / 1e6

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: per stage, a total, and the prices used."""
        total = StageUsage()
        out: dict[str, Any] = {"stages": {}}
        for name, usage in sorted(self.stages.items()):
            total.merge(usage)
            entry: dict[str, Any] = dict(usage.__dict__)
            cost = self.cost_usd(usage)
            if cost is not None:
                entry["cost_usd"] = round(cost, 6)
            out["stages"][name] = entry
        out["total"] = dict(total.__dict__)
        cost = self.cost_usd(total)
        if cost is not None:
            out["total"]["cost_usd"] = round(cost, 6)
        out["prices_usd_per_million_tokens"] = {"input": self.price_in, "output": self.price_out}
        return out

    def counters(self) -> dict[str, int]:
        """Flat integer counters (``llm.<stage>.<name>``) for step statistics."""
        flat: dict[str, int] = {}
        for name, usage in self.stages.items():
            for key, value in usage.__dict__.items():
                flat[f"llm.{name}.{key}"] = value
            cost = self.cost_usd(usage)
            if cost is not None:
                flat[f"llm.{name}.cost_microusd"] = round(cost * 1e6)
        return flat
