"""Undo camera shake (and focus blur) on the candidate region of a photo, so a code smeared over several
modules, or too soft to read, reads again.

A hand that moves while the shutter is open drags every point of the picture along a short line: the photo is
the sharp one convolved with that line (the point spread function). Knowing the line, a Wiener filter divides
it back out in the frequency domain, leaving a little noise where the line's spectrum is near zero. Both the
line's direction and its length can be read off the blurred picture itself, and only the region the code is
in is worked on (a few hundred pixels a side, some milliseconds with numpy's FFT):

- direction: a QR code has as much edge in one direction as in any other (its modules are squares), so the
  direction along which the crop has least gradient energy, the minor axis of its structure tensor, is the
  direction of the shake. A crop whose gradients are nearly isotropic was not shaken, and is left alone.
- length: the spectrum of a line of length L has zeros every 1/L along the line's direction, so the cepstrum
  (the inverse transform of the log spectrum) has its deepest trough at distance L along that direction.

A code out of focus is the sharp one convolved with a Gaussian instead (``refocus``): no direction to find,
and its width is guessed in modules by the cascade, which tries a narrower and a wider one.

The result is normalised to 0..255 and enlarged twice, which suits zxing-cpp's and zbar's samplers best.
"""

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

_Array = npt.NDArray[np.float64]
_Spectrum = npt.NDArray[np.complex128]

_ISOTROPIC = 0.6
"""Least over greatest gradient energy above which a crop is taken as not shaken."""
_SHORTEST, _LONGEST = 3.0, 40.0
"""Shake lengths searched, in pixels of the crop: shorter is plain blur, longer leaves nothing to recover."""
_WORTH_UNDOING = 6.0
"""Shorter smears (about a module at the cascade's scale) are left to the cheaper looks, which read them."""
_FOCUS_SIGMA = 1.0
"""The focus blur assumed on top of the shake, in pixels; a little regularises the filter's ringing."""
_NOISE_TO_SIGNAL = 0.003
_TAPER = 16
"""Pixels over which the crop fades to its mean at the borders, so the FFT sees no edge where it wraps."""


@dataclass(frozen=True)
class Shake:
    """A straight shake: ``angle`` in radians in image coordinates (y down), ``length`` in pixels."""

    angle: float
    length: float


def _fast_size(n: int) -> int:
    """The least 2^a 3^b 5^c not below ``n``: sizes FFTs are quick at."""
    best = 1 << max(0, (n - 1).bit_length())
    for five in (1, 5, 25):
        for three in (1, 3, 9, 27):
            base = five * three
            while base < n:
                base *= 2
            best = min(best, base)
    return best


def _tapered(pixels: _Array) -> _Array:
    centred = pixels - pixels.mean()
    height, width = centred.shape
    fade = np.hanning(2 * _TAPER)
    rows, cols = np.ones(height), np.ones(width)
    if height > 2 * _TAPER and width > 2 * _TAPER:
        rows[:_TAPER], rows[-_TAPER:] = fade[:_TAPER], fade[_TAPER:]
        cols[:_TAPER], cols[-_TAPER:] = fade[:_TAPER], fade[_TAPER:]
    tapered: _Array = centred * np.outer(rows, cols)
    return tapered


def _shake_direction(pixels: _Array) -> tuple[float, float]:
    """The direction of least gradient energy, and least over greatest energy (1: no preferred direction)."""
    gy, gx = np.gradient(pixels)
    xx, xy, yy = float((gx * gx).sum()), float((gx * gy).sum()), float((gy * gy).sum())
    mean, spread = (xx + yy) / 2, math.hypot((xx - yy) / 2, xy)
    if mean <= 0:
        return 0.0, 1.0
    strongest = 0.5 * math.atan2(2 * xy, xx - yy)
    return strongest + math.pi / 2, (mean - spread) / (mean + spread)


def _shake_length(spectrum_log: _Array, shape: tuple[int, int], angle: float) -> float:
    """Where along ``angle`` the cepstrum has its deepest trough."""
    cepstrum = np.fft.irfft2(spectrum_log, s=shape)
    distances = np.arange(_SHORTEST, _LONGEST, 0.5)
    xs = np.rint(distances * math.cos(angle)).astype(int)
    ys = np.rint(distances * math.sin(angle)).astype(int)
    along = cepstrum[ys % cepstrum.shape[0], xs % cepstrum.shape[1]]
    return float(distances[int(np.argmin(along))])


def _line_spread(shake: Shake, shape: tuple[int, int]) -> _Array:
    """The shake's line, blurred by the assumed focus blur, as a kernel centred on (0, 0) of an FFT grid."""
    kernel = np.zeros(shape)
    steps = max(2, int(shake.length * 4))
    for t in np.linspace(-shake.length / 2, shake.length / 2, steps):
        x, y = t * math.cos(shake.angle), t * math.sin(shake.angle)
        x0, y0 = math.floor(x), math.floor(y)
        fx, fy = x - x0, y - y0
        for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy),
                               (1, 1, fx * fy)):
            kernel[(y0 + dy) % shape[0], (x0 + dx) % shape[1]] += weight
    kernel /= kernel.sum()
    return kernel


def _gaussian_spectrum(shape: tuple[int, int], sigma: float) -> _Array:
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    spectrum: _Array = np.exp(-2 * (math.pi * sigma) ** 2 * (fx * fx + fy * fy))
    return spectrum


def _analysed(pixels: _Array) -> tuple[_Spectrum, tuple[int, int], Shake] | None:
    """The crop's spectrum on a fast FFT grid (and the grid's shape), and its shake; None when it does not
    look shaken."""
    angle, isotropy = _shake_direction(pixels)
    if isotropy > _ISOTROPIC:
        return None
    shape = (_fast_size(pixels.shape[0]), _fast_size(pixels.shape[1]))
    spectrum = np.fft.rfft2(_tapered(pixels), s=shape)
    return spectrum, shape, Shake(angle, _shake_length(np.log(np.abs(spectrum) + 1e-3), shape, angle))


def estimate_shake(image: Image.Image) -> Shake | None:
    """The straight shake that smeared ``image`` (grayscale), or None when it does not look shaken."""
    analysed = _analysed(np.asarray(image, dtype=np.float64))
    return analysed[2] if analysed is not None else None


def deshake(image: Image.Image) -> Image.Image | None:
    """``image`` (grayscale) with its estimated shake divided out, stretched to 0..255 and enlarged twice;
    None when it does not look shaken, or too little to need this."""
    pixels = np.asarray(image, dtype=np.float64)
    analysed = _analysed(pixels)
    if analysed is None:
        return None
    spectrum, shape, shake = analysed
    if shake.length < _WORTH_UNDOING:
        return None
    blur = np.fft.rfft2(_line_spread(shake, shape)) * _gaussian_spectrum(shape, _FOCUS_SIGMA)
    return _divided_out(pixels.shape, spectrum, shape, blur, _NOISE_TO_SIGNAL)


def focus_blur(image: Image.Image) -> float:
    """How soft ``image``'s sharpest edges are, as the sigma in pixels of a Gaussian blur that would make a
    step from dark to light as steep as they are: the contrast over the steepest gradients (a Gaussian's edge
    has slope contrast / (sigma * sqrt(2 pi)) at its steepest). A sharp code's edges span a pixel or so."""
    pixels = np.asarray(image, dtype=np.float64)
    gy, gx = np.gradient(pixels)
    low, high = np.percentile(pixels, (2, 98))
    steepest = float(np.percentile(np.hypot(gx, gy), 99.5))
    return float(high - low) / (math.sqrt(2 * math.pi) * steepest) if steepest > 0 else math.inf


def refocus(image: Image.Image, sigma: float, noise_to_signal: float) -> Image.Image:
    """``image`` (grayscale) with a focus blur of ``sigma`` pixels (a Gaussian) divided out by a Wiener filter,
    stretched to 0..255 and enlarged twice. For a code too soft for a sharpening to read: a Gaussian's spectrum
    falls off smoothly, so a fair guess of its width, in modules, restores the modules' edges."""
    pixels = np.asarray(image, dtype=np.float64)
    shape = (_fast_size(pixels.shape[0]), _fast_size(pixels.shape[1]))
    spectrum = np.fft.rfft2(_tapered(pixels), s=shape)
    return _divided_out(pixels.shape, spectrum, shape, _gaussian_spectrum(shape, sigma), noise_to_signal)


def _divided_out(size: tuple[int, ...], spectrum: _Spectrum, shape: tuple[int, int], blur: _Spectrum | _Array,
                 noise_to_signal: float) -> Image.Image:
    """The Wiener filter of ``blur`` applied to ``spectrum``, cut back to ``size``, stretched and enlarged."""
    restored = np.fft.irfft2(spectrum * np.conj(blur) / (np.abs(blur) ** 2 + noise_to_signal), s=shape)
    restored = restored[: size[0], : size[1]]
    low, high = np.percentile(restored, (1, 99))
    scaled = np.clip((restored - low) * (255 / max(high - low, 1e-6)), 0, 255).astype(np.uint8)
    sharp = Image.fromarray(scaled)
    return sharp.resize((sharp.width * 2, sharp.height * 2), Image.Resampling.BICUBIC)
