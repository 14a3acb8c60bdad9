"""The command's JAX persistent compilation cache (issue 26, item 5): where it lives, how it is
moved or turned off, and that a second process reads the first one's programs.

The tests run with ``EFFGROK_JAX_CACHE=off`` (tests/conftest.py); here the cache is turned on
in a temporary folder only, never in the user's cache folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from effgrok.cli._jax_cache import ENV, enable_jax_cache, jax_cache_dir

EFFGROK = Path(sys.executable).parent / "effgrok"


def test_the_folder_follows_the_variables(tmp_path, monkeypatch):
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    assert jax_cache_dir({}) == tmp_path / "home" / ".cache" / "effgrok" / "jax"
    assert jax_cache_dir({"XDG_CACHE_HOME": "/xdg"}) == Path("/xdg/effgrok/jax")
    relative = {"XDG_CACHE_HOME": "not/absolute"}  # ignored, as the XDG specification says
    assert jax_cache_dir(relative) == tmp_path / "home" / ".cache" / "effgrok" / "jax"
    assert jax_cache_dir({ENV: str(tmp_path / "c"), "XDG_CACHE_HOME": "/xdg"}) == tmp_path / "c"
    assert jax_cache_dir({ENV: "off", "XDG_CACHE_HOME": "/xdg"}) is None
    assert jax_cache_dir({ENV: " OFF "}) is None


def test_off_changes_nothing(monkeypatch):
    before = dict(os.environ)
    assert enable_jax_cache({ENV: "off"}) is None
    assert dict(os.environ) == before


def _train(env) -> dict:
    argv = [str(EFFGROK), "train", "modular", "--p", "5", "--steps", "4", "--stride", "2", "--json"]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    rec.pop("provenance", None)
    return rec


@pytest.mark.skipif(not EFFGROK.exists(), reason="the console script is not installed")
def test_a_second_process_reuses_the_compiled_programs(tmp_path):
    """The first `effgrok train` writes its programs -- small ones too, which JAX's default
    threshold of 1 s of compilation would leave out -- to JAX's cache and, whole, to
    ``programs/`` (effgrok.nets.programs); the second writes none (every program was read from
    the cache) and prints the same numbers."""
    folder = tmp_path / "jax"
    env = {**os.environ, ENV: str(folder)}
    first = _train(env)
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    assert any(name.endswith("-cache") for name in written), f"no JAX cache entry in {written}"
    assert any(name.startswith("programs/") for name in written), f"no whole program in {written}"
    second = _train(env)
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == written
    assert second == first


def test_off_turns_the_program_cache_off_too(monkeypatch, tmp_path):
    from effgrok.cli._jax_cache import PROGRAMS_ENV
    from effgrok.nets import programs

    assert PROGRAMS_ENV == programs.ENV  # stated twice (the command does not import effgrok.nets)

    monkeypatch.setenv("EFFGROK_PROGRAM_CACHE", str(tmp_path))
    previous = programs.cache_programs(tmp_path)
    try:
        enable_jax_cache({ENV: "off"})
        assert "EFFGROK_PROGRAM_CACHE" not in os.environ
        assert programs.cache_programs(None) is None
    finally:
        programs.cache_programs(previous)
