"""``make demo`` from a fresh clone: builds its own environment and prints the approval queue."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPOSITORY = Path(__file__).resolve().parents[2]


def test_make_demo_from_a_fresh_clone_prints_pending_approvals(tmp_path: Path) -> None:
    clone = tmp_path / "agentfleet"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(REPOSITORY), str(clone)],
        check=True,
        timeout=60,
    )

    demo = subprocess.run(
        ["make", "demo"], cwd=clone, capture_output=True, text=True, timeout=600, check=False
    )

    output = demo.stdout + demo.stderr
    assert demo.returncode == 0, output[-4000:]
    assert "embedded mode" in output
    assert "approval queue — 24 pending" in output
    assert "prospecting run: ICP" in output
    for agent_type in ("lead_source", "enrichment", "contact_finder", "scoring", "outreach"):
        assert f"{agent_type:<15} tasks: " in output
    assert "failed" not in output.split("prospecting run", 1)[1].split("seeded tenant")[0]
    assert "tasks: 24/24 completed, 0 failed" in output
    assert "the sender delivered 2 messages over SMTP" in output
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in output
    assert "classified by the follow-up agent as: interested" in output
    assert "Traceback" not in output
