"""Fixtures for app tests: a fixed lab in tmp_path, a fixed clock, fixed GPU state, fixed theme."""

from __future__ import annotations

import asyncio
import functools
import inspect

import pytest

from .labdata import clock, four_gpus, no_gpu, standard_lab


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # paths are shown relative to the working directory
    monkeypatch.delenv("NO_COLOR", raising=False)
    lab = standard_lab(tmp_path)
    yield lab
    lab.close()


@pytest.fixture
def app_factory(lab):
    from tui.app.app import LabApp

    def make(gpus: str = "none", poll_interval: float = 0.2, **kw) -> LabApp:
        sampler = {"none": no_gpu, "four": four_gpus}[gpus]()
        return LabApp(lab.journal, clock=clock, gpu_source=sampler, poll_interval=poll_interval,
                      theme="textual-dark", **kw)

    return make


def sync(fn):
    """Run an async test with asyncio.run (no pytest-asyncio plugin needed)."""
    @functools.wraps(fn)
    def wrapper(*a, **kw):
        return asyncio.run(fn(*a, **kw))

    wrapper.__signature__ = inspect.signature(fn)
    return wrapper


async def settle(pilot, polls: int = 2, timeout: float = 20.0) -> None:
    """Wait until the app has read everything (at least ``polls`` polls, no backlog)."""
    import time

    app = pilot.app
    t0 = time.monotonic()
    while (app.polls < polls or app.loading) and time.monotonic() - t0 < timeout:
        await pilot.pause(0.05)
    await pilot.pause()
