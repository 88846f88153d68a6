"""The "decoding" bar: drawn while a folder is first decoded, by the API and by `mnas train`."""
from __future__ import annotations

from mnas_core.cli import main
from mnas_core.data import DataConfig, DecodeBar, load_with_bar

from .helpers import tree_files, write_tar


def test_bar_only_while_decoding(tmp_path, capsys):
    arc = write_tar(tmp_path / "fruit.tar.gz", tree_files())
    cfg = DataConfig(name=f"folder:{arc}", resolution=8, cache_dir=str(tmp_path / "c"))
    d = load_with_bar(cfg)
    err = capsys.readouterr().err
    assert "decoding" in err and "/20 " in err and d.skipped == ["banana/broken.jpg"]
    load_with_bar(cfg)  # cached: nothing to show
    assert capsys.readouterr().err == ""
    load_with_bar(DataConfig(name=f"folder:{arc}", resolution=10,
                             cache_dir=str(tmp_path / "c")), show=False)
    assert capsys.readouterr().err == ""
    with DecodeBar() as bar:
        pass
    assert bar.bar is None and capsys.readouterr().err == ""


def test_mnas_train_shows_the_bar(tmp_path, capsys):
    arc = write_tar(tmp_path / "fruit.tgz", tree_files())
    rc = main(["train", "mobilenet_v2_x0.35", "--dataset", f"folder:{arc}", "--resolution", "8",
               "--steps", "1", "--batch-size", "4", "--cache-dir", str(tmp_path / "c")])
    out = capsys.readouterr()
    assert rc == 0 and "decoding" in out.err and "1 unreadable images skipped" in out.out
