"""The inverse dynamics model (IDM): which action, if any, has frame i as the frame before it.

VPT's recipe (OpenAI, Minecraft): a small model trained on a little labelled video labels
a lot of unlabelled video, and the policy learns from its labels. The IDM is the policy's
transformer (model/modeling.py: the same stem, blocks, pointers and cell heads, the same
action codec) with other inputs and one more head:

    [2 query tokens | S text slots | F pointer tokens | 140 patch tokens | task byte tokens]

    patches  <- frames i-1, i, i+1 .. i+K as the channels of one image: frame i as it is,
                every other frame as its change from the one before, which is zero except
                where something happened (the pointer setting off and coming to rest, a
                button changing colour, characters appearing)
    queries and slots start from the max-pooled patch tokens: where something happened
    type     <- query 0, over the action types plus NONE ("nothing happened": the IDM's own
                class, never an action the policy could emit)
    point    <- the policy's pointer + cell heads (query 1: a drag's end)
    text     <- one byte a text slot, read off the screen: the characters typed between
                frame i and i+1 (the policy copies a span of the task; a video's typed
                text need not be in its task)
    pointer  <- one token a frame of the window, trained only: where the pointer is on
                that frame (a patch and a cell, as a click), learnt from every frame of a
                recording with mouse events (``pointer_weight``), where a click teaches
                finding the pointer once a step

It looks at frames after i, so it labels recordings, it never acts.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import PreTrainedModel

from screenpilot.dataset.actions import ACTION_TYPES, Action

from .codec import BYTE_OFFSET, BYTE_VOCAB, IGNORE, POINTED, TYPE_INDEX
from .idm_config import IDMConfig
from .idm_data import NONE, decode_text
from .metrics import score_batch
from .modeling import (
    NUM_QUERIES,
    NUM_TYPES,
    Block,
    CellHead,
    PatchStem,
    Pointer,
    _pick,
    check_format_version,
    init_layer,
)

_POINTED_IDS = sorted(TYPE_INDEX[t] for t in POINTED)


class IDMModel(PreTrainedModel):
    config_class = IDMConfig
    base_model_prefix = "idm"
    main_input_name = "image"

    def __init__(self, config: IDMConfig):
        super().__init__(config)
        check_format_version(config)
        d = config.hidden_size
        rows, cols = config.grid
        self.codec = config.codec()
        # The whole window in one image: the first conv takes every frame's channels.
        self.stem = PatchStem(config, in_channels=3 * config.num_frames)
        self.queries = nn.Parameter(torch.zeros(NUM_QUERIES, d))
        self.slots = nn.Parameter(torch.zeros(config.text_slots, d))
        self.patch_row = nn.Embedding(rows, d)
        self.patch_col = nn.Embedding(cols, d)
        self.byte_emb = nn.Embedding(BYTE_VOCAB, d)
        self.byte_pos = nn.Embedding(config.max_task_bytes, d)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.ln_f = nn.LayerNorm(d)
        self.type_head = nn.Linear(d, NUM_TYPES + 1)  # the last class: NONE
        self.key_head = nn.Linear(d, len(config.key_vocab))
        self.scroll_head = nn.Linear(d, 2 * self.codec.num_scroll_classes)
        cells = config.click_subdivisions**2
        self.point = Pointer(d)
        self.cell = CellHead(d, cells)
        self.point2 = Pointer(d)
        self.cell2 = CellHead(d, cells)
        self.char_head = nn.Linear(d, BYTE_VOCAB)
        self.pointer_queries = None
        if config.pointer_weight > 0:
            self.pointer_queries = nn.Parameter(torch.zeros(config.num_frames, d))
            self.where = Pointer(d)
            self.where_cell = CellHead(d, cells)
        self.summary = nn.Linear(d, d)  # max-pooled patches -> every query and slot
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        init_layer(module)
        if module is self:
            nn.init.normal_(self.queries, std=0.02)
            nn.init.normal_(self.slots, std=0.02)
            if self.pointer_queries is not None:
                nn.init.normal_(self.pointer_queries, std=0.02)

    # ---- encoder ----------------------------------------------------------------------
    def encode(self, batch: dict) -> dict:
        image, task_ids = batch["image"], batch["task_ids"]  # (B, 3F, H, W), (B, L)
        B, dev = image.shape[0], image.device
        L = task_ids.shape[1]
        if not torch.compiler.is_compiling():  # as the policy: no padding past the longest task
            L = max(int(batch["task_len"].max()), 1)
        task_ids = task_ids[:, :L]
        rows, cols = self.config.grid
        patches = self.see(image)  # (B, N, D)
        r = torch.arange(rows, device=dev).repeat_interleave(cols)
        c = torch.arange(cols, device=dev).repeat(rows)
        patches = patches + self.patch_row(r) + self.patch_col(c)
        pos = torch.arange(L, device=dev)
        text = self.byte_emb(task_ids) + self.byte_pos(pos)  # (B, L, D)
        Q, S, N = NUM_QUERIES, self.slots.shape[0], patches.shape[1]
        # Every query and slot starts from the strongest patch features: what changed is
        # in a patch or two, and attention alone took a tiny model ~5x the steps to find it.
        summary = self.summary(patches.amax(1)).unsqueeze(1)  # (B, 1, D)
        queries = self.queries.expand(B, -1, -1) + summary
        slots = self.slots.expand(B, -1, -1) + summary
        tokens = [queries, slots]
        if self.pointer_queries is not None:
            tokens.append(self.pointer_queries.expand(B, -1, -1) + summary)
        P = sum(t.shape[1] for t in tokens) - Q - S
        x = torch.cat([*tokens, patches, text], dim=1)  # (B, Q+S+P+N+L, D)
        text_ok = pos.unsqueeze(0) < batch["task_len"].unsqueeze(1)  # (B, L)
        always = torch.ones(B, Q + S + P + N, dtype=torch.bool, device=dev)
        mask = torch.cat([always, text_ok], dim=1)[:, None, None, :]  # (B, 1, 1, T)
        for block in self.blocks:
            x = block(x, mask)
        h = self.ln_f(x)
        return {
            "act": h[:, 0],  # (B, D)
            "end": h[:, 1],  # (B, D)
            "slots": h[:, Q : Q + S],  # (B, S, D)
            "pointer": h[:, Q + S : Q + S + P],  # (B, P, D); P = 0 without the objective
            "patches": h[:, Q + S + P : Q + S + P + N],  # (B, N, D)
        }

    def see(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3F, H, W) uint8 frames -> (B, N, D) patch tokens. The stem reads frame i as
        the policy's stem reads a screenshot, and every other frame as its change from
        the frame before it: zero wherever nothing moved, so the few pixels that did (a
        pointer, a new character) stand out from the first layer on."""
        B, C, H, W = image.shape
        frames = image.float().view(B, C // 3, 3, H, W)
        here = frames[:, self.config.frames_before] / 127.5 - 1.0  # (B, 3, H, W)
        changes = (frames[:, 1:] - frames[:, :-1]).flatten(1, 2) / 127.5  # (B, 3F-3, H, W)
        return self.stem.embed(torch.cat([here, changes], dim=1))  # (B, 3F, H, W) in

    def heads(self, s: dict, chosen: dict) -> dict:
        """Every head's logits (fp32); ``chosen`` holds the patch / patch2 the cell heads
        read (the targets when training, argmaxes when labelling)."""
        f = {
            "type": self.type_head(s["act"]),  # (B, types + 1)
            "key": self.key_head(s["act"]),  # (B, keys)
            "patch": self.point(s["act"], s["patches"]),  # (B, N)
            "patch2": self.point2(s["end"], s["patches"]),  # (B, N)
            "cell": self.cell(s["act"], _pick(s["patches"], chosen["patch"])),  # (B, cells)
            "cell2": self.cell2(s["end"], _pick(s["patches"], chosen["patch2"])),
            "chars": self.char_head(s["slots"]),  # (B, S, bytes)
        }
        f["scroll_x"], f["scroll_y"] = self.scroll_head(s["act"]).chunk(2, dim=-1)
        return {k: v.float() for k, v in f.items()}

    # ---- training ---------------------------------------------------------------------
    def forward(self, batch: dict):
        """-> (loss, logs): the mean over samples of each sample's summed head losses (the
        text's loss is the mean over its bytes and its end, so a long text weighs as much
        as a click)."""
        s = self.encode(batch)
        logits = self.heads(s, {"patch": batch["t_patch"], "patch2": batch["t_patch2"]})
        per_sample = torch.zeros(batch["image"].shape[0], device=batch["image"].device)
        logs = {}
        for name, lg in logits.items():
            target = batch[f"t_{name}"]
            if name == "chars":  # (B, S, V): cross-entropy per slot, averaged over the text's
                read = (target != IGNORE).sum(1)
                ce = F.cross_entropy(lg.transpose(1, 2), target, ignore_index=IGNORE,
                                     reduction="none").sum(1) / read.clamp(min=1)  # fmt: skip
                scored = read > 0
            else:
                ce = F.cross_entropy(lg, target, ignore_index=IGNORE, reduction="none")  # (B,)
                scored = target != IGNORE
            per_sample = per_sample + ce
            logs[f"loss_{name}"] = ce.detach().sum() / scored.sum().clamp(min=1)
        if self.pointer_queries is not None:
            pointer, logs["loss_pointer"], logs["pointer_acc"] = self.pointer_loss(s, batch)
            per_sample = per_sample + self.config.pointer_weight * pointer
        loss = per_sample.mean()
        logs["loss"] = loss.detach()
        return loss, logs

    def pointer_loss(self, s: dict, batch: dict):
        """-> (B,) each sample's pointer loss (patch + cell cross-entropy, the mean over
        its frames that say where the pointer was), that loss over the samples that have
        any, and the share of those frames whose patch and cell are both right."""
        patches, queries = s["patches"], s["pointer"]  # (B, N, D), (B, P, D)
        t_patch, t_cell = batch["t_pointer_patch"], batch["t_pointer_cell"]  # (B, P)
        known = t_patch != IGNORE
        where = self.where(queries, patches).float()  # (B, P, N)
        at = t_patch.clamp(min=0).unsqueeze(-1).expand(-1, -1, patches.shape[-1])
        cell = self.where_cell(queries, patches.gather(1, at)).float()  # (B, P, cells)
        ce = sum(
            F.cross_entropy(lg.transpose(1, 2), t, ignore_index=IGNORE, reduction="none")
            for lg, t in ((where, t_patch), (cell, t_cell))
        )  # (B, P)
        frames = known.sum(1)
        per_sample = ce.sum(1) / frames.clamp(min=1)
        mean = per_sample.detach().sum() / (frames > 0).sum().clamp(min=1)
        right = (where.argmax(-1) == t_patch) & (cell.argmax(-1) == t_cell) & known
        acc = right.sum().detach() / known.sum().clamp(min=1)
        return per_sample, mean, acc

    # ---- labelling --------------------------------------------------------------------
    @torch.no_grad()
    def predict_batch(self, batch: dict) -> dict:
        """Greedy decoding of every head ((B,) int64; ``chars`` (B, S)), and each label's
        ``confidence`` (B,): the probability of the whole label, as the product of the
        probabilities of the choices it is made of."""
        s = self.encode(batch)
        zeros = torch.zeros_like(batch["task_len"])
        first = self.heads(s, {"patch": zeros, "patch2": zeros})
        chosen = {k: first[k].argmax(-1) for k in ("patch", "patch2")}
        logits = self.heads(s, chosen)
        out = {k: v.argmax(-1) for k, v in logits.items()}
        out.update(chosen)
        out["confidence"] = self.confidence(logits, out)
        return out

    @staticmethod
    def confidence(logits: dict, pred: dict) -> torch.Tensor:
        p = {k: v.softmax(-1).gather(-1, pred[k].unsqueeze(-1)).squeeze(-1)
             for k, v in logits.items()}  # fmt: skip
        kind = pred["type"]
        one = torch.ones_like(p["type"])
        pointed = torch.isin(kind, torch.tensor(_POINTED_IDS, device=kind.device))
        conf = p["type"] * torch.where(pointed, p["patch"] * p["cell"], one)
        conf = conf * torch.where(kind == TYPE_INDEX["drag"], p["patch2"] * p["cell2"], one)
        conf = conf * torch.where(kind == TYPE_INDEX["scroll"], p["scroll_x"] * p["scroll_y"], one)
        conf = conf * torch.where(kind == TYPE_INDEX["key"], p["key"], one)
        # Text: every byte up to and including the one that ends it.
        ends = pred["chars"] < BYTE_OFFSET  # (B, S)
        last = torch.where(ends.any(1), ends.float().argmax(1), ends.shape[1] - 1)
        upto = torch.arange(ends.shape[1], device=kind.device)[None, :] <= last[:, None]
        text = torch.where(upto, p["chars"], torch.ones_like(p["chars"])).prod(1)
        return conf * torch.where(kind == TYPE_INDEX["type"], text, one)


def decode_label(codec, pred: dict, screen: tuple[int, int]) -> Action | None:
    """One frame's predictions (ints; ``chars`` a sequence) -> its Action, or None."""
    kind = int(pred["type"])
    if kind == NONE:
        return None
    if ACTION_TYPES[kind] == "type":
        text = decode_text(pred["chars"])
        return Action("type", text=text) if text else None
    return codec.decode_action(pred, "", screen)  # never a `type`: no task span is read


def score_frames(codec, batch: dict, pred: dict, tolerance: int) -> dict:
    """metrics.COUNT_KEYS counts over frames (the policy's score_batch's counterpart):
    action frames scored as the policy's steps are, typed text by its bytes, and a frame
    with nothing right when the IDM says nothing."""
    pred = {k: v.cpu() for k, v in pred.items()}
    t_type = batch["t_type"].cpu()
    plain = (t_type != NONE) & (t_type != TYPE_INDEX["type"])
    counts = score_batch(
        codec,
        {k: v[plain] for k, v in batch.items() if k.startswith("t_") or k == "screen"},
        {k: v[plain] for k, v in pred.items() if k not in ("chars", "confidence")},
        tolerance,
    )
    for i in (~plain).nonzero().flatten().tolist():
        ok = bool(pred["type"][i] == t_type[i])
        counts["n"] += 1
        counts["type_ok"] += int(ok)
        if t_type[i] == TYPE_INDEX["type"]:
            text_ok = decode_text(pred["chars"][i]) == decode_text(batch["t_chars"][i])
            counts["n_text"] += 1
            counts["text_ok"] += int(text_ok)
            ok &= text_ok
        counts["action_ok"] += int(ok)
    return counts


def predictions_row(pred: dict, i: int) -> dict:
    """Sample ``i`` of a predict_batch output as plain Python values (for ``decode``)."""
    return {k: (v[i].tolist() if v.ndim > 1 else v[i].item()) for k, v in pred.items()}
