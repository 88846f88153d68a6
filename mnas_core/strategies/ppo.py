"""The paper's controller (section 4.2): an LSTM emits one categorical decision per token of
the space's encoding and is trained with Proximal Policy Optimization to maximise the
expected reward J = E_{P(a_1:T; theta)}[R(m)] (eq. 5).

PPO (Schulman et al. 2017): each told batch is reused for several epochs under the clipped
objective  L = E[min(rho * A, clip(rho, 1 - eps, 1 + eps) * A)],  rho = pi_theta / pi_old,
with advantage A = R(m) - b, b an exponential moving average of past rewards, and an entropy
bonus that keeps the policy from collapsing early.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..space import SearchSpace
from .base import Strategy, Tokens


@dataclass(frozen=True)
class PPOConfig:
    hidden: int = 100            # LSTM units (the paper's controller size)
    lr: float = 5e-3             # Adam; higher than the paper's because we sample 10^2, not 10^4
    clip: float = 0.2            # PPO clipping epsilon
    epochs: int = 4              # optimisation passes over each told batch
    entropy_weight: float = 1e-2
    baseline_decay: float = 0.9  # EMA of rewards: b <- d * b + (1 - d) * mean(R)
    normalize_advantage: bool = True  # divide A by its batch std: rewards differ by ~1e-2

    def __post_init__(self):
        if not (self.hidden > 0 and self.lr > 0 and 0 < self.clip < 1 and self.epochs >= 1
                and self.entropy_weight >= 0 and 0 <= self.baseline_decay < 1):
            raise ValueError(f"invalid PPO config: {self}")


class Controller(nn.Module):
    """LSTM policy over a fixed sequence of categorical decisions. The input at step i is the
    embedding of the token chosen at step i-1 (a learned start token at step 0); step i has
    its own softmax head over its own vocabulary (heads stored padded to the largest vocab,
    padding masked to -inf, so scoring a batch is one LSTM call and one einsum)."""

    def __init__(self, vocab_sizes: list[int], hidden: int):
        super().__init__()
        T, vmax = len(vocab_sizes), max(vocab_sizes)
        offsets = np.concatenate(([1], 1 + np.cumsum(vocab_sizes)[:-1]))
        self.register_buffer("offsets", torch.as_tensor(offsets, dtype=torch.long))
        mask = torch.arange(vmax)[None, :] < torch.as_tensor(vocab_sizes)[:, None]
        self.register_buffer("mask", mask)                             # (T, vmax)
        self.embed = nn.Embedding(1 + sum(vocab_sizes), hidden)      # id 0: start token
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.head_w = nn.Parameter(torch.randn(T, hidden, vmax) * hidden ** -0.5)
        self.head_b = nn.Parameter(torch.zeros(T, vmax))

    def _log_probs(self, h: torch.Tensor, steps: slice) -> torch.Tensor:
        """h (n, t, hidden) at decision steps `steps` -> masked log-probs (n, t, vmax)."""
        logits = torch.einsum("nth,thv->ntv", h, self.head_w[steps]) + self.head_b[steps]
        return torch.log_softmax(logits.masked_fill(~self.mask[steps], -torch.inf), dim=-1)

    @staticmethod
    def _entropy(log_probs: torch.Tensor) -> torch.Tensor:
        p = log_probs.exp()
        return -(p * log_probs.masked_fill(p == 0, 0.0)).sum(-1)      # 0 * -inf -> 0

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n token sequences (n, T), one decision at a time."""
        lstm = self.lstm  # one step at a time through the same weights as `score` uses
        weights = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
        h = c = torch.zeros(n, lstm.hidden_size)
        prev, out = torch.zeros(n, dtype=torch.long), []
        for i in range(len(self.offsets)):
            h, c = torch.lstm_cell(self.embed(prev), (h, c), *weights)
            logits = h @ self.head_w[i] + self.head_b[i]
            logits = logits.masked_fill(~self.mask[i], -torch.inf)
            tok = torch.multinomial(torch.softmax(logits, 1), 1, generator=generator)[:, 0]
            out.append(tok)
            prev = tok + self.offsets[i]
        return torch.stack(out, 1)

    def score(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed log-probability (n,) and mean per-decision entropy (n,) of given tokens."""
        n = tokens.shape[0]
        prev = torch.cat([torch.zeros(n, 1, dtype=torch.long),
                          tokens[:, :-1] + self.offsets[:-1]], 1)      # teacher forcing
        h, _ = self.lstm(self.embed(prev))                              # (n, T, hidden)
        log_probs = self._log_probs(h, slice(None))                     # (n, T, vmax)
        logp = log_probs.gather(2, tokens[:, :, None]).squeeze(2).sum(1)
        return logp, self._entropy(log_probs).mean(1)


class PPOSearch(Strategy):
    name = "ppo"

    def __init__(self, space: SearchSpace, cfg: PPOConfig | None = None, seed: int = 0):
        self.cfg = cfg or PPOConfig()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.policy = Controller(space.vocab_sizes(), self.cfg.hidden)
        self._optimizer: torch.optim.Adam | None = None  # made on first use (`optimizer`)
        self.generator = torch.Generator().manual_seed(seed)
        self.baseline: float | None = None

    @property
    def optimizer(self) -> torch.optim.Adam:
        """Adam over the policy, made when first needed: its first construction in a process
        imports torch._dynamo (3-6 s here), which should not delay a search's first batch."""
        if self._optimizer is None:
            self._optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.cfg.lr)
        return self._optimizer

    @torch.no_grad()
    def ask(self, n: int) -> list[Tokens]:
        return self.policy.sample(n, self.generator).tolist()

    def tell(self, tokens: list[Tokens], rewards: list[float]) -> None:
        keep = [i for i, r in enumerate(rewards) if r is not None and not math.isnan(r)]
        if not keep:
            return
        toks = torch.as_tensor([tokens[i] for i in keep], dtype=torch.long)
        r = torch.as_tensor([rewards[i] for i in keep], dtype=torch.float32)
        if self.baseline is None:
            self.baseline = float(r.mean())
        adv = r - self.baseline
        if self.cfg.normalize_advantage and len(keep) > 1:
            adv = adv / (adv.std() + 1e-8)
        d = self.cfg.baseline_decay
        self.baseline = d * self.baseline + (1 - d) * float(r.mean())
        old_logp = None
        for _ in range(self.cfg.epochs):
            logp, ent = self.policy.score(toks)
            if old_logp is None:
                # The policy has not changed since `ask`, so the first epoch's log-probs are
                # pi_old's; taking them here (not at ask time) keeps a resumed search exact
                # without extra state, and costs no extra forward pass.
                old_logp = logp.detach()
            ratio = torch.exp(logp - old_logp)
            clipped = torch.clamp(ratio, 1 - self.cfg.clip, 1 + self.cfg.clip)
            loss = -torch.min(ratio * adv, clipped * adv).mean()
            loss = loss - self.cfg.entropy_weight * ent.mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()

    def state_dict(self) -> dict:
        # None until the first tell: an optimiser that has taken no step holds nothing
        return {"policy": self.policy.state_dict(), "generator": self.generator.get_state(),
                "optimizer": None if self._optimizer is None else self._optimizer.state_dict(),
                "baseline": self.baseline}

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self._optimizer = None
        if state["optimizer"] is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.baseline = state["baseline"]
