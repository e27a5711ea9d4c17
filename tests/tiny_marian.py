"""A tiny real Marian translation model (Russian/Arabic/Korean -> English headlines), built
locally in seconds: a SentencePiece model trained on the pairs below, a 1+1-layer MarianMTModel
trained until it reproduces them, both saved with ``save_pretrained`` and loaded back by path
through the same code that loads real OPUS-MT models (``nlp.translation``). No hub, no download.
Used by tests/test_translation.py, the browser test and benchmarks.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

PAIRS = [
    ("Вспышка коронавируса в Ухане", "Coronavirus outbreak in Wuhan"),
    ("Ухань закрыт на карантин", "Wuhan placed under quarantine"),
    ("Больницы Уханя переполнены", "Wuhan hospitals are overwhelmed"),
    ("Пекин вводит новые ограничения", "Beijing imposes new restrictions"),
    ("Шанхай открывает новый парк", "Shanghai opens a new park"),
    ("Туристы возвращаются в Чэнду", "Tourists return to Chengdu"),
    ("تفشي فيروس كورونا في ووهان", "Coronavirus outbreak in Wuhan"),
    ("우한에서 코로나바이러스 발생", "Coronavirus outbreak in Wuhan"),
]
SPECIAL = ["</s>", "<unk>"]


def build_tiny_marian(directory: Path, *, steps: int = 400, seed: int = 0) -> Path:
    """Build and save the tiny model in ``directory`` (returned)."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    corpus = [text for pair in PAIRS for text in pair]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus * 4), model_prefix=str(directory / "spm"),
        vocab_size=120, model_type="unigram", character_coverage=1.0, bos_id=-1, eos_id=-1,
        unk_id=0, hard_vocab_limit=False, num_threads=1, minloglevel=2)
    processor = spm.SentencePieceProcessor(model_file=str(directory / "spm.model"))
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    vocab: dict[str, int] = {}
    for token in [*SPECIAL, *pieces, "<pad>"]:
        vocab.setdefault(token, len(vocab))
    for name in ("source.spm", "target.spm"):
        shutil.copy(directory / "spm.model", directory / name)
    (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False),
                                          encoding="utf-8")
    (directory / "spm.model").unlink()
    (directory / "spm.vocab").unlink()
    tokenizer = MarianTokenizer(str(directory / "source.spm"), str(directory / "target.spm"),
                                str(directory / "vocab.json"), model_max_length=64)
    tokenizer.save_pretrained(directory)
    config = MarianConfig(
        vocab_size=len(vocab), decoder_vocab_size=len(vocab), d_model=64, encoder_layers=1,
        decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=128, decoder_ffn_dim=128, max_position_embeddings=64,
        pad_token_id=vocab["<pad>"], eos_token_id=vocab["</s>"],
        decoder_start_token_id=vocab["<pad>"], forced_eos_token_id=vocab["</s>"],
        max_length=32, num_beams=1, share_encoder_decoder_embeddings=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        model = MarianMTModel(config)
        _train(model, tokenizer, steps, seed)
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.save_pretrained(directory)
    return directory


def _train(model, tokenizer, steps: int, seed: int) -> None:
    import torch

    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _step in range(steps):
        batch = rng.sample(PAIRS, len(PAIRS))
        encoded = tokenizer([s for s, _ in batch], text_target=[t for _, t in batch],
                            padding=True, return_tensors="pt")
        labels = encoded.pop("labels")
        labels[labels == tokenizer.pad_token_id] = -100
        loss = model(**encoded, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
