"""examples/char_lm.py: the data (fixed files, disjoint splits), the model (causal, ≤ 5 M parameters), and the
``--quick`` command end to end (every method trains, beats a uniform guess, is certified; the JSON has the documented
shape); paper_figs/fig9_char_lm.py draws and captions those results."""
from __future__ import annotations

import importlib.util
import json
import math
import pathlib
import sys

import pytest

torch = pytest.importorskip("torch")

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def char_lm():
    return load(ROOT / "examples" / "char_lm.py", "char_lm_example")


def test_splits_are_fixed_disjoint_files_and_encoding_is_the_alphabet(char_lm):
    files = [f for split in char_lm.SPLITS.values() for f in split]
    assert len(files) == len(set(files))
    data, info = char_lm.load_corpus()
    again = char_lm.load_corpus()[1]
    assert info == again  # same files, same bytes
    for split in ("train", "tune", "val"):
        assert len(data[split]) == info[split]["chars"] > 10_000
        assert 0 <= int(data[split].min()) and int(data[split].max()) < char_lm.VOCAB
    ids = char_lm.encode("def f():\n\treturn 'é'")
    assert "".join(char_lm.ALPHABET[i] for i in ids[:-2]) == "def f():\n\treturn '"
    assert int(ids[-2]) == char_lm.UNKNOWN and char_lm.ALPHABET[int(ids[-1])] == "'"
    with pytest.raises(FileNotFoundError, match="no_such_module.py"):
        char_lm.stdlib_text(["no_such_module.py"])


def test_model_is_causal_and_small(char_lm):
    cfg = char_lm.FULL
    torch.manual_seed(0)
    model = char_lm.CharTransformer(cfg.context, cfg.d_model, cfg.heads, cfg.layers)
    assert sum(p.numel() for p in model.parameters()) <= 5_000_000
    ids = torch.randint(0, char_lm.VOCAB, (2, cfg.context))
    changed = ids.clone()
    changed[:, 40:] = (changed[:, 40:] + 1) % char_lm.VOCAB
    with torch.no_grad():
        a, b = model(ids), model(changed)
    assert torch.allclose(a[:, :40], b[:, :40], atol=1e-6)  # positions before 40 do not see the change
    assert not torch.allclose(a[:, 40:], b[:, 40:])
    with pytest.raises(ValueError, match="heads"):
        char_lm.CharTransformer(d_model=10, heads=4)


def test_quick_command_writes_the_documented_json(char_lm, tmp_path):
    out = tmp_path / "quick.json"
    threads = torch.get_num_threads()
    try:
        char_lm.main(["--quick", "--threads", "1", "--json", str(out)])
    finally:
        torch.set_num_threads(threads)
    results = json.loads(out.read_text())
    assert set(results["methods"]) == set(char_lm.available())
    assert {"o2nc-free", "o2nc-ogd", "o2nc-dftrl", "adamw", "sgd-momentum"} <= set(results["methods"])
    uniform = math.log(char_lm.VOCAB)  # the loss of a uniform guess
    for name, row in results["methods"].items():
        (loss,) = row["val_loss"]
        assert loss < uniform - 1.0, (name, loss)  # 100 steps reach about 2.4-2.9 nats/char against 4.59
        assert row["tuned"]["lr"] == char_lm.METHODS[name].default_lr  # --quick: default lrs, no grid
        (cert,) = row["certificates"]
        assert cert["kind"] == "sampled one-sided" and 0 < cert["delta"] <= cert["ball"] == 1e-2
        assert 0 < cert["epsilon"] < 10 and cert["calls"] == char_lm.QUICK.cert_samples + 1
        curve = row["curves"][0]
        assert curve["step"] == list(range(0, char_lm.QUICK.steps + 1, char_lm.QUICK.eval_every))
        assert curve["val_loss"][-1] < curve["val_loss"][0]

    figure = fig9()
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "full_quick.json").write_text(out.read_text())
    merged = figure.full_results(tmp_path / "runs")
    stats = figure.summary(merged)
    text = figure.caption(merged, stats)
    assert f"o2nc-free {stats['o2nc-free']['mean']:.4f} ± 0.0000 (lr 1)" in text
    assert "δ = 0.01: ε from" in text and "untuned" not in text  # --quick tunes nothing: no gap is claimed
    paths = figure.docs_images(merged, tmp_path / "docs")
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def fig9():
    sys.path.insert(0, str(ROOT / "paper_figs"))
    try:
        return load(ROOT / "paper_figs" / "fig9_char_lm.py", "fig9_char_lm")
    finally:
        sys.path.remove(str(ROOT / "paper_figs"))


def test_caption_quotes_the_gap_to_the_best_tuned_method():
    config = {"d_model": 8, "layers": 1, "heads": 2, "context": 4, "steps": 10, "batch": 2, "seeds": [0, 1, 2],
              "cert_windows": 1, "cert_samples": 1}
    data = {"python": "3.x", "train": {"files": ["a.py"]}}

    def row(losses, grid):
        return {"val_loss": losses, "tuned": {"lr": 1.0, "grid": dict.fromkeys(grid, 0.0)}, "certificates": []}

    results = {"config": config, "data": data, "methods": {
        "o2nc-free": row([2.5, 2.6, 2.7], ["1"]), "adamw": row([2.3, 2.4, 2.5], ["1", "2"]),
        "sgd-momentum": row([2.2, 2.3, 2.4], ["1"])}}  # an untuned method is not "the best tuned"
    text = fig9().caption(results, fig9().summary(results))
    assert "trails the best tuned method, adamw, by 0.2000 nats/char (8.3%)" in text
    assert "o2nc-free 2.6000 ± 0.1000 (lr 1)" in text and "adamw 2.4000 ± 0.1000 (lr 1, tuned)" in text


def test_results_from_different_configurations_are_not_merged():
    fig9_module = fig9()
    a = {"config": {"steps": 1}, "data": {}, "methods": {"x": {}}}
    b = {"config": {"steps": 2}, "data": {}, "methods": {"y": {}}}
    assert set(fig9_module.merge([a, dict(a, methods={"y": {}})])["methods"]) == {"x", "y"}
    fresh, stored = (
        {"config": {"grid": (1.0,)}, "data": {}, "methods": {}},
        {"config": {"grid": [1.0]}, "data": {}, "methods": {}},
    )
    assert fig9_module.merge([fresh, stored])["config"] == {"grid": [1.0]}  # a fresh run beside a stored one
    with pytest.raises(ValueError, match="different configurations"):
        fig9_module.merge([a, b])
    with pytest.raises(FileNotFoundError, match="char_lm"):
        fig9_module.merge([])
