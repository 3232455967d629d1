"""Training recipes (``zoo train RECIPE RUN ...``): each writes the layout a converted folder has.

``RECIPES`` is the one list of recipe names; ``zoo.train.recipes.<name>`` holds each one
(``RECIPE``, a ``zoo.train.recipe.Recipe`` subclass). The loop, resuming and export are in
``zoo.train.loop``; data in ``data`` (sampling) and ``datasets`` (the named offline sets);
several processes in ``processes`` (torchrun); cards in ``card``; quality figures in ``metrics``.
Nothing here is imported by ``import zoo``.
"""

RECIPES = ("pix2pix", "cyclegan", "stylegan2", "deepfill", "esrgan")
