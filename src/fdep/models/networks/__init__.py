"""The learned networks of the zoo, one module per network; each registers itself on import."""
