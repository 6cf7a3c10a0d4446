"""Install like a Python user: `pip wheel .` builds the binary wheel with maturin
(pyproject.toml, bindings = "bin"), a fresh virtualenv installs it with no index, and the
`sfhq-pack` it puts on that environment's PATH converts the good fixtures to the same shards
as the debug binary the rest of the suite runs.

The wheel build is a release build of the whole crate (about 10 minutes on 2 cores the first
time). It uses the checkout's cargo target folder (CARGO_TARGET_DIR when set, else
`target/`), so later runs only recompile what changed. Marked `wheel`: tests/run-all runs
it; `tests/run-all -m "not wheel"` skips it while iterating.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import GOOD_SOURCES, REPO, run_bin

pytestmark = pytest.mark.wheel


def _run(argv, cwd=REPO, env=None, timeout=3600):
    proc = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"`{' '.join(map(str, argv))}` exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}"
        )
    return proc


def _shards(out: Path) -> list[tuple[str, int, str]]:
    manifest = json.loads((out / "manifest.json").read_text())
    return [(s["path"], s["rows"], s["sha256"]) for s in manifest["shards"]]


def test_wheel_installs_a_working_sfhq_pack(tmp_path):
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", str(REPO / "target"))
    env.setdefault("CARGO_INCREMENTAL", "0")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    wheels = tmp_path / "wheels"
    # The suite's own interpreter builds the wheel (maturin comes from the package index
    # into pip's isolated build environment, as for any user running `pip install .`).
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-w", wheels], env=env)
    built = sorted(wheels.glob("sfhq_pack-*.whl"))
    assert len(built) == 1, f"expected one sfhq_pack wheel in {wheels}, found {built}"
    assert "-py3-none-" in built[0].name, f"a binary wheel is not tied to Python: {built[0].name}"

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    _run([python, "-m", "pip", "install", "--no-index", "--no-deps", built[0]], env=env)
    exe = env_dir / "bin" / "sfhq-pack"
    assert exe.is_file() and os.access(exe, os.X_OK), f"the wheel did not install {exe}"

    # The installed command is found on the environment's PATH, like ruff's or uv's.
    user_env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    user_env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    version = _run(["sfhq-pack", "--version"], env=user_env).stdout
    assert version.startswith("sfhq-pack 0."), version

    out = tmp_path / "installed-out"
    _run(["sfhq-pack", "convert", *GOOD_SOURCES, "--out", out, "--quiet"], env=user_env)
    reference = tmp_path / "debug-out"
    run_bin("convert", *GOOD_SOURCES, "--out", reference, "--quiet")
    assert _shards(out) == _shards(reference), "the release wheel wrote different shards"
    assert sum(rows for _, rows, _ in _shards(out)) == 10
    _run(["sfhq-pack", "verify", out, "--quiet"], env=user_env)
