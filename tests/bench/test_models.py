"""Model registry and adapters: real open_clip / transformers models with tiny random weights."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from safetensors.torch import save_file

from ccneg_bench.models.registry import MODEL_KINDS, UnknownModelError, known_kinds, load_model, model_notes
from ccneg_bench.models.checkpoints import CheckpointError
from ccneg_bench.models.open_clip_models import encode_text_trimmed
from ccneg_bench.models.text_baseline import NegationWordsBaseline
from ccneg_core.lexicon import has_negation
from tests.helpers.tiny_models import TINY_CONFIG, build_tiny_open_clip

CAPTIONS = ["a dog on a couch", "a dog not on a couch", "a red circle left of a blue square in the park", "x"]


class _CreatesFileWhenUnpickled:
    """A malicious-style object: unpickling it opens (creates) a file."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_unknown_spec_lists_known_kinds():
    with pytest.raises(UnknownModelError) as err:
        load_model("clipx:foo")
    for kind in ("open_clip", "hf", "conclip", "text"):
        assert kind in str(err.value)
    with pytest.raises(UnknownModelError, match="known kinds"):
        load_model("ViT-B-32")
    assert {"open_clip", "hf", "conclip", "text"} <= set(known_kinds())


def test_open_clip_checkpoint_round_trip(tiny_spec, tmp_path):
    spec, weights = tiny_spec
    first = load_model(spec, pretrained=weights)
    second = load_model(spec, pretrained=weights)
    assert torch.equal(first.encode_texts(CAPTIONS), second.encode_texts(CAPTIONS))
    random_weights = load_model(spec, pretrained="none")
    assert not torch.allclose(first.encode_texts(CAPTIONS), random_weights.encode_texts(CAPTIONS))
    assert first.fingerprint() != random_weights.fingerprint()


def test_openai_tags_get_quick_gelu():
    from ccneg_bench.models.open_clip_kind import tag_needs_quick_gelu

    assert tag_needs_quick_gelu("ViT-B-32", "openai") is True
    assert tag_needs_quick_gelu("ViT-B-32", "laion2b_s34b_b79k") is False
    assert tag_needs_quick_gelu("ViT-B-32", None) is False


def test_trimmed_text_encoding_matches_full_context(tiny_spec):
    spec, weights = tiny_spec
    adapter = load_model(spec, pretrained=weights)
    tokens = adapter.tokenizer(CAPTIONS)
    with torch.no_grad():
        full = adapter.model.encode_text(tokens)
        trimmed = encode_text_trimmed(adapter.model, tokens)
    assert tokens.shape[1] == 77
    torch.testing.assert_close(trimmed, full, rtol=1e-5, atol=1e-5)
    with torch.no_grad():  # tokens that arrive already shorter than the context work too
        short = encode_text_trimmed(adapter.model, tokens[:, :20].contiguous())
    torch.testing.assert_close(short, full, rtol=1e-5, atol=1e-5)


def test_pickled_code_in_checkpoint_is_refused(tiny_spec, tmp_path):
    spec, _ = tiny_spec
    marker = tmp_path / "pwned.txt"
    evil = tmp_path / "evil.pt"
    torch.save({"model": {"w": torch.zeros(1)}, "payload": _CreatesFileWhenUnpickled(str(marker))}, evil)
    torch.load(evil, weights_only=False)  # proof that the payload is live: plain unpickling runs it
    assert marker.exists()
    marker.unlink()
    for kind_spec, pretrained in ((f"conclip:{evil}", None), (spec, str(evil))):
        with pytest.raises(CheckpointError, match="refused to load.*pickled"):
            load_model(kind_spec, pretrained=pretrained)
    assert not marker.exists(), "the checkpoint's pickled code ran"


def test_state_dict_mismatch_names_keys(tiny_spec, tmp_path):
    spec, weights = tiny_spec
    from safetensors.torch import load_file

    state = load_file(weights)
    state.pop("ln_final.weight")
    state["extra.weight"] = torch.zeros(2)
    bad = tmp_path / "bad.safetensors"
    save_file(state, str(bad))
    with pytest.raises(CheckpointError) as err:
        load_model(spec, pretrained=str(bad))
    assert "missing keys (1): ln_final.weight" in str(err.value)
    assert "unexpected keys (1): extra.weight" in str(err.value)


def test_conclip_release_layout_loads_with_quick_gelu(tmp_path):
    model, _, tokenizer, _ = build_tiny_open_clip(tmp_path, seed=3)
    state = {k: (v.half() if k.endswith("weight") and v.ndim == 2 else v) for k, v in model.state_dict().items()}
    path = tmp_path / "conclip_tiny.pt"
    torch.save({"model": state, "optimizer": {"lr": torch.tensor(1e-6)}, "epoch": 4}, path)
    adapter = load_model(f"conclip:{path}")
    assert adapter.describe()["config"]["quick_gelu"] is True
    reference = model.float()
    reference.load_state_dict({k: v.float() for k, v in state.items()})
    with torch.no_grad():
        expected = reference.encode_text(tokenizer(CAPTIONS))
    torch.testing.assert_close(adapter.encode_texts(CAPTIONS), expected, rtol=1e-5, atol=1e-5)
    torch.save({"model": {"visual.conv1.weight": torch.zeros(1)}}, tmp_path / "partial.pt")
    with pytest.raises(CheckpointError, match="missing keys"):
        load_model(f"conclip:{tmp_path / 'partial.pt'}")


def test_exported_folder_loads_as_open_clip(tmp_path):
    model, _, tokenizer, _ = build_tiny_open_clip(tmp_path / "build", seed=5)
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CONFIG, "preprocess_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    adapter = load_model(f"open_clip:{folder}")
    with torch.no_grad():
        expected = model.encode_text(tokenizer(CAPTIONS))
    torch.testing.assert_close(adapter.encode_texts(CAPTIONS), expected, rtol=1e-5, atol=1e-5)
    assert tuple(adapter.preprocess.transforms[-1].mean) == (0.5, 0.5, 0.5)


@pytest.mark.parametrize("family", ["clip", "siglip"])
def test_hf_models_from_saved_folders(tmp_path, family):
    from PIL import Image

    from tests.helpers.tiny_hf import save_tiny_hf_clip, save_tiny_hf_siglip

    folder = (save_tiny_hf_clip if family == "clip" else save_tiny_hf_siglip)(tmp_path / family)
    adapter = load_model(f"hf:{folder}")
    texts = adapter.encode_texts(CAPTIONS)
    pixels = torch.stack([adapter.image_transform()(Image.new("RGB", (50, 40), c)) for c in ("red", "blue")])
    images = adapter.encode_images(pixels)
    assert texts.shape[0] == 4 and images.shape == (2, texts.shape[1])
    assert adapter.pad_to_max is (family == "siglip")
    # a caption's features do not depend on the rest of its batch (padding is handled right)
    torch.testing.assert_close(adapter.encode_texts(CAPTIONS[:1])[0], texts[0], rtol=1e-4, atol=1e-5)


def test_hf_model_through_evaluate_with_workers(tmp_path):
    import ccneg_bench
    from tests.helpers.data import write_ccneg_folder
    from tests.helpers.tiny_hf import save_tiny_hf_clip

    folder = save_tiny_hf_clip(tmp_path / "clip")
    data = write_ccneg_folder(tmp_path / "ds", n=12)
    result = ccneg_bench.evaluate(f"hf:{folder}", str(data), ["ccneg"], workers=2, batch_size=5, progress=False)[0]
    assert result["status"] == "ok" and result["metrics"]["n_scored"] == 12
    assert result["model_info"]["description"]["model_type"] == "clip"


def test_text_baseline_prefers_caption_without_negation():
    assert has_negation("A woman, not next to a table") and has_negation("a dog without a leash")
    assert has_negation("there is no cloud") and has_negation("it isn't here")
    assert not has_negation("a note on a knot") and not has_negation("notebook on a table")
    baseline = load_model("text:negation-words")
    assert isinstance(baseline, NegationWordsBaseline)
    features = torch.nn.functional.normalize(baseline.encode_texts(["a dog", "no dog"]), dim=-1)
    image = torch.nn.functional.normalize(baseline.encode_images(torch.zeros(1, 1)), dim=-1)
    scores = (image @ features.T)[0]
    assert scores[0] > scores[1]


def test_an_installed_package_adds_a_kind_by_entry_point(tmp_path, monkeypatch):
    """The entry point's value has the registry's form: a ModelKind, or a bare load function."""
    package = tmp_path / "site"
    (package / "thirdparty_models-0.1.dist-info").mkdir(parents=True)
    (package / "thirdparty_models-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-models\nVersion: 0.1\n")
    (package / "thirdparty_models-0.1.dist-info" / "entry_points.txt").write_text(
        "[ccneg_bench.models]\nmykind = thirdparty_models:load\nshort = tests.bench.plugin_model_kind:KIND\n")
    (package / "thirdparty_models.py").write_text(
        "from ccneg_bench.models.registry import load_model\n"
        "def load(body, pretrained=None, device='cpu'):\n"
        "    model = load_model('text:negation-words')\n    model.spec = 'mykind:' + body\n    return model\n")
    monkeypatch.syspath_prepend(str(package))
    assert {"mykind", "short"} <= set(known_kinds())
    assert load_model("mykind:demo").spec == "mykind:demo"
    assert load_model("short:captions").describe()["kind"] == "short"
    sys.modules.pop("thirdparty_models", None)


def test_a_model_kind_plugs_in_with_one_registry_line(tmp_path, monkeypatch, capsys):
    """One module (tests/bench/plugin_model_kind.py) and one line in MODEL_KINDS: the kind is
    listed in --help, checked before anything loads, scored, cached by its identity (a warm
    rerun never builds it) and noted before the run."""
    import ccneg_bench
    from ccneg_bench.cli import build_parser, main
    from ccneg_bench.datasets import load_eval_dataset
    from ccneg_bench.models.weights import fingerprint_of
    from tests.bench import plugin_model_kind as plugin
    from tests.helpers.data import write_ccneg_folder

    monkeypatch.setitem(MODEL_KINDS, "short", "tests.bench.plugin_model_kind:KIND")
    text = " ".join(build_parser().format_help().split())
    assert "KIND one of open_clip, hf, conclip, text, short" in text
    assert "short:captions prefers the shorter caption" in text
    data = write_ccneg_folder(tmp_path / "ds", n=12, duplicate_every=4)
    builds = len(plugin.BUILDS)
    assert main(["--model", "short:words", "--dataset", str(data), "--output", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --model short:words: unknown; the one short model is short:captions"
    assert len(plugin.BUILDS) == builds and not (tmp_path / "bad").exists()

    args = ["--model", "short:captions", "--dataset", str(data), "--task", "ccneg", "--output", str(tmp_path / "out"),
            "--cache-dir", str(tmp_path / "cache")]  # as typed: progress bars on
    assert main(args) == 0
    cold = capsys.readouterr()
    assert "short:captions: built" in cold.out and "note: short:captions never looks at the image" in cold.err
    (result_file,) = (tmp_path / "out").glob("*.json")
    result = json.loads(result_file.read_text())
    samples = load_eval_dataset(str(data)).samples
    shorter = sum(len(s.caption) <= len(s.negated_caption) for s in samples)  # a tie counts as correct
    ties = sum(len(s.caption) == len(s.negated_caption) for s in samples)
    assert result["metrics"]["accuracy"] == shorter / len(samples) < 1 and result["metrics"]["ties"] == ties >= 3
    assert result["model_info"]["fingerprint"] == fingerprint_of(plugin.identity("captions"))
    assert len(plugin.BUILDS) == builds + 1

    assert main(args) == 0
    assert "short:captions: not built: every feature came from the cache" in capsys.readouterr().out
    assert len(plugin.BUILDS) == builds + 1
    assert json.loads(result_file.read_text())["metrics"] == result["metrics"]
    assert ccneg_bench.evaluate("short:captions", str(data), ["ccneg"], progress=False)[0]["metrics"]["accuracy"] == \
        result["metrics"]["accuracy"]


def test_notes_before_a_run():
    """Random weights are a chance baseline; a tag's activation is known and applied (no warning)."""
    assert model_notes("open_clip:ViT-B-32", "none") == [
        ("note", "open_clip:ViT-B-32 gets random weights (seeded; --pretrained none): it scores as a chance baseline")]
    assert model_notes("open_clip:ViT-B-32", "openai") == []
    assert model_notes("text:negation-words", None) == []
