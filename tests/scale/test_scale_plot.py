"""The scale benchmark's plot (a PNG with both panels' lines) and its cluster projection."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks.scale_plot import (
    GIB,
    Measured,
    NodeShape,
    machine_conditions,
    plot_scaling,
    project_cluster,
    projection_table,
)


def test_plot_is_a_png_with_a_line_per_label(tmp_path: Path) -> None:
    rows = [
        {
            "agents": n,
            "us_per_agent_round": 400 + n / 1000,
            "bytes_per_agent": 2e5 / math.log10(n),
            "label": label,
        }
        for label in ("1 shard", "2 nodes, 2 shards")
        for n in (1_000, 10_000, 100_000)
    ]
    small = plot_scaling(rows[:1], str(tmp_path / "one.png"))
    path = plot_scaling(rows, str(tmp_path / "scale.png"), title="test")
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > Path(small).stat().st_size  # six points and two legends draw more than one point
    with pytest.raises(ValueError):
        plot_scaling([], str(tmp_path / "none.png"))


def test_machine_conditions_name_cores_memory_load_and_ray() -> None:
    text = machine_conditions()
    assert "cores" in text and "GiB" in text and "load" in text and "Ray" in text


def test_projection_arithmetic_and_assumptions() -> None:
    # 100k agents, a round in 40 s on 2 cores: 800 CPU-µs per agent-round; 5 GiB above idle: 52.4 KB each
    m = Measured(agents=100_000, round_s=40, cores=2, peak_bytes=6 * GIB, idle_bytes=1 * GIB)
    assert m.cpu_us_per_agent_round == pytest.approx(800)
    assert m.bytes_per_agent == pytest.approx(5 * GIB / 100_000)
    assert m.deliveries_per_shard_s == pytest.approx(2_500)
    p = project_cluster(m, node=NodeShape(cores=16, memory_gib=64, reserve_gib=4), utilization=0.5)
    # 1M agents a minute: 16,667 agent-rounds/s x 800 µs = 13.3 cores, /0.5 + 14 shards = 40.7 -> 3 nodes
    assert p.cores_for_agents == pytest.approx(1e6 / 60 * 800e-6)
    assert p.env_shards == math.ceil(1e6 / 60 / (2_500 * 0.5))
    assert p.nodes_for_cpu == math.ceil((p.cores_for_agents / 0.5 + p.env_shards) / 16)
    assert p.memory_for_agents_gib == pytest.approx(50)  # 10x the 5 GiB of 100k agents
    assert p.nodes_for_memory == math.ceil(50 / (60 * 0.5))
    assert p.nodes == max(p.nodes_for_cpu, p.nodes_for_memory) == 3
    table = projection_table(p)
    assert "projected cluster" in table and "3 nodes" in table and "[6]" in table
    # slower agents need more nodes; a full node set does not shrink below what memory needs
    slow = project_cluster(Measured(agents=100_000, round_s=400, cores=2, peak_bytes=6 * GIB, idle_bytes=GIB))
    assert slow.nodes_for_cpu > p.nodes_for_cpu
    # a shard's rate measured alone replaces the round's lower bound
    alone = Measured(agents=100_000, round_s=40, cores=2, peak_bytes=6 * GIB, idle_bytes=GIB,
                     shard_deliveries_per_s=20_000)  # fmt: skip
    assert project_cluster(alone).env_shards == math.ceil(1e6 / 60 / (20_000 * 0.5)) < p.env_shards
    assert "measured alone" in projection_table(project_cluster(alone))
    # the CPU time measured replaces wall time x cores
    timed = Measured(agents=100_000, round_s=40, cores=2, peak_bytes=6 * GIB, idle_bytes=GIB, cpu_s=20)
    assert timed.cpu_us_per_agent_round == pytest.approx(200)
    assert "CPU time its processes used" in projection_table(project_cluster(timed))
    with pytest.raises(ValueError):
        project_cluster(m, utilization=0)
