"""A terminal progress bar for the first decode of a folder dataset."""
from __future__ import annotations


class DecodeBar:
    """A `progress(done, total)` callback for load_dataset that draws a tqdm bar labelled
    "decoding". The bar is made on the first call, so a load that decodes nothing (a cached
    folder, CIFAR, digits) prints nothing; `leave=False` clears it when the load is done."""

    def __init__(self, disable: bool = False, desc: str = "decoding"):
        self.disable, self.desc, self.bar = disable, desc, None

    def __call__(self, done: int, total: int) -> None:
        if self.disable:
            return
        if self.bar is None:
            from tqdm import tqdm  # imported on use
            self.bar = tqdm(total=total, desc=self.desc, unit="img", leave=False)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> "DecodeBar":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
