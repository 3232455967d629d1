"""One module per training recipe, named as in ``zoo.train.RECIPES``, each with ``RECIPE``."""
