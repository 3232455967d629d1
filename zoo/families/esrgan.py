"""ESRGAN family: ESRGAN and Real-ESRGAN super-resolution (RRDBNet, SRVGGNetCompact)."""

from . import Family

FAMILY = Family(
    name="esrgan",
    task="upscale",
    title="ESRGAN / Real-ESRGAN",
    archs=("rrdbnet", "srvgg"),
    arch_modules=("esrgan",),
    readers=("ncnn", "esrgan"),
    catalog="esrgan",
    recipe="esrgan",
    parity_runner="run_esrgan",
)
