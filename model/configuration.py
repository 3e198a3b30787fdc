"""The model's hyper-parameters as a transformers ``PretrainedConfig`` (saved as config.json
beside the safetensors weights, so a checkpoint describes itself)."""

from __future__ import annotations

from transformers import PretrainedConfig

from .codec import DEFAULT_KEYS

# Bumped whenever a checkpoint of the old layout could load but would mean something else.
# 2: the stem's convs are a list (stem_layers), grounding; 3: spot_words; 4: the span
# pointers' byte_before / byte_after
MODEL_FORMAT_VERSION = 4


class VLAConfig(PretrainedConfig):
    model_type = "screenpilot-vla"

    def __init__(
        self,
        # The screenshot is resized to this size whatever the screen's: 210x160 is MiniWoB's
        # own size, so there its pixels reach the model untouched (text stays sharp).
        image_height: int = 210,
        image_width: int = 160,
        # Non-square patches tile 210x160 exactly: 14 rows x 10 columns = 140 tokens.
        patch_height: int = 15,
        patch_width: int = 16,
        # A click is a patch plus one of sub x sub cells inside it: the pointer stays a
        # softmax over 140 patches while a click lands within 4 px.
        click_subdivisions: int = 4,
        # Stem: a (3, 4)-pixel space-to-depth then a 3x3 conv, then the patch embedding.
        # The 3x3 conv at sub-patch resolution is what lets strokes of 10 px text be read.
        stem_channels: int = 48,
        stem_stride_height: int = 3,
        stem_stride_width: int = 4,
        hidden_size: int = 128,
        num_layers: int = 4,
        num_heads: int = 4,
        mlp_ratio: int = 4,
        dropout: float = 0.0,
        # Task text as UTF-8 bytes (ByT5-style, no vocabulary); longer tasks are cut.
        max_task_bytes: int = 128,
        # How many previous actions the model sees: a focused field is a 1-2 px border,
        # so without its own last actions the model cannot tell "click the field" from "type".
        history: int = 4,
        # Scroll deltas are predicted in steps of this many pixels, up to max_scroll_steps.
        scroll_step: int = 100,
        max_scroll_steps: int = 5,
        key_vocab: list[str] | None = None,
        # Grounding: besides the action, point at "where is W?" for up to this many words
        # of the same screenshot (from the dataset's grounding labels), each one extra token
        # that reads the patches and that nothing else reads (acting never sees them). The
        # loss is weighted by grounding_weight; 0 turns the objective off.
        grounding_queries: int = 16,
        grounding_query_bytes: int = 16,
        grounding_weight: float = 0.5,
        # The task's words as tokens of their own too (the same pooled-bytes tokens as the
        # grounding queries), up to this many (0: none). Unlike grounding queries they are
        # inputs, which every token may read, and they learn where their word is shown
        # (when it is) with the same pointer: the act token can then take the target's
        # place from the word the task names instead of matching glyphs itself.
        task_words: int = 0,
        # Residual 3x3 convs at the stem's (3, 4)-pixel cell resolution before the patch
        # embedding: each one widens what a patch token sees of the strokes around it.
        stem_layers: int = 1,
        # Word spotting (model/word_spotting.py): up to this many of the task's words are
        # rendered and looked for on the screenshot, and each patch token is told how well
        # each word matches there, keyed by where the word starts in the task text, so the
        # act token can point at the patch that shows the word the task names. 0: off.
        spot_words: int = 12,
        format_version: int = MODEL_FORMAT_VERSION,
        **kwargs,
    ):
        self.image_height = image_height
        self.image_width = image_width
        self.patch_height = patch_height
        self.patch_width = patch_width
        self.click_subdivisions = click_subdivisions
        self.stem_channels = stem_channels
        self.stem_stride_height = stem_stride_height
        self.stem_stride_width = stem_stride_width
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.dropout = dropout
        self.max_task_bytes = max_task_bytes
        self.history = history
        self.scroll_step = scroll_step
        self.max_scroll_steps = max_scroll_steps
        self.key_vocab = list(key_vocab) if key_vocab is not None else list(DEFAULT_KEYS)
        self.grounding_queries = grounding_queries
        self.grounding_query_bytes = grounding_query_bytes
        self.grounding_weight = grounding_weight
        self.task_words = task_words
        self.stem_layers = stem_layers
        self.spot_words = spot_words
        self.format_version = format_version
        super().__init__(**kwargs)

    def vla_fields(self) -> dict:
        """This model's own fields (not transformers' bookkeeping), e.g. for a train config."""
        import inspect

        names = [n for n in inspect.signature(VLAConfig.__init__).parameters
                 if n not in ("self", "kwargs")]  # fmt: skip
        return {n: getattr(self, n) for n in names}

    @property
    def grounds(self) -> bool:
        """Whether the model learns (and can answer) "where is W?": only then does it have
        the grounding weights and its samples the grounding queries."""
        return self.grounding_weight > 0

    @property
    def grid(self) -> tuple[int, int]:
        """(rows, columns) of patches."""
        return self.image_height // self.patch_height, self.image_width // self.patch_width

    @property
    def num_patches(self) -> int:
        rows, cols = self.grid
        return rows * cols

    def codec(self):
        from .codec import ActionCodec

        rows, cols = self.grid
        return ActionCodec(
            rows=rows,
            cols=cols,
            sub=self.click_subdivisions,
            max_task_bytes=self.max_task_bytes,
            key_vocab=self.key_vocab,
            scroll_step=self.scroll_step,
            max_scroll_steps=self.max_scroll_steps,
        )


def register_auto_config() -> None:
    """``AutoConfig.from_pretrained(model_dir)`` knows our model type (screenpilot/__init__.py
    calls this once transformers' AutoConfig is imported)."""
    from transformers.models.auto.configuration_auto import AutoConfig

    AutoConfig.register(VLAConfig.model_type, VLAConfig, exist_ok=True)
