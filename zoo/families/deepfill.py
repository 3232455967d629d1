"""DeepFill v2 family: gated-convolution inpainting with contextual attention (nipponjo's PyTorch port of the official weights)."""

from . import Family

FAMILY = Family(
    name="deepfill",
    task="inpaint",
    title="DeepFill v2",
    archs=("deepfillv2", "deepfillv2_d"),
    arch_modules=("deepfill",),
    readers=("deepfill",),
    catalog="deepfill",
    recipe="deepfill",
    parity_runner="run_deepfill",
)
