"""Tools that use a trained model: test, predict (and its inference core), export, benchmark,
report (with overlays) and the quick-start that chains training and these tools.

They may import ``fdep.training`` (configs, checkpoint loading); training never imports them.
Submodules are imported on demand so that importing the package stays cheap.
"""
