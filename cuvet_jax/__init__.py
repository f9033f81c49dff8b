"""cuvet_jax: cost-aware treatment assignment from randomized experiments, in JAX."""
