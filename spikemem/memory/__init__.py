r"""Hebbian associative memory as spiking networks, run by any backend and checked against theory.

Builders return a :class:`~spikemem.memory.encoding.RecallNetwork`: a
:class:`spikemem.spec.Network` whose *spiking dynamics* perform the recall,
plus how to cue it and where to read the answer. The encoding of
:math:`\pm 1` states as "spike at the read step or not", made memoryless by
a clock of wipe steps, is explained in :mod:`spikemem.memory.encoding`.

- :mod:`~spikemem.memory.patterns`: random (and diluted) patterns, noisy
  cues and examples, Hebbian coupling matrices in integer units.
- :mod:`~spikemem.memory.hopfield`: classical Hopfield memory, synchronous
  or asynchronous.
- :mod:`~spikemem.memory.dense`: dense associative memory, the exact
  Krotov-Hopfield update for :math:`F(x) = x^n` with a memory layer of
  threshold units, and the softmax limit as a winner-take-all race with
  lateral inhibition.
- :mod:`~spikemem.memory.modern`: the modern Hopfield memory at finite
  :math:`\beta`, :math:`\xi \leftarrow X\,\mathrm{softmax}(\beta X^\top\xi)`,
  sampled by a spiking Gumbel-max race with lateral inhibition and
  averaged over time.
- :mod:`~spikemem.memory.stdp`: online storage by pair STDP inside the
  simulator.
- :mod:`~spikemem.memory.recall`: running cues on a backend (batched or
  time-multiplexed) and decoding the recorded spikes.
- :mod:`~spikemem.memory.theory`: the numbers a correct simulation must give.
- the experiment kinds behind ``experiments/*.toml`` live in :mod:`spikemem.experiments.memory_kinds`.

Multitasking (diluted patterns) and learning from noisy examples use the
Hopfield network with the couplings of :mod:`~spikemem.memory.patterns`.
"""

from spikemem.memory.dense import build_polynomial_memory, build_winner_take_all
from spikemem.memory.encoding import RecallNetwork
from spikemem.memory.hopfield import Dynamics, build_hopfield
from spikemem.memory.modern import ModernHopfieldNetwork, ModernRecall, build_modern_hopfield, sample_on
from spikemem.memory.recall import RecallResult, recall_on, run_recall
from spikemem.memory.stdp import STDPProtocol, build_stdp_learning

__all__ = [
    "Dynamics",
    "ModernHopfieldNetwork",
    "ModernRecall",
    "RecallNetwork",
    "RecallResult",
    "STDPProtocol",
    "build_hopfield",
    "build_modern_hopfield",
    "build_polynomial_memory",
    "build_stdp_learning",
    "build_winner_take_all",
    "recall_on",
    "run_recall",
    "sample_on",
]
