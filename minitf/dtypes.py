"""dtype objects with PyTorch's names (``mt.float32``, ``mt.int64``, ``mt.bool``...).

They are NumPy dtypes, so ``x.dtype == mt.float32`` holds and every function that takes
a dtype (a name such as ``"float32"``, a NumPy dtype or one of these) accepts them.
"""
import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int32 = int = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)
