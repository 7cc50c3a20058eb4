"""The hot loop: run a block of G-code lines through a `MotionModel` at C speed where possible.

Why this shape: on our 2-core machines `float(str)` alone costs ~0.4 µs, and a typical file
has ~3 numbers per line, so a per-line `split()`/`float()` parser cannot reach 1M lines in
2 s. Instead each block is rewritten with bytes methods that run in C and decoded in one
call by msgspec's JSON decoder:

    b"G1 X10.5 Y.2 E-.05\n;TYPE:Wall\nM204 S800\n"
      comments removed     -> b"G1 X10.5 Y.2 E-.05\n\nM204 S800\n"
      letters -> ","       -> b"[0,1 ,10.5 ,.2 ,-.05\n\n,204 ,800\n]" (+ ".5" -> "0.5" fixes)
      JSON decode          -> [0.0, 1.0, 10.5, 0.2, -0.05, 204.0, 800.0]   (all numbers)
      letters only         -> [b"GXYE", b"", b"MS"]                         (one per line)

The Python loop then walks the lines' letter strings ("signatures") and takes each line's
numbers from the flat list. A valid JSON array here means every letter had exactly one
number, so numbers and letters line up. Anything the rewrite cannot express (free text,
quotes, `*` checksums, `(…)` comments, lowercase, `+5`, `1.`, a bare letter) sends that line
through `MotionModel.feed_line`, the general parser, which gives the same result: lines with
such bytes are cut out by a regex; other odd lines are found by halving the part that fails
to decode.
"""

from __future__ import annotations

import math
import re

import msgspec

from shared.gcode.motion import MotionModel

_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TO_COMMA = bytes.maketrans(_UPPER, b"," * len(_UPPER))
_SAFE = _UPPER + b"0123456789.- \t\r\n"
_NOT_UPPER_OR_NL = bytes(b for b in range(256) if b not in _UPPER + b"\n")
_COMMENT = re.compile(rb";[^\n]*")
# A line holding any byte outside _SAFE: it goes to the general parser on its own.
_UNSAFE_LINE = re.compile(rb"^[A-Z0-9.\- \t\r]*[^A-Z0-9.\- \t\r\n][^\n]*", re.MULTILINE)
_NUMBERS = msgspec.json.Decoder(list[float])
_LAYER_EPS_MM = 1e-4
# Below this size a part that fails to decode goes line by line through the general parser.
_SMALL_BYTES = 2048

_G, _X, _Y, _Z, _E, _F = (ord(c) for c in "GXYZEF")
# (kind, word count, index of X, Y, Z, E, F or 0); kind 0 = blank, 1 = G-word with only
# X/Y/Z/E/F (once each), 2 = anything else.
_Spec = tuple[int, int, int, int, int, int, int]
_BLANK: _Spec = (0, 0, 0, 0, 0, 0, 0)


def feed_block(model: MotionModel, block: bytes) -> None:
    """Feed complete lines (`block` ends at a line end or at the end of the file)."""
    code = _COMMENT.sub(b"", block) if b";" in block else block
    if code.translate(None, _SAFE):
        start = 0
        for match in _UNSAFE_LINE.finditer(code):
            _feed_safe(model, code[start : match.start()])
            model.feed_line(match.group().decode("utf-8", "replace"))
            start = match.end()
        _feed_safe(model, code[start:])
    else:
        _feed_safe(model, code)
    model.check_finite()


def _feed_safe(model: MotionModel, code: bytes) -> None:
    if not code:
        return
    numbers = b"[0" + code.translate(_TO_COMMA) + b"]"
    numbers = numbers.replace(b",.", b",0.").replace(b",-.", b",-0.")
    try:
        flat = _NUMBERS.decode(numbers)
    except msgspec.DecodeError:
        _bisect(model, code)
        return
    letters = code.translate(None, _NOT_UPPER_OR_NL)
    if len(flat) - 1 != len(letters) - letters.count(b"\n"):  # cannot happen; be sure
        _bisect(model, code)
        return
    _run(model, letters.split(b"\n"), flat)


def _bisect(model: MotionModel, code: bytes) -> None:
    """Some line here has no JSON form ("G28 W", "G01", "X1."): halve the lines until the
    part is small, so one odd line costs a few re-tries, not a whole block on the slow path."""
    middle = code.find(b"\n", len(code) // 2) + 1
    if len(code) <= _SMALL_BYTES or not 0 < middle < len(code):
        model.feed_lines(code.decode("ascii").split("\n"))
        return
    _feed_safe(model, code[:middle])
    _feed_safe(model, code[middle:])


def _spec(signature: bytes) -> _Spec:
    if not signature:
        return _BLANK
    n = len(signature)
    rest = signature[1:]
    if signature[0] != _G or len(set(rest)) != len(rest) or set(rest) - set(b"XYZEF"):
        return (2, n, 0, 0, 0, 0, 0)
    index = {letter: k for k, letter in enumerate(signature)}
    return (1, n, index.get(_X, 0), index.get(_Y, 0), index.get(_Z, 0), index.get(_E, 0),
            index.get(_F, 0))  # fmt: skip


def _run(model: MotionModel, signatures: list[bytes], flat: list[float]) -> None:  # noqa: PLR0915
    specs: dict[bytes, _Spec] = {}
    sqrt = math.sqrt
    x, y, z, e = model.x_mm, model.y_mm, model.z_mm, model.e_mm
    feed, time_s, extruded = model.feed_mm_s, model.time_s, model.extruded_mm
    motion, layer_z = model.motion_lines, model.layer_z_mm
    fast, e_rel = model.fast_moves, model.e_relative
    layer_next = layer_z + _LAYER_EPS_MM
    pos = 1
    for signature in signatures:
        # The shape of nearly every line of a print ("G1 X.. Y.. E..") gets its own path.
        if signature == b"GXYE" and fast and (flat[pos] == 1.0 or flat[pos] == 0.0):
            nx = flat[pos + 1]
            ny = flat[pos + 2]
            value = flat[pos + 3]
            pos += 4
            motion += 1
            dx = nx - x
            dy = ny - y
            length = sqrt(dx * dx + dy * dy)
            if e_rel:
                de = value
                e += value
            else:
                de = value - e
                e = value
            if de:
                extruded += de
                if length == 0.0:
                    length = abs(de)
                elif de > 0.0 and z > layer_next:
                    layer_z = z
                    layer_next = z + _LAYER_EPS_MM
                    model.new_layer()
            time_s += length / feed
            x = nx
            y = ny
            continue
        try:
            spec = specs[signature]
        except KeyError:
            spec = specs[signature] = _spec(signature)
        kind, n, ix, iy, iz, ie, i_f = spec
        if kind == 1 and fast and (flat[pos] == 1.0 or flat[pos] == 0.0):
            motion += 1
            nx = flat[pos + ix] if ix else x
            ny = flat[pos + iy] if iy else y
            nz = flat[pos + iz] if iz else z
            if i_f:
                value = flat[pos + i_f]
                if value > 0.0:
                    feed = value / 60.0
            dx = nx - x
            dy = ny - y
            dz = nz - z
            length = sqrt(dx * dx + dy * dy + dz * dz)
            if ie:
                value = flat[pos + ie]
                if e_rel:
                    de = value
                    e += value
                else:
                    de = value - e
                    e = value
                if de:
                    extruded += de
                    if length == 0.0:
                        length = abs(de)
                    elif de > 0.0 and nz > layer_next and (dx or dy):
                        layer_z = nz
                        layer_next = nz + _LAYER_EPS_MM
                        model.new_layer()
            time_s += length / feed
            x, y, z = nx, ny, nz
        elif kind:
            # Not a plain move: hand the words to the general path with the state synced.
            model.x_mm, model.y_mm, model.z_mm, model.e_mm = x, y, z, e
            model.feed_mm_s, model.time_s, model.extruded_mm = feed, time_s, extruded
            model.motion_lines, model.layer_z_mm = motion, layer_z
            model.feed_words([(chr(signature[k]), flat[pos + k]) for k in range(n)])
            x, y, z, e = model.x_mm, model.y_mm, model.z_mm, model.e_mm
            feed, time_s, extruded = model.feed_mm_s, model.time_s, model.extruded_mm
            motion, layer_z = model.motion_lines, model.layer_z_mm
            layer_next = layer_z + _LAYER_EPS_MM
            fast, e_rel = model.fast_moves, model.e_relative
        pos += n
    model.x_mm, model.y_mm, model.z_mm, model.e_mm = x, y, z, e
    model.feed_mm_s, model.time_s, model.extruded_mm = feed, time_s, extruded
    model.motion_lines, model.layer_z_mm = motion, layer_z
