"""The exporters and tolerances of ``fdep export``, apart from :mod:`fdep.tools.export` so that the CLI's
parser can show them without importing torch (``fdep export --help`` stays fast)."""

EXPORTERS = ("auto", "dynamo", "legacy")
DEFAULT_OPSET = 18
#: max abs difference between exported and PyTorch logits that is accepted
DEFAULT_ATOL = 1e-3
DEFAULT_RTOL = 1e-3
