"""Model specs (edge.spec): safe formats load, a pickle that would run code is refused unless trusted."""

from __future__ import annotations

import os

import pytest
import torch

from edge.errors import ModelLoadError
from edge.spec import load_module, save_checkpoint


class _Payload:
    """Unpickling this calls os.system-like code: here it writes a marker file (the attack, made harmless)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_that_runs_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    torch.save({"model": _Payload(marker)}, path)
    with pytest.raises(ModelLoadError, match="trust-pickle"):
        load_module(path)
    assert not marker.exists()
    with pytest.raises(ModelLoadError):  # trusted, it runs (that is what trust means) but is not a module
        load_module(path, trust_pickle=True)
    assert marker.exists()


def test_the_cli_refuses_the_pickle_with_the_opt_in_named(tmp_path, capsys):
    from edge.cli.main import main

    marker = tmp_path / "pwned"
    torch.save(_Payload(marker), tmp_path / "m.pt")
    assert main(["bench", str(tmp_path / "m.pt"), "-n", "1"]) == 2
    assert "--trust-pickle" in capsys.readouterr().err and not marker.exists()
    assert os.environ.get("EDGE_TRUST_PICKLE") is None


def test_pickled_module_needs_trust(tmp_path):
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3))
    torch.save(net, tmp_path / "net.pt")
    with pytest.raises(ModelLoadError, match="pickled"):
        load_module(tmp_path / "net.pt")
    assert isinstance(load_module(tmp_path / "net.pt", trust_pickle=True), torch.nn.Sequential)


def test_edge_checkpoint_round_trip_loads_without_pickle(tmp_path):
    from edge.dense import basenet, to_dense

    torch.manual_seed(1)
    dense = to_dense(basenet(), 15)
    save_checkpoint(tmp_path / "d.pt", dense, "dense", source="edge.dense:basenet", patch_size=[15, 15])
    torch.load(tmp_path / "d.pt", weights_only=True)  # plain data only
    back = load_module(tmp_path / "d.pt")
    x = torch.rand(1, 1, 20, 21)
    with torch.no_grad():
        torch.testing.assert_close(back(x), dense(x))


@pytest.mark.parametrize("content", [b"", b"garbage bytes, not a zip", None])
def test_truncated_or_garbage_files_name_the_problem(tmp_path, content):
    path = tmp_path / "m.pt"
    if content is None:  # a real file cut in half
        torch.jit.save(torch.jit.script(torch.nn.Conv2d(1, 1, 1)), str(path))
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(ModelLoadError, match="truncated|not a PyTorch file|does not load"):
        load_module(path)


def test_one_shape_grammar():
    from edge.errors import InputError
    from edge.spec import parse_shapes

    assert parse_shapes("input:1x3x224x224,mask:1x1x8x8") == {"input": (1, 3, 224, 224), "mask": (1, 1, 8, 8)}
    assert parse_shapes(["input:1x3x8x8", "mask:2,1,3,4"]) == {"input": (1, 3, 8, 8), "mask": (2, 1, 3, 4)}
    assert parse_shapes("1x3x8x8") == {"": (1, 3, 8, 8)} and parse_shapes(None) == {}
    for bad in ("input=1x3", "x:1xAx3", "x:0x3", "x:"):
        with pytest.raises(InputError, match="bad shape"):
            parse_shapes(bad)
    with pytest.raises(InputError, match="no input name"):
        parse_shapes("1x3x8x8", require_names=True)
