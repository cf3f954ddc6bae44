"""The `edge demo` step of the plugins (edge.demo.plugins) in quick mode."""

from __future__ import annotations

from edge.demo import STEPS, DemoContext


def test_plugins_demo_step_checks_both_references(ref_lib, tmp_path):
    from edge.demo.plugins import run

    assert "plugins" in STEPS
    ctx = DemoContext(out=tmp_path, quick=True)
    result = run(ctx)
    assert result["unwarp"]["bit_exact"] is True
    assert len(result["sample_interp"]) == 3
    assert all(r["max_err_rel"] < 1e-5 for r in result["sample_interp"])
    ratios = [r["plugin_macs_vs_dense_conv"] for r in result["sample_interp"]]
    assert ratios == sorted(ratios) and ratios[-1] < 1  # cost grows with the density, below the dense conv
    assert "## Plugins" in ctx.markdown[0]
