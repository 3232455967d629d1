"""Perceptual family: learned image distances; its one network is LPIPS-VGG, which StyleGAN2
projection uses (the distance named "lpips")."""

from . import Family

FAMILY = Family(
    name="perceptual",
    task="measure",
    title="Perceptual distances",
    archs=("lpips_vgg16",),
    arch_modules=("lpips",),
    readers=("lpips",),
    catalog="lpips",
    parity_runner="",  # no official fixtures: tests/test_lpips.py compares with the lpips package live
    front_end=False,
)
