"""Paper-style experiments of cuvet_jax: one module per dataset, run as `python -m experiments.<name>`."""
