"""A lossless WEBP (VP8L) writer for palette images, in NumPy.

Why our own: a flat card (text, shapes, logos) is at most 256 colours once `encode.cover` has
drawn it from a palette, and libwebp's lossless encoder, even at its quickest setting that
still finds the palette, spends 9-10 ms on a 1200 x 630 card: longer than Takumi's whole WEBP
render. A card is long runs of one colour, which VP8L codes as backward references to the
pixel on the left or the one above, so the whole encoder is a handful of array passes:

* the colour-indexing transform (the palette, delta-coded), with pixel bundling when there
  are at most 16 colours (2, 4 or 8 indices a byte);
* each pixel equal to its left neighbour or to the one above continues a copy from it
  (`_tokens`: the one whose run of equal pixels reaches further), any other pixel is a
  literal; a copy of one pixel that costs more than its literal is made one
  (`_single_copies_as_literals`);
* one Huffman code per alphabet (`_code_lengths`, length-limited to 15 bits), and every code
  word of the image packed into 64-bit words at once (`_pack`).

No colour cache and one prefix-code group: on the reference cards a cache made the files
larger (a palette's literals are already a small alphabet), and separate codes for tiles with
and without literals saved less than their headers cost.

The format: https://developers.google.com/speed/webp/docs/webp_lossless_bitstream_specification
The tests decode every case with libwebp (through Pillow) and compare every pixel.
"""

from __future__ import annotations

import heapq
import itertools
import struct
from typing import Any

import numpy as np

__all__ = ["encode_indexed", "ranges"]

_LITERALS = 256
_LENGTH_CODES = 24
_DISTANCE_CODES = 40
_MAX_COPY = 4096
_MAX_BITS = 15  # a code word's longest
_CODE_LENGTH_BITS = 7  # the code-length code's longest
_CODE_LENGTH_ORDER = (17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
_COLOR_INDEXING = 3

# The neighbours a copy comes from, by plane code (written as the distance value): the spec's
# distance map starts (0, 1), the pixel above, and (1, 0), the one on the left.
_UP, _LEFT = 1, 2


def _prefix_table(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.arange(size, dtype=np.int64)  # value - 1
    high = np.zeros(size, dtype=np.int64)
    big = d >= 4
    high[big] = [int(v).bit_length() - 1 for v in d[big].tolist()]
    extra = np.where(big, high - 1, 0)
    second = np.where(big, (d >> np.maximum(high - 1, 0)) & 1, 0)
    symbol = np.where(big, 2 * high + second, d)
    return symbol, extra, (1 << extra) - 1


_PREFIX = _prefix_table(_MAX_COPY)  # lengths 1-4096 and the plane codes 1-4


def _prefix(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The prefix code of each value (1-4096) as (symbol, extra bits, extra value): the
    spec's coding of LZ77 lengths and distances."""
    d = values - 1
    symbol, extra, mask = _PREFIX
    return symbol[d], extra[d], d & mask[d]


def _code_lengths(counts: list[int], limit: int) -> list[int]:
    """Huffman code lengths for symbol `counts`, none longer than `limit` (zlib's way of
    limiting: overlong leaves move up and the tree is rebalanced, then the lengths are dealt
    out again, shortest to the most frequent). Symbols never used get 0; a lone symbol 1.
    Lists, not arrays: alphabets are at most 280 symbols, and NumPy's per-call cost would be
    most of the time."""
    lengths = [0] * len(counts)
    used = [i for i, c in enumerate(counts) if c]
    if len(used) <= 1:
        for i in used:
            lengths[i] = 1
        return lengths
    # ties broken by node number (leaves first, in symbol order): the same counts give the
    # same tree everywhere
    heap = [(counts[sym], i) for i, sym in enumerate(used)]
    heapq.heapify(heap)
    parent = [0] * (2 * len(used) - 1)
    node = len(used)
    while len(heap) > 1:
        c1, a = heapq.heappop(heap)
        c2, b = heapq.heappop(heap)
        parent[a] = parent[b] = node
        heapq.heappush(heap, (c1 + c2, node))
        node += 1
    depth = [0] * (2 * len(used) - 1)
    for i in range(node - 2, -1, -1):  # a parent's number is above its children's
        depth[i] = depth[parent[i]] + 1
    for i, sym in enumerate(used):
        lengths[sym] = depth[i]
    if max(lengths) <= limit:
        return lengths
    per_length = [0] * (limit + 1)
    for sym in used:
        per_length[min(lengths[sym], limit)] += 1
    total = sum(per_length[i] << (limit - i) for i in range(1, limit + 1))
    while total > 1 << limit:  # Kraft sum too large: move a leaf down from a shorter level
        i = limit - 1
        while per_length[i] == 0:
            i -= 1
        per_length[i] -= 1
        per_length[limit] -= 1
        per_length[i + 1] += 2
        total -= 1
    order = sorted(used, key=lambda sym: (-counts[sym], sym))  # the most frequent first
    k = 0
    for length in range(1, limit + 1):
        for sym in order[k : k + per_length[length]]:
            lengths[sym] = length
        k += per_length[length]
    return lengths


_REVERSED_BYTE = [int(f"{b:08b}"[::-1], 2) for b in range(256)]


def _canonical(lengths: list[int]) -> list[int]:
    """Canonical code words for `lengths`, bit-reversed (VP8L reads bits low first)."""
    codes = [0] * len(lengths)
    code = 0
    by_length = sorted((length, sym) for sym, length in enumerate(lengths) if length)
    previous = 0
    for length, sym in by_length:
        code <<= length - previous
        previous = length
        word = (_REVERSED_BYTE[code & 255] << 8) | _REVERSED_BYTE[code >> 8]
        codes[sym] = word >> (16 - length)
        code += 1
    return codes


class _Bits:
    """Header fields, written in order: a list of (value, bits)."""

    def __init__(self) -> None:
        self.values: list[int] = []
        self.bits: list[int] = []

    def put(self, value: int, bits: int) -> None:
        self.values.append(value)
        self.bits.append(bits)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.values, dtype=np.uint64), np.array(self.bits, dtype=np.int64)


def _write_code(out: _Bits, counts: list[int]) -> tuple[list[int], list[int]]:
    """Write the prefix code for symbol `counts`; give back (codes, lengths) to write symbols
    with. A code of one symbol below 256 (or of none) is a simple code of zero-bit words."""
    used = [i for i, c in enumerate(counts) if c]
    if len(used) <= 1 and (not used or used[0] < 256):
        symbol = used[0] if used else 0
        out.put(1, 1)  # simple code
        out.put(0, 1)  # of one symbol
        if symbol < 2:
            out.put(0, 1)
            out.put(symbol, 1)
        else:
            out.put(1, 1)
            out.put(symbol, 8)
        zeros = [0] * len(counts)
        return zeros, zeros
    if len(used) == 1:  # a lone length code: a normal code needs two symbols
        counts = [*counts]
        counts[0] = 1
    lengths = _code_lengths(counts, _MAX_BITS)
    _write_lengths(out, lengths)
    return _canonical(lengths), lengths


def _write_lengths(out: _Bits, lengths: list[int]) -> None:
    """A normal code: its code lengths, run-length coded (16: repeat the previous non-zero
    length 3-6 times, 17: 3-10 zeros, 18: 11-138 zeros) under the code-length code."""
    items: list[tuple[int, int, int]] = []  # (code-length symbol, extra bits, extra value)
    previous = 8
    array = np.array(lengths)
    cuts = [0, *(np.flatnonzero(array[1:] != array[:-1]) + 1).tolist(), len(lengths)]
    for start, end in itertools.pairwise(cuts):  # each run of equal lengths
        v, run = lengths[start], end - start
        if v == 0:
            while run >= 11:
                n = min(run, 138)
                items.append((18, 7, n - 11))
                run -= n
            if run >= 3:
                items.append((17, 3, run - 3))
                run = 0
            items.extend([(0, 0, 0)] * run)
        else:
            if v != previous:
                items.append((v, 0, 0))
                run -= 1
                previous = v
            while run >= 3:
                n = min(run, 6)
                items.append((16, 2, n - 3))
                run -= n
            items.extend([(v, 0, 0)] * run)
    symbol_counts = [0] * 19
    for sym, _, _ in items:
        symbol_counts[sym] += 1
    code_lengths = _code_lengths(symbol_counts, _CODE_LENGTH_BITS)
    if sum(1 for length in code_lengths if length) == 1:  # one symbol: its words are 0 bits
        codes, bits = [0] * 19, [0] * 19
    else:
        codes, bits = _canonical(code_lengths), code_lengths
    ordered = [code_lengths[sym] for sym in _CODE_LENGTH_ORDER]
    kept = max(4, max((k + 1 for k, v in enumerate(ordered) if v), default=0))
    out.put(0, 1)  # normal code
    out.put(kept - 4, 4)
    for v in ordered[:kept]:
        out.put(v, 3)
    out.put(0, 1)  # max_symbol: every symbol's length follows
    for sym, extra, value in items:
        out.values.append(codes[sym])
        out.bits.append(bits[sym])
        if extra:
            out.values.append(value)
            out.bits.append(extra)


def ranges(starts: np.ndarray, lengths: np.ndarray, dtype: Any = np.int64) -> np.ndarray:
    """`starts[i], starts[i] + 1, ... ` (`lengths[i]` numbers) for every i, one after another:
    the positions of many runs, or the rows of a sparse matrix, in two passes."""
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if ends.size else 0
    firsts = (starts - (ends - lengths)).astype(dtype, copy=False)
    out: np.ndarray = np.arange(total, dtype=dtype) + np.repeat(firsts, lengths)
    return out


def _tokens(stream: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pixels (`stream`, row after row, `width` a row) as tokens: (start, length, kind);
    kind 0 is a literal (length 1), `_UP` a copy from the pixel above, `_LEFT` from the one
    on the left.

    A pixel continues a copy from whichever of the two it equals whose run of equal pixels
    reaches further (a tie: the run begun earlier, then the one above), so each token is a
    stretch of one run and every copy reads pixels equal to the ones it writes. Worked on
    segments, not pixels: between two places where either equality changes, every pixel
    makes the same choice (a card's 756,000 pixels are some 30,000 segments). Two
    neighbours, not more: adding the above-left and above-right ones made the blog card 2 %
    larger (the copies grow shorter and their distance codes longer) and the encoder
    slower."""
    n = stream.size
    # (left, up) as one byte a pixel, 2 * left + up, built in place: NumPy adds bytes ~10x
    # faster than it shifts them (x86 has no 8-bit shift to vectorise)
    state = np.empty(n, dtype=np.uint8)
    state[0] = 0
    np.equal(stream[1:], stream[:-1], out=state[1:].view(bool))
    np.add(state, state, out=state)
    if width < n:
        up = np.equal(stream[width:], stream[:-width])
        state[width:] |= up.view(np.uint8)
    starts = np.flatnonzero(state[1:] != state[:-1]) + 1
    starts = np.concatenate([np.zeros(1, dtype=starts.dtype), starts])
    bounds = np.append(starts, n)
    segments = starts.size

    def reach(same: np.ndarray) -> np.ndarray:
        """Each segment's score for one equality: how far its run of segments alike in it
        reaches (to the start of the next segment where it flips) and, between runs reaching
        as far, the one begun earlier (the copy under way: not cut in two; 1-3 % smaller
        files). Always > 0. Worked out a run at a time and repeated over its segments."""
        flipped = np.ones(segments, dtype=bool)
        np.not_equal(same[1:], same[:-1], out=flipped[1:])
        at = np.flatnonzero(flipped)
        until = np.append(at[1:], segments)  # where each run ends (bounds[segments] is n)
        score = bounds[until] * (n + 1) - bounds[at]
        repeated: np.ndarray = np.repeat(score, until - at)
        return repeated

    # Arithmetic, not np.where: NumPy's where branches on each element, and on masks this
    # mixed that costs several times a multiply.
    at_starts = state[starts]
    same_up, same_left = (at_starts & 1).view(bool), at_starts > 1
    best = reach(same_up) * same_up  # 0 where the pixel above is no copy
    better = same_left & (reach(same_left) > best)  # a tie: the pixel above
    kind = same_up * np.int64(_UP)
    kind += better * (np.int64(_LEFT) - kind)
    sizes = np.diff(bounds)
    # copies: consecutive segments of one kind are one run; literals: a token a pixel
    first = np.ones(segments, dtype=bool)
    first[1:] = (kind[1:] != kind[:-1]) | (kind[1:] == 0)
    literal = kind == 0
    seg_tokens = first.astype(np.int64)
    seg_tokens += (sizes - seg_tokens) * literal
    token_start = ranges(starts, seg_tokens)
    token_kind = np.repeat(kind, seg_tokens)
    token_length = np.diff(np.append(token_start, n))
    long = np.flatnonzero(token_length > _MAX_COPY)
    if long.size:  # copies in pieces of at most 4096: the few long ones' pieces put in place
        pieces = (token_length[long] - 1) // _MAX_COPY  # each one's pieces after its first
        at = np.repeat(long + 1, pieces)
        offsets = ranges(np.ones_like(pieces), pieces) * _MAX_COPY
        token_start = np.insert(token_start, at, np.repeat(token_start[long], pieces) + offsets)
        token_kind = np.insert(token_kind, at, np.repeat(token_kind[long], pieces))
        token_length = np.diff(np.append(token_start, n))
    return token_start, token_length, token_kind


def _single_copies_as_literals(
    values: np.ndarray, lengths: np.ndarray, length_symbol: np.ndarray, kinds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(kinds, green): `kinds` with each copy of one pixel that would cost more bits than the
    pixel as a literal made a literal, judged by the codes the tokens as they are would get
    (the cjk card: 700 such copies, 1 % of its bytes), and each token's green symbol after
    that (its pixel if a literal, else 256 + its length prefix). `values`: each token's first
    pixel; `length_symbol`: each token's length prefix symbol (a literal's is that of length
    1)."""
    literal = kinds == 0
    green_symbol = np.where(literal, values, _LITERALS + length_symbol)
    green = np.array(_code_lengths(np.bincount(green_symbol, minlength=280).tolist(), _MAX_BITS))
    # (np.compress: NumPy's boolean indexing takes 4-5x as long on masks this mixed)
    distance_counts = np.bincount(np.compress(~literal, kinds), minlength=3).tolist()
    distance = np.array(_code_lengths(distance_counts, _MAX_BITS))
    if sum(1 for c in distance_counts if c) <= 1:  # a code of one symbol: words of 0 bits
        distance[:] = 0
    single = np.flatnonzero(~literal & (lengths == 1))
    as_copy = green[_LITERALS] + distance[kinds[single]]  # length 1: prefix 0, no extra bits
    as_literal = green[values[single]]
    cheaper = single[(as_literal > 0) & (as_literal < as_copy)]  # a literal with a code
    if cheaper.size == 0:
        return kinds, green_symbol
    kinds, green_symbol = kinds.copy(), green_symbol.copy()
    kinds[cheaper] = 0
    green_symbol[cheaper] = values[cheaper]
    return kinds, green_symbol


def _pack(values: np.ndarray, bits: np.ndarray) -> bytes:
    """Fields (values below 2**bits, bits < 64) as one little-endian bit stream, low bits
    first, padded to a byte."""
    ends = np.cumsum(bits)
    total = int(ends[-1]) if ends.size else 0
    starts = ends - bits
    within = starts & 63
    offset = within.astype(np.uint64)
    values = values.astype(np.uint64)
    low = values << offset
    words = np.zeros(total // 64 + 2, dtype=np.uint64)
    if starts.size:
        # every word up to the last field's holds a field's start (none is 64 bits long),
        # so each word is the OR of the fields from its first
        used = int(starts[-1]) // 64 + 1
        firsts = np.searchsorted(starts, np.arange(used) * 64)
        words[:used] = np.bitwise_or.reduceat(low, firsts)
    spill = np.flatnonzero(within + bits > 64)  # a field running into the next word
    word = starts[spill] >> 6
    words[word + 1] |= (values[spill] >> np.uint64(1)) >> (np.uint64(63) - offset[spill])
    return words.astype("<u8", copy=False).view(np.uint8)[: (total + 7) // 8].tobytes()


def _bundle(indices: np.ndarray, colours: int) -> tuple[np.ndarray, int]:
    """Pack 2, 4 or 8 indices a byte when there are at most 16, 4 or 2 colours; the width bits
    of the transform."""
    width_bits = 3 if colours <= 2 else 2 if colours <= 4 else 1 if colours <= 16 else 0
    if width_bits == 0:
        return indices, 0
    per = 1 << width_bits
    height, width = indices.shape
    padded = np.zeros((height, -(-width // per) * per), dtype=np.uint8)
    padded[:, :width] = indices
    groups = padded.reshape(height, -1, per)
    packed = groups[..., 0].copy()
    for k in range(1, per):  # index k of each byte sits k * (8 / per) bits up
        packed |= groups[..., k] * np.uint8(1 << (k * (8 >> width_bits)))  # as in `_tokens`
    return packed, width_bits


def encode_indexed(indices: np.ndarray, colours: np.ndarray, alpha: bool) -> bytes:
    """A lossless WEBP file of `indices` ((height, width) uint8) into `colours` ((n,) uint32
    ARGB, n <= 256, as a raster's B, G, R, A bytes read little-endian); `alpha`: whether any
    colour is not opaque (the header's hint)."""
    height, width = indices.shape
    n = colours.size
    if not (1 <= width <= 16384 and 1 <= height <= 16384 and 1 <= n <= 256):
        msg = f"VP8L holds 1-16384 px a side and 1-256 colours, not {width}x{height}, {n}"
        raise ValueError(msg)
    head = _Bits()
    head.put(0x2F, 8)
    head.put(width - 1, 14)
    head.put(height - 1, 14)
    head.put(int(alpha), 1)
    head.put(0, 3)  # version
    head.put(1, 1)  # a transform:
    head.put(_COLOR_INDEXING, 2)
    head.put(n - 1, 8)
    # the palette, an image n x 1 of each entry's difference from the one before
    argb = colours.astype(np.uint32).view(np.uint8).reshape(n, 4)  # B, G, R, A
    deltas = argb.copy()
    deltas[1:] = argb[1:] - argb[:-1]
    head.put(0, 1)  # no colour cache
    channel_codes = []
    for channel in (1, 2, 0, 3):  # green, red, blue, alpha
        size = _LITERALS + _LENGTH_CODES if channel == 1 else _LITERALS
        counts = np.bincount(deltas[:, channel], minlength=size).tolist()
        entry_codes, entry_lengths = _write_code(head, counts)
        values = deltas[:, channel]
        channel_codes.append((np.array(entry_codes)[values], np.array(entry_lengths)[values]))
    _write_code(head, [0] * _DISTANCE_CODES)
    # entry after entry, its four channels in turn
    head.values += np.stack([codes for codes, _ in channel_codes], axis=1).reshape(-1).tolist()
    head.bits += np.stack([bits for _, bits in channel_codes], axis=1).reshape(-1).tolist()
    packed, width_bits = _bundle(indices, n)
    head.put(0, 1)  # no more transforms
    head.put(0, 1)  # no colour cache
    head.put(0, 1)  # one prefix-code group for the whole image
    stream = packed.reshape(-1)
    starts, lengths, kinds = _tokens(stream, packed.shape[1])
    # a literal is one pixel long, so every token's length codes as its own; the planes 1 and
    # 2 (`_UP`, `_LEFT`) are distance symbols 0 and 1 with no extra bits
    values = stream[starts]
    length_symbol, length_extra, length_value = _prefix(lengths)
    kinds, green = _single_copies_as_literals(values, lengths, length_symbol, kinds)
    literal = kinds == 0
    green_counts = np.bincount(green, minlength=_LITERALS + _LENGTH_CODES).tolist()
    copy = np.flatnonzero(~literal)
    distance_symbol = kinds[copy] - 1
    distance_counts = np.bincount(distance_symbol, minlength=_DISTANCE_CODES).tolist()
    green_codes, green_lengths = (np.array(a) for a in _write_code(head, green_counts))
    for _ in range(3):  # red, blue, alpha: ignored by the transform, one symbol of 0 bits
        _write_code(head, [0] * _LITERALS)
    distance_codes, distance_lengths = (np.array(a) for a in _write_code(head, distance_counts))
    # a token's fields in one word of at most 40 bits: green code (literal or length prefix),
    # length extra bits, distance code
    bits = green_lengths[green]
    word = green_codes[green].astype(np.uint64)
    copy_word, copy_bits = word[copy], bits[copy]
    parts = (
        (length_value[copy], length_extra[copy]),
        (distance_codes[distance_symbol], distance_lengths[distance_symbol]),
    )
    for value, width in parts:
        copy_word |= value.astype(np.uint64) << copy_bits.astype(np.uint64)
        copy_bits += width
    word[copy], bits[copy] = copy_word, copy_bits
    head_values, head_bits = head.arrays()
    body = _pack(np.concatenate([head_values, word]), np.concatenate([head_bits, bits]))
    chunk = b"VP8L" + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk
