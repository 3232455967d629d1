"""pix2pix family: junyanz's U-Net generators and PatchGAN discriminators, and HugGAN's."""

from . import Family

FAMILY = Family(
    name="pix2pix",
    task="translate",
    title="pix2pix",
    archs=("unet", "nlayer_d", "pixel_d", "huggan_unet", "huggan_pix2pix_d"),
    arch_modules=("pix2pix", "huggan"),
    readers=("pix2pix", "huggan"),
    catalog="pix2pix",
    recipe="pix2pix",
    parity_runner="run_junyanz",
    task_defaults={"test_mode": "official"},  # upstream test.py: BatchNorm with the image's statistics
)
