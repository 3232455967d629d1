"""ncnn's own CPU inference of a packaged .param/.bin pair: the reference our converted networks
are compared with (tests/test_ncnn.py, tests/test_realsr.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def run_ncnn(param: Path, bin_: Path, chw: np.ndarray) -> np.ndarray:
    """ncnn's output for a CHW float32 input, computed on the CPU in fp32."""
    import ncnn

    net = ncnn.Net()
    opt = net.opt
    opt.use_vulkan_compute = False
    opt.use_fp16_storage = opt.use_fp16_arithmetic = opt.use_fp16_packed = False
    opt.use_bf16_storage = False
    opt.num_threads = 2
    assert net.load_param(str(param)) == 0 and net.load_model(str(bin_)) == 0
    data = np.ascontiguousarray(chw, dtype=np.float32)  # ncnn.Mat wraps this buffer: keep it alive
    ex = net.create_extractor()
    ex.input("data", ncnn.Mat(data))
    ret, out = ex.extract("output")
    assert ret == 0
    result = np.array(out, dtype=np.float32, copy=True)
    del out, ex  # the extractor must go before the net
    return result
