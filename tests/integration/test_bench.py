"""The benchmark still runs: `python -m bench --quick` (the pip app, one iteration).

Not a timed test: it checks the result's shape and the size checks, never a duration.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from bench.report import BASELINE, SCENARIOS, SYSTEMS

CHECKOUT = Path(__file__).parent.parent.parent


def test_quick_benchmark_reports_every_scenario(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(tmp_path)],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    assert completed.returncode == 0, completed.stderr + completed.stdout
    [result_file] = tmp_path.glob("*.json")
    assert (tmp_path / f"{result_file.stem}.md").is_file()
    result = json.loads(result_file.read_text())

    app = result["apps"]["pip"]
    for scenario in SCENARIOS:
        # The Dockerfile-style baseline times the cold build only.
        expected = {*SYSTEMS, BASELINE} if scenario == "cold" else set(SYSTEMS)
        assert set(app["medians"][scenario]) == expected, scenario
        ratios = app["ratios"][scenario]
        assert ratios, scenario
        for name, value in ratios.items():
            assert isinstance(value, float), (scenario, name, value)
            assert math.isfinite(value), (scenario, name, value)
            assert value > 0, (scenario, name, value)
    cold = app["medians"]["cold"]
    assert {"total", "tool_install", "sync"} <= set(cold[BASELINE]), cold[BASELINE]
    assert {"total", "buildpack", "export"} <= set(cold["pycnb"]), cold["pycnb"]
    assert 0 < cold["pycnb"]["export"] < cold["pycnb"]["total"]
    launch = app["launch_bytes"]
    assert launch["python"] > 0
    assert launch["venv"] > 0
    assert launch["installers"] == 0, launch
    assert app["imports"]["pycnb"]["pyc_rewritten"] == 0
    assert {t["app"] for t in result["targets"]} == {"pip"}
    assert all(isinstance(t["met"], bool) for t in result["targets"])
    targets = {t["target"] for t in result["targets"]}
    assert "cold build without the Python layer / Dockerfile-style" in targets, targets
    assert "export of a fresh image / cold build" in targets, targets
