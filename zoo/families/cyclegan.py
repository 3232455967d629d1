"""CycleGAN family: junyanz's ResNet generators, and HugGAN's."""

from . import Family

FAMILY = Family(
    name="cyclegan",
    task="translate",
    title="CycleGAN",
    archs=("resnet", "huggan_resnet", "huggan_cyclegan_d"),
    arch_modules=("cyclegan", "huggan"),
    readers=("pix2pix", "huggan"),
    catalog="cyclegan",
    recipe="cyclegan",
    parity_runner="run_junyanz",
    task_defaults={"test_mode": "eval"},  # InstanceNorm: the same in both modes
)
