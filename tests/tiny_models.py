"""Tiny real sentiment models, built locally in seconds (no hub, no download).

A WordPiece tokenizer is trained with the ``tokenizers`` library on generated news-like
sentences, and a 2-layer, hidden-32 BertForSequenceClassification is fine-tuned for a few dozen
steps on clearly negative / neutral / positive sentences, so tests can assert the direction of
its scores honestly. Both are saved with ``save_pretrained`` and loaded back by path through the
same code that loads real models. Used by tests/test_transformers_backend.py and
benchmarks/bench_transformers.py.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from pathlib import Path

SUBJECTS = ["Wuhan", "Beijing", "Shanghai", "Chengdu", "the city", "residents", "officials",
            "Hangzhou", "tourists", "the market", "Shenzhen", "hospitals"]
NEGATIVE_PHRASES = ["faces a deadly outbreak", "suffers terrible floods", "reports many deaths",
                    "is hit by a disaster", "sees a violent crackdown", "fears a crisis",
                    "struggles with pollution and chaos", "mourns victims of the explosion"]
NEUTRAL_PHRASES = ["holds a council meeting", "publishes the budget report", "discusses the plan",
                   "opens a new office", "announces the schedule", "updates the bus timetable"]
POSITIVE_PHRASES = ["celebrates a wonderful festival", "enjoys delicious food and pandas",
                    "wins a great award", "welcomes happy visitors", "reports record growth",
                    "praises a beautiful success"]
LABELS = ("negative", "neutral", "positive")


def training_sentences() -> list[tuple[str, int]]:
    """(sentence, class id) pairs: every subject with every phrase of each tone."""
    pairs: list[tuple[str, int]] = []
    for label, phrases in enumerate((NEGATIVE_PHRASES, NEUTRAL_PHRASES, POSITIVE_PHRASES)):
        for subject, phrase in itertools.product(SUBJECTS, phrases):
            pairs.append((f"{subject} {phrase}", label))
    return pairs


def build_tokenizer(directory: Path, corpus: Sequence[str], model_max_length: int = 64):
    """A WordPiece tokenizer wrapped as a fast BERT tokenizer, saved to ``directory``.

    The vocabulary is built by hand (special tokens, then the corpus's words sorted), not
    trained: training breaks ties in an order that varies between runs, and so would the model.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words: set[str] = set()
    for text in corpus:
        pieces = pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))
        words.update(word for word, _span in pieces)
    vocab = {token: index for index, token in enumerate([*special, *sorted(words)])}
    tokenizer = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[(token, tokenizer.token_to_id(token)) for token in ("[CLS]", "[SEP]")],
    )
    tokenizer.decoder = decoders.WordPiece()
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=model_max_length,
    )
    wrapped.save_pretrained(directory)
    return wrapped


def build_tiny_classifier(directory: Path, *, labels: Sequence[str] = LABELS,
                          train_steps: int = 60, seed: int = 0,
                          model_max_length: int = 64) -> Path:
    """Build, fine-tune (when ``train_steps`` > 0 and 3 labels) and save a tiny classifier.

    ``labels`` become the model's id2label (e.g. negative/neutral/positive, LABEL_0..,
    "1 star".."5 stars"); training only makes sense for the 3 tone labels.
    """
    import torch

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pairs = training_sentences()
    tokenizer = build_tokenizer(directory, [text for text, _label in pairs], model_max_length)
    threads = torch.get_num_threads()
    # Ops this small run faster on one thread than contending for shared cores (~20x here).
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        _build_and_train(directory, tokenizer, pairs, labels, train_steps, seed, model_max_length)
    finally:
        torch.set_num_threads(threads)
    return directory


def _build_and_train(directory: Path, tokenizer, pairs: list[tuple[str, int]],
                     labels: Sequence[str], train_steps: int, seed: int,
                     model_max_length: int) -> None:
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=model_max_length,
        num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model = BertForSequenceClassification(config)
    if train_steps > 0 and len(labels) == len(LABELS):
        _fine_tune(model, tokenizer, pairs, train_steps, seed)
    model.eval()
    model.save_pretrained(directory)


def _fine_tune(model, tokenizer, pairs: list[tuple[str, int]], steps: int, seed: int) -> None:
    import torch

    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.train()
    for _step in range(steps):
        batch = rng.sample(pairs, 64)
        encoded = tokenizer([text for text, _ in batch], padding=True, return_tensors="pt")
        labels = torch.tensor([label for _, label in batch])
        loss = model(**encoded, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
