"""Two CPU processes through torchrun (gloo): replicas stay equal and match one process's run.

pix2pix with instance norm and no dropout, so nothing depends on how the batch is split (BatchNorm
in training mode normalises over each process's own slice; see zoo/train/processes.py).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from zoo.train import loop

from test_train import smooth_images

ARGS = ["--steps", "4", "--batch", "4", "--set", "paired=gray", "--set", "input_nc=1", "--set", "ngf=8", "--set", "num_downs=5",
        "--set", "ndf=8", "--set", "size=32", "--set", "norm=instance", "--set", "use_dropout=false", "--set", "save_every=2",
        "--set", "sample_every=0", "--set", "lr=0.001", "--quiet"]


@pytest.mark.slow
def test_two_processes_equal_one(tmp_path):
    data = smooth_images(tmp_path / "data")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, "-m", "zoo", "train", "pix2pix", str(tmp_path / "one"), "--data", str(data), *ARGS],
                         capture_output=True, text=True, timeout=300, env=env)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "zoo", "train", "pix2pix", str(tmp_path / "two"), "--data", str(data), *ARGS],
                         capture_output=True, text=True, timeout=300, env=env)
    # the loop compares every parameter of both replicas (exactly) at each save and at the end
    assert two.returncode == 0, two.stderr[-2000:]
    a = torch.load(tmp_path / "one" / loop.CHECKPOINT, weights_only=True)
    b = torch.load(tmp_path / "two" / loop.CHECKPOINT, weights_only=True)
    assert a["step"] == b["step"] == 4
    # Compare what the networks compute: a conv bias followed by InstanceNorm has a zero gradient in
    # exact arithmetic, so Adam turns its rounding noise into steps of full size that differ between
    # the runs and change no output.
    options = loop.options_for("pix2pix", data=str(data), paired="gray", input_nc=1, ngf=8, num_downs=5, ndf=8, size=32,
                               norm="instance", use_dropout=False)
    x = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    xd = torch.randn(2, 4, 32, 32, generator=torch.Generator().manual_seed(1))
    outputs = {}
    for run, state in (("one", a), ("two", b), ("initial", None)):
        nets = loop.recipe_class("pix2pix")(options).nets
        if state is not None:
            for k, net in nets.items():
                net.load_state_dict(state["nets"][k])
        with torch.no_grad():
            outputs[run] = (nets["G"].eval()(x), nets["D"].eval()(xd))
    for i in range(2):
        assert torch.allclose(outputs["one"][i], outputs["two"][i], atol=1e-4), (outputs["one"][i] - outputs["two"][i]).abs().max()
        assert (outputs["one"][i] - outputs["initial"][i]).abs().max() > 1e-2  # both runs trained
    assert (tmp_path / "two" / "model" / "model.safetensors").is_file()
