"""The browser modules' pure functions (projection math, ...) under Node's test runner, so that
``make test`` runs them: ``node --test tests/js/``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

JS_TESTS = Path(__file__).parent.parent / "js"


def test_javascript_unit_tests_pass() -> None:
    node = shutil.which("node")
    assert node, "node is needed for the browser modules' unit tests (apt-get install nodejs)"
    run = subprocess.run(
        [node, "--experimental-default-type=module", "--test", str(JS_TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
