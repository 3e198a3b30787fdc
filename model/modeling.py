"""The vision-language-action transformer, bottom-up in one file (nanoGPT style).

One early-fusion encoder reads everything at once:

    [2 query tokens | 140 patch tokens (conv stem) | task byte tokens | K previous actions]
      (+ when training: G grounding tokens, "where is W?", that only read the patches)

and every head reads the final states:

    type  <- query 0 (click, type, key, ... done)
    point <- a pointer (dot product) from query 0 over the patch tokens, then a cell of
             the chosen patch (sub x sub) read from that patch's own state
    drag end <- the same from query 1
    text  <- a span copied from the task: a start pointer over the task bytes, then an end
             pointer conditioned on the chosen start; their keys also hold the byte before
             (start) or after (end) each candidate, since a span starts after a quote or a
             space and ends before one
    key, scroll <- classes from query 0

The grounding tokens are the reading lesson: one token a word of the screenshot (its bytes,
pooled), answered by the click pointer over the patches that show it. Many words a frame
cost one encoder pass, and since nothing else attends to them the action heads compute
exactly what they compute at inference, when there are none.

Pointers instead of coordinate or spelling classes: the answer is where the evidence is
(the patch that shows the button, the bytes that name the text), which a small model
trained for minutes on a CPU learns far sooner than mapping features to 40x56 bins.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import PreTrainedModel

from .codec import BYTE_VOCAB, IGNORE, NO_ACTION, TYPE_INDEX
from .configuration import MODEL_FORMAT_VERSION, VLAConfig
from .errors import CheckpointError
from .preprocess import Preprocessor, collate

NUM_TYPES = len(TYPE_INDEX)
NUM_QUERIES = 2


class PatchStem(nn.Module):
    """Pixels -> one token per patch. A space-to-depth conv to a (3, 4)-pixel cell, residual
    3x3 convs that see strokes across cell borders, then the patch embedding."""

    def __init__(self, cfg: VLAConfig, in_channels: int = 3):
        super().__init__()
        sh, sw = cfg.stem_stride_height, cfg.stem_stride_width
        if cfg.patch_height % sh or cfg.patch_width % sw:
            raise ValueError("patch size must be a multiple of the stem stride")
        c = cfg.stem_channels
        self.cell = nn.Conv2d(in_channels, c, kernel_size=(sh, sw), stride=(sh, sw))
        self.mix = nn.ModuleList(
            nn.Conv2d(c, c, kernel_size=3, padding=1) for _ in range(cfg.stem_layers)
        )
        ph, pw = cfg.patch_height // sh, cfg.patch_width // sw
        self.patch = nn.Conv2d(c, cfg.hidden_size, kernel_size=(ph, pw), stride=(ph, pw))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.embed(image.float() / 127.5 - 1.0)  # (B, 3, H, W) uint8 -> [-1, 1]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) float, about [-1, 1] -> (B, N, D) patch tokens."""
        x = F.gelu(self.cell(x))  # (B, C, H/3, W/4)
        for conv in self.mix:
            x = x + F.gelu(conv(x))
        x = self.patch(x)  # (B, D, rows, cols)
        return x.flatten(2).transpose(1, 2)  # (B, N, D)


class SelfAttention(nn.Module):
    def __init__(self, cfg: VLAConfig):
        super().__init__()
        self.n_head = cfg.num_heads
        self.qkv = nn.Linear(cfg.hidden_size, 3 * cfg.hidden_size)
        self.proj = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=2)
        q, k, v = (t.view(B, T, self.n_head, D // self.n_head).transpose(1, 2) for t in (q, k, v))
        # mask: (B, 1, 1, T) True where a key may be attended to (padding is not).
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
        )  # (B, H, T, D/H)
        return self.proj(y.transpose(1, 2).reshape(B, T, D))


class Block(nn.Module):
    def __init__(self, cfg: VLAConfig):
        super().__init__()
        d = cfg.hidden_size
        self.ln1 = nn.LayerNorm(d)
        self.attn = SelfAttention(cfg)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(
            nn.Linear(d, cfg.mlp_ratio * d),
            nn.GELU(),
            nn.Linear(cfg.mlp_ratio * d, d),
            nn.Dropout(cfg.dropout),
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))


class Pointer(nn.Module):
    """Scores every candidate token against a query: logits (B, N) = <Wq q, Wk c> / sqrt(D)."""

    def __init__(self, d: int):
        super().__init__()
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.scale = 1.0 / math.sqrt(d)

    def forward(self, query: torch.Tensor, cands: torch.Tensor) -> torch.Tensor:
        # query (B, D) or (B, G, D), cands (B, N, D) -> (B, N) or (B, G, N)
        return torch.einsum("b...d,bnd->b...n", self.q(query), self.k(cands)) * self.scale


class CellHead(nn.Module):
    """Which of sub x sub cells inside the chosen patch: read from that patch's state,
    told by the query what is being looked for."""

    def __init__(self, d: int, cells: int):
        super().__init__()
        self.from_query = nn.Linear(d, d)
        self.out = nn.Sequential(nn.GELU(), nn.Linear(d, cells))

    def forward(self, query: torch.Tensor, patch_state: torch.Tensor) -> torch.Tensor:
        return self.out(patch_state + self.from_query(query))  # (B, cells)


def _pick(states: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """states (B, N, D), index (B,) -> (B, D); ignored targets (-100) pick token 0."""
    index = index.clamp(min=0, max=states.shape[1] - 1)
    return states[torch.arange(states.shape[0], device=states.device), index]


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device):
    """One action is too little work to split: on a CPU that other processes keep busy,
    two OpenMP threads waiting on each other made predict 2-7x slower (BENCHMARKS.md)."""
    if device.type != "cpu" or torch.get_num_threads() == 1:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def ground_mask(keep: torch.Tensor, first_patch: int, n_patches: int, words: int):
    """The attention mask with grounding tokens appended to a sequence whose own tokens
    are ``keep`` (B, T): those tokens see what they always see and never a grounding
    token; a grounding token sees the patches and itself. -> (B, 1, T+G, T+G)."""
    B, T = keep.shape
    mask = torch.zeros(B, T + words, T + words, dtype=torch.bool, device=keep.device)
    mask[:, :T, :T] = keep[:, None, :]
    mask[:, T:, first_patch : first_patch + n_patches] = True
    mask[:, T:, T:] = torch.eye(words, dtype=torch.bool, device=keep.device)
    return mask[:, None]


def box_patches(boxes: torch.Tensor, rows: int, cols: int, ph: int, pw: int) -> torch.Tensor:
    """(B, G, 4) x0 y0 x1 y1 boxes in image pixels -> (B, G, rows*cols): the patches that
    show a quarter or more of the box (or of the patch, for a box larger than one), so
    every box has at least one and a patch grazed by a word's edge is not one."""
    dev = boxes.device
    py0 = (torch.arange(rows, device=dev) * ph).repeat_interleave(cols).float()  # (N,)
    px0 = (torch.arange(cols, device=dev) * pw).repeat(rows).float()
    x0, y0, x1, y1 = (boxes[..., i : i + 1] for i in range(4))  # (B, G, 1)
    iw = (torch.minimum(x1, px0 + pw) - torch.maximum(x0, px0)).clamp(min=0)
    ih = (torch.minimum(y1, py0 + ph) - torch.maximum(y0, py0)).clamp(min=0)
    area = ((x1 - x0) * (y1 - y0)).clamp(min=1e-6)
    inter = iw * ih
    return (inter > 0) & (
        inter >= 0.25 * torch.minimum(area, torch.tensor(ph * pw * 1.0, device=dev))
    )


def check_format_version(config) -> None:
    if config.format_version != MODEL_FORMAT_VERSION:
        raise CheckpointError(
            f"model format version {config.format_version} is not supported "
            f"(this screenpilot reads version {MODEL_FORMAT_VERSION})"
        )


def init_layer(module: nn.Module) -> None:
    """A layer's starting weights, the same in the policy and the IDM."""
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class VLAModel(PreTrainedModel):
    config_class = VLAConfig
    base_model_prefix = "vla"
    main_input_name = "image"

    def __init__(self, config: VLAConfig):
        super().__init__(config)
        check_format_version(config)
        d = config.hidden_size
        rows, cols = config.grid
        self.codec = config.codec()
        self.stem = PatchStem(config)
        self.queries = nn.Parameter(torch.zeros(NUM_QUERIES, d))
        self.patch_row = nn.Embedding(rows, d)
        self.patch_col = nn.Embedding(cols, d)
        self.byte_emb = nn.Embedding(BYTE_VOCAB, d)
        self.byte_pos = nn.Embedding(config.max_task_bytes, d)
        self.typed_emb = nn.Embedding(2, d)  # was this byte already typed by a past action?
        self.hist_type = nn.Embedding(NO_ACTION + 1, d)
        self.hist_point = nn.Embedding(config.num_patches + 1, d)  # last index: no point
        self.hist_key = nn.Embedding(len(config.key_vocab), d)
        self.hist_slot = nn.Embedding(max(config.history, 1), d)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.ln_f = nn.LayerNorm(d)
        self.type_head = nn.Linear(d, NUM_TYPES)
        self.key_head = nn.Linear(d, len(config.key_vocab))
        self.scroll_head = nn.Linear(d, 2 * self.codec.num_scroll_classes)
        cells = config.click_subdivisions**2
        self.point = Pointer(d)
        self.cell = CellHead(d, cells)
        self.point2 = Pointer(d)
        self.cell2 = CellHead(d, cells)
        self.span_start = Pointer(d)
        self.span_end = Pointer(d)
        # What a span's first byte follows and its last byte precedes (a quote, a space):
        # the byte beside each candidate, added to the span pointers' keys only.
        self.byte_before = nn.Embedding(BYTE_VOCAB, d)
        self.byte_after = nn.Embedding(BYTE_VOCAB, d)
        self.end_from_start = nn.Linear(d, d)
        if config.grounds or config.task_words > 0:  # DDP refuses weights with no gradient
            self.ground_query = nn.Parameter(torch.zeros(d))  # marks a token "where is W?"
            self.ground_in = nn.Linear(d, d)
        if config.task_words > 0:  # only then: DDP refuses parameters that get no gradient
            self.word_slot = nn.Embedding(config.task_words, d)  # which word of the task
        if config.spot_words > 0:
            # How a match score becomes "shown here": a learnt soft threshold.
            self.spot_gain = nn.Parameter(torch.tensor(10.0))
            self.spot_bias = nn.Parameter(torch.tensor(-6.0))
            self.spot_in = nn.Linear(d, d)
        self.post_init()
        self._preprocessor = None

    def _init_weights(self, module: nn.Module) -> None:
        init_layer(module)
        if module is self:
            nn.init.normal_(self.queries, std=0.02)
            if hasattr(self, "ground_query"):
                nn.init.normal_(self.ground_query, std=0.02)
            if self.config.spot_words > 0:
                nn.init.constant_(self.spot_gain, 10.0)  # a match above ~0.6 counts
                nn.init.constant_(self.spot_bias, -6.0)

    # ---- encoder ----------------------------------------------------------------------
    def encode(self, batch: dict, ground: bool = False) -> dict:
        """Inputs -> final token states, split by what they stand for. ``ground`` adds
        the batch's grounding queries (``g_ids``, ``g_len``) as tokens of their own."""
        image, task_ids = batch["image"], batch["task_ids"]
        B = image.shape[0]
        # Padding past the longest task of the batch costs attention and buys nothing; a
        # compiled graph keeps the full width instead (one shape, no recompiles, no sync).
        L = task_ids.shape[1]
        if not torch.compiler.is_compiling():
            L = max(int(batch["task_len"].max()), 1)
        task_ids, typed = task_ids[:, :L], batch["typed"][:, :L]
        dev = image.device
        rows, cols = self.config.grid

        patches = self.stem(image)  # (B, N, D)
        r = torch.arange(rows, device=dev).repeat_interleave(cols)
        c = torch.arange(cols, device=dev).repeat(rows)
        patches = patches + self.patch_row(r) + self.patch_col(c)
        if self.config.spot_words > 0:
            patches = patches + self.spotted(batch["spot"], batch["spot_pos"])
        pos = torch.arange(L, device=dev)
        text = self.byte_emb(task_ids) + self.byte_pos(pos) + self.typed_emb(typed)  # (B, L, D)
        K = batch["hist_type"].shape[1]
        hist = (
            self.hist_type(batch["hist_type"])
            + self.hist_point(batch["hist_patch"])
            + self.hist_key(batch["hist_key"])
            + self.hist_slot(torch.arange(K, device=dev))
        )  # (B, K, D)
        queries = self.queries.unsqueeze(0).expand(B, -1, -1)  # (B, Q, D)
        parts = [queries, patches, text, hist]
        N = patches.shape[1]
        text_ok = pos.unsqueeze(0) < batch["task_len"].unsqueeze(1)  # (B, L)
        hist_ok = batch["hist_type"] != NO_ACTION  # (B, K)
        always = torch.ones(B, NUM_QUERIES + N, dtype=torch.bool, device=dev)
        oks = [always, text_ok, hist_ok]
        W = 0
        if self.config.task_words > 0:
            W = batch["w_ids"].shape[1]
            slots = self.word_slot(torch.arange(W, device=dev))
            parts.append(self.ground_tokens(batch["w_ids"], batch["w_len"]) + slots)  # (B, W, D)
            oks.append(batch["w_len"] > 0)
        x = torch.cat(parts, dim=1)  # (B, T, D)
        keep = torch.cat(oks, dim=1)  # (B, T)
        mask = keep[:, None, None, :]  # (B, 1, 1, T)
        T = x.shape[1]
        if ground:
            words = self.ground_tokens(batch["g_ids"], batch["g_len"])  # (B, G, D)
            x = torch.cat([x, words], dim=1)
            mask = ground_mask(keep, NUM_QUERIES, N, words.shape[1])  # (B, 1, T+G, T+G)
        for block in self.blocks:
            x = block(x, mask)
        h = self.ln_f(x)
        return {
            "act": h[:, 0],  # (B, D)
            "end": h[:, 1],  # (B, D)
            "patches": h[:, NUM_QUERIES : NUM_QUERIES + N],  # (B, N, D)
            "text": h[:, NUM_QUERIES + N : NUM_QUERIES + N + L],  # (B, L, D)
            "task_ids": task_ids,  # (B, L)
            "text_ok": text_ok,
            "words": h[:, T - W : T],  # (B, W, D): the task's words
            "ground": h[:, T:],  # (B, G, D); G = 0 unless ``ground``
        }

    def spotted(self, spot: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
        """Word-spotting maps (B, S, rows, cols) and where each word starts in the task
        (B, S; -1: no word) -> what each patch token is told (B, N, D): the sum, over the
        words shown there, of the text's own position embedding of the word's first byte,
        so attending to a place in the task text and to where it is shown are one match."""
        shown = torch.sigmoid(self.spot_gain * spot.flatten(2).float() + self.spot_bias)
        shown = shown * (starts >= 0).unsqueeze(-1).to(shown.dtype)  # (B, S, N)
        where = self.byte_pos(starts.clamp(min=0))  # (B, S, D)
        return self.spot_in(torch.einsum("bsn,bsd->bnd", shown, where))

    def ground_tokens(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, G, bytes) words -> (B, G, D): the mean of their bytes' embeddings, each with
        its position (the task text's own tables, so a word reads alike in both places)."""
        pos = torch.arange(ids.shape[-1], device=ids.device)
        emb = self.byte_emb(ids) + self.byte_pos(pos)  # (B, G, bytes, D)
        real = (pos < lengths.unsqueeze(-1)).unsqueeze(-1).to(emb.dtype)
        word = (emb * real).sum(2) / lengths.clamp(min=1).unsqueeze(-1).to(emb.dtype)
        return self.ground_in(word) + self.ground_query

    def ground(self, batch: dict, s: dict | None = None):
        """ "Where is W?" for the batch's grounding queries: (logits (B, G, N) over the
        patches, positives (B, G, N): the patches that show the word, valid (B, G))."""
        if s is None:
            s = self.encode(batch, ground=True)
        states, boxes, lengths = s["ground"], batch["g_box"], batch["g_len"]
        if self.config.task_words > 0 and "w_box" in batch:  # the task's words learn it too
            states = torch.cat([states, s["words"]], dim=1)
            boxes = torch.cat([boxes, batch["w_box"]], dim=1)
            lengths = torch.cat([lengths, batch["w_len"]], dim=1)
        logits = self.point(states, s["patches"]).float()  # the click's own pointer
        positives = box_patches(boxes, *self.config.grid,
                                self.config.patch_height, self.config.patch_width)  # fmt: skip
        valid = (lengths > 0) & positives.any(-1)
        return logits, positives, valid

    @torch.no_grad()
    def ground_hits(self, batch: dict):
        """(hits (B, G), valid (B, G)): the pointer's top patch shows the word."""
        logits, positives, valid = self.ground(batch)
        top = positives.gather(-1, logits.argmax(-1, keepdim=True)).squeeze(-1)
        return top & valid, valid

    def heads(self, s: dict, chosen: dict) -> dict:
        """Every head's logits (fp32). ``chosen`` holds the patch / patch2 / span_start the
        second-stage heads condition on: the targets when training, argmaxes when acting."""
        f = {}
        f["type"] = self.type_head(s["act"])  # (B, types)
        f["key"] = self.key_head(s["act"])  # (B, keys)
        f["scroll_x"], f["scroll_y"] = self.scroll_head(s["act"]).chunk(2, dim=-1)
        f["patch"] = self.point(s["act"], s["patches"])  # (B, N)
        f["patch2"] = self.point2(s["end"], s["patches"])  # (B, N)
        f["cell"] = self.cell(s["act"], _pick(s["patches"], chosen["patch"]))  # (B, cells)
        f["cell2"] = self.cell2(s["end"], _pick(s["patches"], chosen["patch2"]))
        neg = torch.finfo(torch.float32).min
        ids = s["task_ids"]  # 0 pads: before the first byte, after the last
        start_keys = s["text"] + self.byte_before(F.pad(ids[:, :-1], (1, 0)))
        end_keys = s["text"] + self.byte_after(F.pad(ids[:, 1:], (0, 1)))
        start = self.span_start(s["act"], start_keys)  # (B, L)
        f["span_start"] = start.float().masked_fill(~s["text_ok"], neg)
        if "span_start" in chosen:
            end_query = s["act"] + self.end_from_start(_pick(s["text"], chosen["span_start"]))
            end = self.span_end(end_query, end_keys).float()  # (B, L)
            pos = torch.arange(end.shape[1], device=end.device)
            # The end never comes before the start: the text is one contiguous span.
            before = pos.unsqueeze(0) < chosen["span_start"].clamp(min=0).unsqueeze(1)
            f["span_end"] = end.masked_fill(~s["text_ok"] | before, neg)
        return {k: v.float() for k, v in f.items()}

    # ---- training ---------------------------------------------------------------------
    def forward(self, batch: dict):
        """-> (loss, logs). The loss is the mean over samples of each sample's summed head
        losses, so data-parallel ranks averaging their gradients equal one big batch."""
        grounding = self.config.grounds and "g_ids" in batch
        s = self.encode(batch, ground=grounding)
        chosen = {k: batch[f"t_{k}"] for k in ("patch", "patch2", "span_start")}
        logits = self.heads(s, chosen)
        per_sample = torch.zeros(batch["image"].shape[0], device=batch["image"].device)
        logs = {}
        for name, lg in logits.items():
            target = batch[f"t_{name}"]
            if name.startswith("span"):
                target = target.masked_fill(target >= lg.shape[1], IGNORE)
            ce = F.cross_entropy(lg, target, ignore_index=IGNORE, reduction="none")  # (B,)
            per_sample = per_sample + ce
            logs[f"loss_{name}"] = ce.detach().sum() / (target != IGNORE).sum().clamp(min=1)
        if grounding:
            g_logits, positives, valid = self.ground(batch, s)
            neg = torch.finfo(torch.float32).min
            # -log P(the pointer lands on any patch of the word): a long word spans several
            # patches, and any of them is a right answer.
            ce = torch.logsumexp(g_logits, -1) - torch.logsumexp(
                g_logits.masked_fill(~positives, neg), -1
            )  # (B, G)
            ce = torch.where(valid, ce, torch.zeros_like(ce))
            n = valid.sum(1).clamp(min=1)
            per_sample = per_sample + self.config.grounding_weight * ce.sum(1) / n
            hits = positives.gather(-1, g_logits.argmax(-1, keepdim=True)).squeeze(-1) & valid
            total = valid.sum().clamp(min=1)
            logs["loss_ground"] = ce.detach().sum() / total
            logs["ground_acc"] = hits.sum() / total
        loss = per_sample.mean()
        logs["loss"] = loss.detach()
        return loss, logs

    # ---- acting -----------------------------------------------------------------------
    @torch.no_grad()
    def predict_batch(self, batch: dict) -> dict:
        """Greedy decoding of every head: (B,) int64 tensors."""
        s = self.encode(batch)
        first = self.heads(s, {"patch": torch.zeros_like(batch["task_len"]),
                               "patch2": torch.zeros_like(batch["task_len"])})  # fmt: skip
        chosen = {k: first[k].argmax(-1) for k in ("patch", "patch2", "span_start")}
        second = self.heads(s, chosen)
        out = {k: v.argmax(-1) for k, v in second.items()}
        out.update(chosen)
        return out

    def preprocessor(self) -> Preprocessor:
        if self._preprocessor is None:
            self._preprocessor = Preprocessor(self.config)
        return self._preprocessor

    @torch.inference_mode()
    def predict(self, observation: dict, history=()):
        """``{"screenshot": uint8 (H, W, 3), "task": str}`` + previous Actions -> Action."""
        screenshot = np.asarray(observation["screenshot"])
        features = self.preprocessor().inputs(screenshot, observation["task"], list(history))
        device = next(self.parameters()).device
        batch = {k: v.to(device) for k, v in collate([features]).items()}
        with _one_cpu_thread(device):
            pred = {k: int(v[0]) for k, v in self.predict_batch(batch).items()}
        screen = (screenshot.shape[1], screenshot.shape[0])
        return self.codec.decode_action(pred, observation["task"], screen)


def register_auto_model() -> None:
    """``AutoModel.from_pretrained(model_dir)`` builds a VLAModel (screenpilot/__init__.py
    calls this once transformers' AutoModel is imported)."""
    from transformers.models.auto.modeling_auto import AutoModel

    from .configuration import register_auto_config

    register_auto_config()  # AutoModel reads the config through AutoConfig
    AutoModel.register(VLAConfig, VLAModel, exist_ok=True)
