"""The training engine: Lightning module and data module, config, checkpoints, test/predict/export/report.

Submodules are imported on demand (``fdep.engine.train``, ``fdep.engine.checkpoint`` ...) so that
importing the package stays cheap.
"""
