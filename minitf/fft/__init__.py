"""torch.fft: discrete Fourier transforms with gradients (minitf/fft/transforms.py), the Hermitian
transforms, the sample frequencies and the shifts (minitf/fft/helpers.py). Imported on first use of
``mt.fft``; the kernels are the device's own (``numpy.fft``, ``cupy.fft``: minitf/backend/fft.py)."""
from .transforms import (fft, ifft, fft2, ifft2, fftn, ifftn, rfft, irfft, rfft2, irfft2,  # noqa: F401
                         rfftn, irfftn)
from .helpers import (hfft, ihfft, hfft2, hfftn, ihfft2, ihfftn,  # noqa: F401
                      fftfreq, rfftfreq, fftshift, ifftshift)

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
           "hfft", "ihfft", "hfft2", "hfftn", "ihfft2", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]
