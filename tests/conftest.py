"""Settings every test shares: nothing may leave this machine.

The suite runs offline (no Hub, no provider APIs); every server a test needs is started by
the test itself on 127.0.0.1, and loopback traffic must never go through a proxy.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
for _name in ("NO_PROXY", "no_proxy"):
    _hosts = [h for h in os.environ.get(_name, "").split(",") if h]
    os.environ[_name] = ",".join(dict.fromkeys(_hosts + ["127.0.0.1", "localhost"]))
