"""Code shared between products, with no models: a product imports it by its absolute name,
e.g. `from transforms.common.cleaning import ct`. A change here rebuilds exactly the models
that use what changed."""
