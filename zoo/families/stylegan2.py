"""StyleGAN2 family: NVIDIA's StyleGAN2 generators (stylegan2-ada-pytorch, stylegan3's StyleGAN2), and rosinality's."""

from . import Family

FAMILY = Family(
    name="stylegan2",
    task="generate",
    title="StyleGAN2",
    archs=("stylegan2", "stylegan2_d"),
    arch_modules=("stylegan2",),
    readers=("nvidia_pickle", "stylegan2"),
    catalog="stylegan2",
    recipe="stylegan2",
    parity_runner="run_stylegan2",
)
