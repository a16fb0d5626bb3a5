"""The snnTorch backend: the spec on torch tensors, CPU or CUDA, batched, differentiable.

Execution paths (chosen per population at compile time; both give the spec's
values exactly in float64):

- **snnTorch's neuron** ``snntorch.Leaky(reset_mechanism="zero",
  reset_delay=False)`` for LIF populations that reset to ``v_reset == 0``
  without refractoriness and start at ``v_init <= v_th``: Leaky then resets in
  the spike's step and returns the post-reset potential, exactly
  :class:`spikemem.spec.LIF`.
- **the shared step** :func:`spikemem.dynamics.lif_step` (the numpy
  reference's own code, on tensors) for everything Leaky cannot express:
  ``reset="subtract"`` (Leaky subtracts one step late, or, with
  ``reset_delay=False``, misses the spike of a neuron still above threshold
  after its reset), ``v_reset != 0``, refractoriness, ``v_init > v_th``.

Both run inside :class:`spikemem.backends.snntorch_layers.LIFLayer`, the
reusable layer step for gradient training (surrogate spikes from
``snntorch.surrogate`` when autograd is on, a plain threshold otherwise; the
simulation itself runs under ``torch.no_grad``).

Synapses, delays and plasticity are plain tensor code:

- ``I[t] = I_ext[t] + sum_p W_p s_pre(p)[t - d_p]`` in the network's
  projection order, with each source's past spikes in a ring of ``max d_p``
  slots (one ring per source, shared by its projections). A single trial on
  CPU through a static projection is dispatched on how many presynaptic
  neurons spiked: none adds nothing, all of them (a clocked population's
  wipe) reuse the product computed once at compile time, fewer than 10 %
  sum only their rows of ``W.T``; otherwise, and for batches, plastic
  projections and CUDA, a dense product. Static projections built from the
  same spec array share one stored matrix;
- plasticity calls :func:`spikemem.learning.rule_step` (the reference's code)
  after the neurons of each step: every rule of the spec runs;
- ``run_batch`` adds a batch axis to every state tensor and runs all trials
  at once (static weights).

Inputs of a run are moved to the device once, monitors are written into
preallocated device tensors and copied back once at the end of the run.
``Simulation.paths`` tells which neuron path each population uses.

Speed (1,000 LIF neurons, 10 % recurrent connectivity, 1,000 steps, one
torch thread on a shared 2-core CPU, best of several runs): about 0.10-0.13
ms per step with ``leaky=False`` (numpy reference: 0.09-0.15 ms), about
0.27-0.30 ms with ``snntorch.Leaky``, whose Python-heavy forward pass costs
~0.15 ms more per population and step than the shared step at this size.
The results are identical; ``leaky=False`` is the faster choice for pure
simulation (the spiking Hopfield recall of ``benchmarks/recall_throughput.py``
at N = 500: about 0.7 ms per recall with ``leaky=False``, 2.4 ms with Leaky,
whose module call costs about 65 us per population and step).

Options (``get_backend("snntorch", device="cuda", dtype="float32")``; in an experiment
config, ``[backend_options.snntorch]``; checked by :class:`SnnTorchOptions`):

``device``
    ``"auto"`` (default: CUDA when ``torch.cuda.is_available()``, else CPU),
    ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
``dtype``
    ``"float64"`` (default; agrees with the reference to rounding) or
    ``"float32"`` (faster; spikes may differ where ``v`` lands within float32
    rounding of ``v_th``).
``surrogate``
    Surrogate gradient of :class:`~spikemem.backends.snntorch_layers.LIFLayer`:
    a name in ``SURROGATES`` (default ``"fast_sigmoid"``) or a callable from
    ``snntorch.surrogate``.
``leaky``
    ``True`` (default) uses ``snntorch.Leaky`` where it is exact; ``False``
    runs every population through the shared step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from spikemem.backend import (
    Availability,
    Backend,
    Capabilities,
    Simulation,
    UnsupportedFeatureError,
    import_availability,
    reject_unknown_options,
)
from spikemem.config import parse_section
from spikemem.learning import REFERENCE_RULES
from spikemem.spec import Network

DType = Literal["float64", "float32"]
DTYPES: tuple[str, ...] = get_args(DType)


@dataclass(frozen=True)
class SnnTorchOptions:
    """Validated options of the snnTorch backend (module docstring); a config's ``[backend_options.snntorch]``."""

    device: str = "auto"
    dtype: DType = "float64"
    surrogate: str | Callable[..., Any] = "fast_sigmoid"
    leaky: bool = True

    @staticmethod
    def normalise(options: dict[str, Any]) -> dict[str, Any]:
        """``options`` with a ``dtype`` given as ``torch.float32`` (or its name) named plainly, ``"float32"``."""
        name = str(options.get("dtype", ""))
        if not name.startswith("torch."):
            return options
        return {**options, "dtype": name.removeprefix("torch.")}

    @classmethod
    def parse(cls, options: dict[str, Any]) -> SnnTorchOptions:
        """Check ``options``; raise :class:`UnsupportedFeatureError` naming the bad one."""
        reject_unknown_options(set(cls.__dataclass_fields__), options, "snntorch")
        return parse_section(cls, cls.normalise(options), "options", UnsupportedFeatureError)


def resolve_device(option: str, cuda_available: bool) -> str:
    """The torch device for the ``device`` option.

    ``"auto"`` picks ``"cuda"`` when CUDA is available, else ``"cpu"``; an
    explicit CUDA device without CUDA is refused.
    """
    if option == "auto":
        return "cuda" if cuda_available else "cpu"
    if option == "cpu":
        return option
    if isinstance(option, str) and (option == "cuda" or (option.startswith("cuda:") and option[5:].isdigit())):
        if not cuda_available:
            raise UnsupportedFeatureError(
                "options.device", f"{option!r} requested but CUDA is not available here; use device='cpu' or 'auto'"
            )
        return option
    raise UnsupportedFeatureError("options.device", f"must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {option!r}")


class SnnTorchBackend(Backend):
    """snnTorch / torch tensors on CPU or CUDA; see the module docstring for the execution paths.

    Options: ``device``, ``dtype``, ``surrogate``, ``leaky`` (module docstring).
    """

    name = "snntorch"
    capabilities = Capabilities.from_tables(
        REFERENCE_RULES,
        numeric=("float",),
        gradient_training=True,
        devices=("cpu", "cuda"),
        native_batch=True,
        notes="snntorch.Leaky for reset-to-zero neurons, the shared lif_step otherwise; float64 by default",
    )

    def available(self) -> Availability:
        return import_availability(("torch", "snntorch"), "snntorch")

    def _compile(self, network: Network, numeric: str, options: dict[str, Any]) -> Simulation:
        import torch

        from spikemem.backends._snntorch_simulation import SnnTorchSimulation
        from spikemem.backends.snntorch_layers import make_surrogate

        settings = SnnTorchOptions.parse(options)
        try:
            make_surrogate(settings.surrogate)
        except ValueError as exc:
            raise UnsupportedFeatureError("options.surrogate", str(exc)) from None
        device = resolve_device(settings.device, torch.cuda.is_available())
        return SnnTorchSimulation(
            network,
            numeric,
            device=device,
            dtype=getattr(torch, settings.dtype),
            surrogate=settings.surrogate,
            leaky=settings.leaky,
        )


__all__ = ["DTYPES", "SnnTorchBackend", "SnnTorchOptions", "resolve_device"]
