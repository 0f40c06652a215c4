"""Randomness: named streams from one ``SeedSequence``, drawn in blocks.

One root seed -> ``SeedSequence(root, spawn_key=(replication, stream, resource))`` -> one
``numpy.random.Generator`` per (stream, resource). Streams are keyed by name and by the
resource they drive (a link's transit times, a node's service times...), so changing one part
of a scenario does not shift the numbers another part draws: strategies share streams for the
same replication (common random numbers). There is no global RNG.

Samplers draw ``BLOCK`` numbers at a time and check that every sampled duration is finite
and >= 0. A resource that draws once or very few times (one requirement's bilateral lead
time) gets a lazy ``once`` sampler instead: no generator and no block until it is used, one
number per draw, the same first number.

Example:
    >>> from scenarios.schema import Fixed
    >>> s = Streams(seed=1, replication=0)
    >>> s.sampler("transit", 0, Fixed(value=2.0))()
    2.0
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

from scenarios.errors import RunError
from scenarios.schema import Empirical, Exponential, Fixed, Lognormal, Triangular, Uniform

__all__ = ["BLOCK", "STREAMS", "Sampler", "Streams"]

BLOCK = 4096
"""Numbers drawn per refill of a sampler."""

STREAMS: tuple[str, ...] = (
    "demand",
    "tender",
    "production",
    "transit",
    "handling",
    "disruption",
    "loss",
    "return",
    "consumption",
)
"""Stream names; the position is part of the spawn key, so only ever append."""

Sampler = Callable[[], float]


def _blocks(draw: Callable[[int], np.ndarray], label: str, size: int = BLOCK) -> Sampler:
    """A sampler handing out numbers from blocks of ``size`` drawn by ``draw(n)``.

    The sampler is the ``__next__`` of an endless C-level iterator (``itertools.chain`` over
    the blocks), so a draw costs no Python frame; each block is checked (finite, >= 0) when
    drawn.
    """

    def block(n: int) -> list[float]:
        b = draw(n)
        if not np.all(np.isfinite(b)) or np.any(b < 0):
            raise RunError(f"sampler {label} produced a non-finite or negative duration")
        return b.tolist()

    return itertools.chain.from_iterable(map(block, itertools.repeat(size))).__next__


class Streams:
    """Generators for one replication, keyed by (stream name, resource index)."""

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication
        self._gens: dict[tuple[str, int], np.random.Generator] = {}

    def generator(self, stream: str, resource: int = 0) -> np.random.Generator:
        """The generator of ``stream`` for ``resource`` (created on first use)."""
        key = (stream, resource)
        gen = self._gens.get(key)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(self._seed_sequence(stream, resource)))
            self._gens[key] = gen
        return gen

    def sampler(self, stream: str, resource: int, dist: object) -> Sampler:
        """A block sampler of ``dist`` on the (stream, resource) generator."""
        return self._sampler(stream, resource, dist, BLOCK, None)

    def once(self, stream: str, resource: int, dist: object) -> Sampler:
        """A lazy sampler for a resource that draws one number or very few (one requirement's lead time).

        Nothing is made until the first call; then a generator of its own (not kept by the
        streams) hands out numbers one at a time, so a run with 10^5 such resources holds no
        block of numbers per resource. The first number is the first number ``sampler`` gives
        for the same (stream, resource): results do not depend on which of the two is used
        for a resource that draws once.
        """
        made: list[Sampler] = []

        def first() -> float:
            if not made:
                gen = np.random.Generator(np.random.PCG64(self._seed_sequence(stream, resource)))
                made.append(self._sampler(stream, resource, dist, 1, gen))
            return made[0]()

        return first

    def _seed_sequence(self, stream: str, resource: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed, spawn_key=(self.replication, STREAMS.index(stream), resource))

    def _sampler(
        self, stream: str, resource: int, dist: object, block: int, own: np.random.Generator | None
    ) -> Sampler:
        """A sampler of ``dist`` drawing ``block`` numbers at a time from ``own`` (the streams' generator if None)."""
        label = f"{stream}[{resource}]"
        if isinstance(dist, Fixed):
            value = float(dist.value)
            if not math.isfinite(value) or value < 0:
                raise RunError(f"sampler {label}: fixed value {value} is not a finite duration >= 0")
            return lambda: value
        gen = own if own is not None else self.generator(stream, resource)
        draw: Callable[[int], np.ndarray]
        if isinstance(dist, Exponential):
            mean = dist.mean
            draw = lambda n: gen.exponential(mean, n)  # noqa: E731
        elif isinstance(dist, Uniform):
            lo, hi = dist.low, dist.high
            draw = lambda n: gen.uniform(lo, hi, n)  # noqa: E731
        elif isinstance(dist, Triangular):
            lo, mode, hi = dist.low, dist.mode, dist.high
            if lo == hi:
                return lambda: lo
            draw = lambda n: gen.triangular(lo, mode, hi, n)  # noqa: E731
        elif isinstance(dist, Lognormal):
            sigma2 = math.log1p(dist.cv**2)
            mu = math.log(dist.mean) - sigma2 / 2
            sigma = math.sqrt(sigma2)
            draw = lambda n: gen.lognormal(mu, sigma, n)  # noqa: E731
        elif isinstance(dist, Empirical):
            values = np.asarray(dist.values, dtype=np.float64)
            p = None if dist.weights is None else np.asarray(dist.weights, dtype=np.float64) / math.fsum(dist.weights)
            draw = lambda n: gen.choice(values, size=n, p=p)  # noqa: E731
        else:
            raise RunError(f"unknown distribution {dist!r}")
        return _blocks(draw, label, block)

    def uniforms(self, stream: str, resource: int) -> Sampler:
        """Uniform(0, 1) numbers in blocks (for losses and Bernoulli choices)."""
        gen = self.generator(stream, resource)
        return _blocks(lambda n: gen.random(n), f"{stream}[{resource}]")
