"""ccneg_bench: score vision-language models on negation, and fine-tune them (CoN-CLIP)."""

__version__ = "0.1.0"
