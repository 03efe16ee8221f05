"""actions/emulator/start.py, the emulator action's one script, on its own."""

from __future__ import annotations

import importlib.util

from conftest import ROOT


def test_emulator_start_waits_for_every_export_in_full():
    spec = importlib.util.spec_from_file_location("smops_emulator_start", ROOT / "actions" / "emulator" / "start.py")
    start = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(start)
    whole = (
        "export AWS_ENDPOINT_URL=http://127.0.0.1:5000\nexport AWS_REGION=us-east-1\n"
        "export AWS_DEFAULT_REGION=us-east-1\nexport AWS_ACCESS_KEY_ID=testing\n"
        "export AWS_SECRET_ACCESS_KEY=testing\n"
    )
    # A read that caught the write half-done: not ready yet, not even with the last name cut short.
    assert start.complete_exports(whole[:60]) is None
    assert start.complete_exports(whole[:-3]) is None
    assert start.complete_exports(whole)["AWS_SECRET_ACCESS_KEY"] == "testing"

