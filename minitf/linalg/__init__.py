"""``mt.linalg``: torch.linalg's everyday functions, batched over leading dims ``(..., m, n)``
and differentiable by their closed-form gradients, by concept:

* :mod:`.inverse`: inv, det, slogdet, solve, solve_triangular, matrix_power, pinv, lstsq;
* :mod:`.decompositions`: cholesky, qr, eigh, eigvalsh, svd, svdvals;
* :mod:`.eig`: eig, eigvals (general square matrices; complex results);
* :mod:`.ldl`: ldl_factor(_ex), ldl_solve (Bunch-Kaufman, LAPACK sytrf's layout);
* :mod:`.norms`: vector_norm, matrix_norm, norm, matrix_rank;
* :mod:`.products`: cross, vecdot, multi_dot, diagonal;
* :mod:`.matrix_exp`, :mod:`.lu`, :mod:`.extras` (special functions and linalg gaps): matrix_exp,
  lu_factor(_ex), lu, lu_unpack, lu_solve, inv_ex, solve_ex, cholesky_ex, cond, tensorinv,
  tensorsolve, vander, householder_product;
* :mod:`.householder`: torch's top-level geqrf, orgqr, ormqr (minitf.geqrf ...).

Kernels are ``xp.linalg``'s through :func:`minitf.backend.linalg_op`; a singular or
non-positive-definite matrix raises :class:`minitf.errors.LinAlgError` with torch's message.
"""
from .inverse import det, inv, lstsq, matrix_power, pinv, slogdet, solve, solve_triangular  # noqa: F401
from .decompositions import cholesky, eigh, eigvalsh, qr, svd, svdvals  # noqa: F401
from .eig import eig, eigvals  # noqa: F401
from .ldl import ldl_factor, ldl_factor_ex, ldl_solve  # noqa: F401
from .norms import matrix_norm, matrix_rank, norm, vector_norm  # noqa: F401
from .products import cross, diagonal, multi_dot, vecdot  # noqa: F401
# special functions and linalg gaps
from .matrix_exp import matrix_exp  # noqa: F401
from .lu import lu, lu_factor, lu_factor_ex, lu_solve, lu_unpack  # noqa: F401
from ..functional import matmul as _matmul
from ..out_arguments import with_out as _with_out
matmul = _with_out(_matmul, "matmul")   # torch.linalg.matmul: torch.matmul (out= included) under linalg's name
from .extras import cholesky_ex, cond, householder_product, inv_ex, solve_ex, tensorinv, tensorsolve, vander  # noqa: F401
from ..errors import LinAlgError  # noqa: F401  (torch.linalg.LinAlgError)
