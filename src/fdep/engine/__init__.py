"""The training and inference engine: the only package that knows about Lightning.

Submodules are imported on demand (``fdep.engine.inference``, ``fdep.engine.report`` ...)
so that importing one tool does not pull in the whole training stack.
"""
