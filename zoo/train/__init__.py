"""Training recipes (``zoo train RECIPE RUN ...``): each writes the layout a converted folder has.

``RECIPES`` are the recipe names, derived from the family declarations (``Family.recipe``);
``zoo.train.recipes.<name>`` holds each one (``RECIPE``, a ``zoo.train.recipe.Recipe`` subclass). The loop, resuming and export are in
``zoo.train.loop``; data in ``data`` (sampling) and ``datasets`` (the named offline sets);
several processes in ``processes`` (torchrun); cards in ``card``; quality figures in ``metrics``.
Nothing here is imported by ``import zoo``.
"""

from ..families import families

RECIPES = tuple(f.recipe for f in families() if f.recipe)
