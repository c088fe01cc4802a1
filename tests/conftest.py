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



import pytest  # noqa: E402

from tests.helpers.servers import deaths  # noqa: E402


def _raise_if_a_server_died(cause: BaseException | None = None) -> None:
    """Name a dead server as the failure's cause, instead of whatever the test asserted next."""
    dead = deaths()
    if dead:
        raise AssertionError("a server this test started is dead:\n" + "\n".join(dead)) from cause


def _watching_servers():
    """Body of the setup and call wrappers: run the phase, then check every watched server."""
    try:
        result = yield
    except BaseException as error:
        _raise_if_a_server_died(error)
        raise
    _raise_if_a_server_died()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _watching_servers())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _watching_servers())
