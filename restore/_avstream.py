"""Setting AVStream.sample_aspect_ratio, which PyAV does not expose.

FFmpeg's Matroska muxer writes the display size (the pixel aspect ratio) from
``AVStream.sample_aspect_ratio``, not from the codec parameters, and PyAV offers
no way to set that field (PyAV issues #764 and #1001). Without it, an anamorphic
film's master would play squeezed. This module writes the field through ctypes,
and checks the layout it relies on before every write: if PyAV or FFmpeg change
shape, it refuses (returns False) rather than write to the wrong place.

Layouts relied on (checked at run time against values PyAV does expose):
- Cython object ``av.stream.Stream``: PyObject_HEAD, the vtable pointer, then ``AVStream *ptr``;
- ``AVStream`` (libavformat 60-62): av_class, index, id, codecpar, priv_data, time_base,
  start_time, duration, nb_frames, disposition, discard, sample_aspect_ratio.
"""

from __future__ import annotations

import ctypes
import logging
from fractions import Fraction

log = logging.getLogger(__name__)


class _Rational(ctypes.Structure):
    _fields_ = [("num", ctypes.c_int), ("den", ctypes.c_int)]


class _AVStreamHead(ctypes.Structure):
    _fields_ = [
        ("av_class", ctypes.c_void_p),
        ("index", ctypes.c_int),
        ("id", ctypes.c_int),
        ("codecpar", ctypes.c_void_p),
        ("priv_data", ctypes.c_void_p),
        ("time_base", _Rational),
        ("start_time", ctypes.c_int64),
        ("duration", ctypes.c_int64),
        ("nb_frames", ctypes.c_int64),
        ("disposition", ctypes.c_int),
        ("discard", ctypes.c_int),
        ("sample_aspect_ratio", _Rational),
    ]


_PTR_OFFSET = 3 * ctypes.sizeof(ctypes.c_void_p)  # refcount, type, Cython vtable


def _head(stream) -> _AVStreamHead | None:
    address = ctypes.c_void_p.from_address(id(stream) + _PTR_OFFSET).value
    if not address:
        return None
    head = _AVStreamHead.from_address(address)
    expected = Fraction(stream.time_base) if stream.time_base else None
    tb = head.time_base
    if head.index != stream.index or tb.den <= 0 or expected != Fraction(tb.num, tb.den):
        return None
    return head


def set_sample_aspect_ratio(stream, sar: Fraction) -> bool:
    """Set the muxer-visible SAR of an output stream; False if the layout check fails."""
    if stream.time_base is None:
        return False
    head = _head(stream)
    if head is None:
        log.warning("cannot record the pixel aspect ratio in the master: unexpected PyAV layout")
        return False
    head.sample_aspect_ratio = _Rational(sar.numerator, sar.denominator)
    return True
