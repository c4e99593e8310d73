"""NIPPS: non-negative infrared patch-image model via partial sum minimisation of singular values.

Y. Dai, Y. Wu, Y. Song, J. Guo, Infrared Physics & Technology 81 (2017) 182-194.
The image becomes a patch-image D (one column per P x P patch, patches every
``step`` pixels plus one flush with the bottom/right edge), split as
D = B + T by

    min ||B||_{p=N} + lambda ||T||_1   s.t.  D = B + T,  T >= 0,

where ||B||_{p=N} is the sum of B's singular values beyond the N largest
(partial sum: the N leading components are not shrunk). The solver is the
inexact augmented Lagrange multiplier method of the authors' MATLAB code
(``nipps.m`` in github.com/YimianDai/DENTIST): per iteration

    T = max(D - B + Y/mu - lambda/mu, 0)
    B = partial singular value thresholding of D - T + Y/mu at 1/mu (N values kept)
    Y = Y + mu (D - B - T);  mu = min(rho mu, 1e7 mu_0)

with Y_0 = D / max(||D||_2, max|D| / lambda), mu_0 = 1.25 / ||D||_2,
rho = 1.5, stopping at ||D - B - T||_F / ||D||_F < 1e-7 (at most 1000
iterations). The target image averages the overlapping patches of T.

Defaults are the authors' code (``demo_generate_nipps_data.m``): P = 50,
step = 10, lambda = 2 / sqrt(min(m, n)), N = the number of singular values of D
that are at least 0.005 x the largest (at least 1).

Vectorised: patches are gathered and scattered back with index tensors (no
loop over patches); we store D transposed (one row per patch), which changes
nothing (singular values and thresholding are invariant to transposition and
to the order of patches and pixels). The partial thresholding needs no full SVD: with
M M^T = U S^2 U^T for the (patches x pixels) matrix M = U S V^T,
``B = U diag(g) U^T M`` where g = 1 for the N largest singular values and
max(1 - tau/s, 0) for the others -- one Gram matrix, one symmetric eigen-
decomposition of the small side (n patches or P^2 pixels) and two products per
iteration, in float64. Images smaller than the patch use a patch of
min(H, W) pixels.
"""

from __future__ import annotations

import math

import torch

from ...errors import ModelError
from ..registry import register_model
from .base import ClassicalMethod


def patch_positions(size: int, patch: int, step: int) -> torch.Tensor:
    """Top (or left) coordinates of the patches along one axis: 0, step, ... and one flush with the end."""
    count = math.ceil((size - patch) / step) + 1
    pos = list(range(0, (count - 1) * step, step)) + [size - patch]
    return torch.tensor(pos, dtype=torch.long)


def patch_index(h: int, w: int, patch: int, step: int) -> torch.Tensor:
    """n_patches x patch^2 flat pixel indices of every patch (patch pixels in row-major order)."""
    rows, cols = patch_positions(h, patch, step), patch_positions(w, patch, step)
    offs = torch.arange(patch)
    r = (rows[:, None] + offs)[:, None, :, None]  # R x 1 x P x 1
    c = (cols[:, None] + offs)[None, :, None, :]  # 1 x C x 1 x P
    return (r * w + c).reshape(len(rows) * len(cols), patch * patch)


def patch_image(image: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The patch-image of an H x W image as an n_patches x P^2 matrix (rows = patches)."""
    return image.reshape(-1)[index]


def image_from_patches(patches: torch.Tensor, index: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Average of the overlapping patch values at each pixel (every pixel is covered at least once)."""
    flat = index.reshape(-1)
    total = torch.zeros(shape[0] * shape[1], dtype=patches.dtype).index_add_(0, flat, patches.reshape(-1))
    count = torch.zeros_like(total).index_add_(0, flat, torch.ones_like(patches.reshape(-1)))
    return (total / count).reshape(shape)


def leading_count(singular_values: torch.Tensor, ratio: float) -> int:
    """N: how many singular values (sorted descending) are >= ratio x the largest, at least 1."""
    if singular_values.numel() == 0 or float(singular_values[0]) <= 0:
        return 1
    return max(1, int((singular_values / singular_values[0] >= ratio).sum()))


def _gram(m: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """The smaller Gram matrix: (M M^T, True) when M has no more rows than columns, else (M^T M, False)."""
    wide = m.shape[0] <= m.shape[1]
    return (m @ m.T if wide else m.T @ m), wide


def singular_values(m: torch.Tensor) -> torch.Tensor:
    """Singular values, descending, from the eigenvalues of the smaller Gram matrix (accurate to ~1e-8 s_1)."""
    gram, _ = _gram(m)
    return torch.linalg.eigvalsh(gram).clamp(min=0).sqrt().flip(0)


def partial_svt(m: torch.Tensor, keep: int, tau: float) -> torch.Tensor:
    """M's SVD with the ``keep`` largest singular values kept and the rest soft-thresholded by ``tau``.

    With M M^T = U S^2 U^T, the result is U diag(g) U^T M, g = 1 for the ``keep`` largest singular
    values and max(1 - tau / s, 0) for the others (the side M^T M is used when it is smaller). When
    few g are non-zero (the early iterations, tau large), the product goes through those columns only.
    """
    gram, wide = _gram(m)
    evals, evecs = torch.linalg.eigh(gram)  # ascending
    s = evals.clamp(min=0).sqrt().flip(0)
    evecs = evecs.flip(1)
    g = torch.where(s > tau, 1 - tau / torch.where(s > 0, s, torch.ones_like(s)), torch.zeros_like(s))
    g[:keep] = 1.0
    k = int((g > 0).sum())  # g is non-increasing: its non-zero entries come first
    u = evecs[:, :k]
    if 3 * k < len(g):  # low rank: (U_k g) (U_k^T M)
        return (u * g[:k]) @ (u.T @ m) if wide else (m @ u) @ (u * g[:k]).T
    proj = (u * g[:k]) @ u.T
    return proj @ m if wide else m @ proj


def nipps_separate(d: torch.Tensor, lam: float, keep: int, tol: float = 1e-7, max_iter: int = 1000,
                   rho: float = 1.5, mu_scale: float = 1.25, norm_two: float | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Solve D = B + T (T >= 0) by the authors' inexact ALM; returns (B, T, iterations).

    ``norm_two``: D's largest singular value, when the caller already has it.
    """
    if norm_two is None:
        norm_two = float(torch.linalg.matrix_norm(d, ord=2)) if d.numel() else 0.0
    if norm_two == 0.0:
        return torch.zeros_like(d), torch.zeros_like(d), 0
    y = d / max(norm_two, float(d.abs().max()) / lam)
    b = torch.zeros_like(d)
    mu = mu_scale / norm_two
    mu_bar = mu * 1e7
    norm_d = float(torch.linalg.matrix_norm(d))
    it = 0
    while True:
        it += 1
        q = torch.add(d, y, alpha=1.0 / mu)  # D + Y/mu, shared by both updates
        t = torch.sub(q, b).sub_(lam / mu).clamp_(min=0)
        b = partial_svt(q.sub_(t), keep, 1.0 / mu)
        z = d - b
        z.sub_(t)
        y.add_(z, alpha=mu)
        mu = min(mu * rho, mu_bar)
        if float(torch.linalg.matrix_norm(z)) / norm_d < tol or it >= max_iter:
            return b, t, it


@register_model(name="nipps")
class NIPPS(ClassicalMethod):
    """NIPPS target-background separation; the response is the recovered (non-negative) target image."""

    source = "Dai et al., Infrared Phys. Technol. 2017; code: YimianDai/DENTIST (algorithms/detection/NIPPS)"
    paper_time_s = 31.047

    def __init__(self, in_chans: int = 1, patch_size: int = 50, step: int = 10, lambda_l: float = 2.0,
                 ratio_n: float = 0.005, tol: float = 1e-7, max_iter: int = 1000, rho: float = 1.5) -> None:
        super().__init__(in_chans)
        if patch_size < 1 or step < 1:
            raise ModelError(f"nipps: patch_size and step must be >= 1, got {patch_size} and {step}")
        if lambda_l <= 0 or not 0 < ratio_n < 1 or tol <= 0 or max_iter < 1 or rho <= 1:
            raise ModelError(f"nipps: need lambda_l > 0, 0 < ratio_n < 1, tol > 0, max_iter >= 1, rho > 1; got "
                             f"{lambda_l}, {ratio_n}, {tol}, {max_iter}, {rho}")
        self.patch_size, self.step = int(patch_size), int(step)
        self.lambda_l, self.ratio_n, self.tol, self.max_iter, self.rho = lambda_l, ratio_n, tol, int(max_iter), rho
        self.init_kwargs = {"patch_size": self.patch_size, "step": self.step, "lambda_l": lambda_l,
                            "ratio_n": ratio_n, "tol": tol, "max_iter": self.max_iter, "rho": rho}
        #: iterations the last image needed (for benchmarks and tests)
        self.last_iterations = 0

    def response(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape
        if h == 0 or w == 0:
            return image.clone()
        patch = min(self.patch_size, h, w)
        index = patch_index(h, w, patch, self.step)
        d = patch_image(image.to(torch.float64), index)
        sv = singular_values(d)
        keep = leading_count(sv, self.ratio_n)
        lam = self.lambda_l / math.sqrt(min(d.shape))
        _, t, self.last_iterations = nipps_separate(d, lam, keep, self.tol, self.max_iter, self.rho,
                                                    norm_two=float(sv[0]) if sv.numel() else 0.0)
        return image_from_patches(t, index, (h, w))
