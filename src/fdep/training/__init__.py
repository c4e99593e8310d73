"""The training engine: config, model building, data module, LightningModule, checkpoints, train.

Everything that uses a trained model lives in ``fdep.tools``; this package never imports it.
Submodules are imported on demand (``fdep.training.train``, ``fdep.training.checkpoint`` ...) so
that importing the package stays cheap.
"""
