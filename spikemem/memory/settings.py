"""The config tables of the associative-memory experiment kinds, parsed and checked before anything runs.

One dataclass per table (``[model]`` of each kind, ``[dynamics]``,
``[recall]`` of each kind, ``[stdp]``, ``[output]``) and one settings
dataclass per kind holding its tables, parsed by the project's config parser
(:func:`spikemem.config.parse_section`: unknown keys, missing keys, wrong
types and non-finite numbers are :class:`~spikemem.config.ConfigError` naming
``table.key``); each table's ``check`` adds the ranges. Keys shared with
``[experiment]`` (``numeric``, ``batching``) are parsed by the runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from spikemem.config import require
from spikemem.memory.hopfield import STRUCTURES, Dynamics


def _fraction(value: float, where: str) -> None:
    require(0.0 <= value <= 1.0, where, f"must be in [0, 1], got {value!r}")


def _at_least(value: int, low: int, where: str) -> None:
    require(value >= low, where, f"must be >= {low}, got {value!r}")


def _positive(value: float, where: str) -> None:
    require(value > 0, where, f"must be > 0, got {value!r}")


def _nonempty(values: tuple, where: str) -> None:
    require(len(values) > 0, where, "must list at least one value")


@dataclass(frozen=True)
class DynamicsTable:
    """``[dynamics]``: the update schedule of a Hopfield recall (:class:`~spikemem.memory.hopfield.Dynamics`).

    ``structure`` is ``"alternating"``, ``"relay"`` or ``"auto"`` (relay on
    event-driven backends, see :data:`spikemem.experiments.memory_kinds.EVENT_DRIVEN`).
    """

    mode: Literal["sync", "async"] = "sync"
    updates: int = 20
    blocks: int = 10
    structure: str = "auto"

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        _at_least(self.updates, 1, f"{table}.updates")
        _at_least(self.blocks, 1, f"{table}.blocks")
        require(
            self.structure == "auto" or self.structure in STRUCTURES,
            f"{table}.structure",
            f"must be 'auto' or one of {STRUCTURES}, got {self.structure!r}",
        )

    def dynamics(self) -> Dynamics:
        """The schedule as :class:`~spikemem.memory.hopfield.Dynamics`."""
        return Dynamics(mode=self.mode, updates=self.updates, blocks=self.blocks)


@dataclass(frozen=True)
class OutputTable:
    """``[output]``: ``plots`` (write the PNG figures)."""

    plots: bool = True


@dataclass(frozen=True)
class CueTable:
    """``[recall]`` of the kinds cueing stored patterns: ``cue_noise`` (flipped fraction), ``cues`` (0: all)."""

    cue_noise: float
    cues: int

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        _fraction(self.cue_noise, f"{table}.cue_noise")
        _at_least(self.cues, 0, f"{table}.cues")


@dataclass(frozen=True)
class HopfieldModel:
    """``[model]`` of a classical Hopfield memory: ``neurons`` N, ``load`` alpha = P/N, ``self_coupling``."""

    neurons: int
    load: float
    self_coupling: float = 0.5

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        _at_least(self.neurons, 1, f"{table}.neurons")
        _positive(self.load, f"{table}.load")


@dataclass(frozen=True)
class BasinRecall(CueTable):
    """``[recall]`` of ``hopfield_recall``: the cues, and the basin sweep ``basin_noise`` with ``basin_cues``."""

    basin_noise: tuple[float, ...] = ()
    basin_cues: int = 0

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        super().check(table)
        for noise in self.basin_noise:
            _fraction(noise, f"{table}.basin_noise")
        _at_least(self.basin_cues, 0, f"{table}.basin_cues")


@dataclass(frozen=True)
class MemorySettings:
    """Base of the kinds' settings: they take ``[experiment] batching`` too."""

    EXPERIMENT_KEYS: ClassVar[tuple[str, ...]] = ("batching",)


@dataclass(frozen=True)
class HopfieldRecallSettings(MemorySettings):
    """Tables of ``hopfield_recall``."""

    model: HopfieldModel
    recall: BasinRecall
    dynamics: DynamicsTable = field(default_factory=DynamicsTable)
    output: OutputTable = field(default_factory=OutputTable)


@dataclass(frozen=True)
class CapacityModel:
    """``[model]`` of ``hopfield_capacity``: ``neurons`` N and ``self_coupling``."""

    neurons: int
    self_coupling: float = 0.5

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        _at_least(self.neurons, 1, f"{table}.neurons")


@dataclass(frozen=True)
class CapacityRecall(CueTable):
    """``[recall]`` of ``hopfield_capacity``: the swept ``loads`` and ``report_load`` (default: the first)."""

    loads: tuple[float, ...] = ()
    report_load: float | None = None

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        super().check(table)
        _nonempty(self.loads, f"{table}.loads")
        for load in self.loads:
            _positive(load, f"{table}.loads")
        if self.report_load is not None:
            _positive(self.report_load, f"{table}.report_load")


@dataclass(frozen=True)
class HopfieldCapacitySettings(MemorySettings):
    """Tables of ``hopfield_capacity``."""

    model: CapacityModel
    recall: CapacityRecall
    dynamics: DynamicsTable = field(default_factory=DynamicsTable)
    output: OutputTable = field(default_factory=OutputTable)


@dataclass(frozen=True)
class DenseModel:
    """``[model]`` of ``dense_memory``: N ``features``, K ``patterns``, the ``models`` compared.

    A model is ``"classical"``, ``"winner_take_all"`` or ``"polynomial_n<power>"``
    (power >= 2); ``updates`` synchronous updates of the polynomial memory;
    ``report`` names the model whose metrics are the run's top-level ones.
    """

    features: int
    patterns: int
    models: tuple[str, ...]
    updates: int = 4
    report: str = "polynomial_n3"

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        _at_least(self.features, 1, f"{table}.features")
        _at_least(self.patterns, 1, f"{table}.patterns")
        _at_least(self.updates, 1, f"{table}.updates")
        _nonempty(self.models, f"{table}.models")
        for name in self.models:
            power = name.removeprefix("polynomial_n")
            require(
                name in ("classical", "winner_take_all") or (power != name and power.isdigit() and int(power) >= 2),
                f"{table}.models",
                f"unknown model {name!r}; use classical, winner_take_all or polynomial_n<power >= 2>",
            )


@dataclass(frozen=True)
class DenseMemorySettings(MemorySettings):
    """Tables of ``dense_memory``."""

    model: DenseModel
    recall: CueTable
    output: OutputTable = field(default_factory=OutputTable)


@dataclass(frozen=True)
class MultitaskModel:
    """``[model]`` of ``multitask``: ``neurons``, diluted ``patterns`` retrieved together, the ``dilutions`` d."""

    neurons: int
    patterns: int
    dilutions: tuple[float, ...]

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        _at_least(self.neurons, 1, f"{table}.neurons")
        _at_least(self.patterns, 1, f"{table}.patterns")
        _nonempty(self.dilutions, f"{table}.dilutions")
        for d in self.dilutions:
            require(0.0 <= d < 1.0, f"{table}.dilutions", f"each must be in [0, 1), got {d!r}")


@dataclass(frozen=True)
class TheoryRecall:
    """``[recall]`` checked against a theory: ``cue_noise`` and the allowed deviation ``tolerance``."""

    cue_noise: float
    tolerance: float = 0.03

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        _fraction(self.cue_noise, f"{table}.cue_noise")
        require(self.tolerance >= 0, f"{table}.tolerance", f"must be >= 0, got {self.tolerance!r}")


@dataclass(frozen=True)
class MultitaskRecall(TheoryRecall):
    """``[recall]`` of ``multitask``: ``cues``, each a random order of the patterns."""

    cues: int = 1

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        super().check(table)
        _at_least(self.cues, 1, f"{table}.cues")


@dataclass(frozen=True)
class MultitaskSettings(MemorySettings):
    """Tables of ``multitask``."""

    model: MultitaskModel
    recall: MultitaskRecall
    dynamics: DynamicsTable = field(default_factory=DynamicsTable)
    output: OutputTable = field(default_factory=OutputTable)


@dataclass(frozen=True)
class ExamplesModel:
    """``[model]`` of ``learn_from_examples``.

    ``neurons`` N, ``archetypes`` K, example ``quality`` r in (0, 1] (each
    example bit equals the archetype's with probability (1 + r)/2), the
    dataset sizes ``examples`` M and the ``modes`` (supervised, unsupervised).
    """

    neurons: int
    archetypes: int
    quality: float
    examples: tuple[int, ...]
    modes: tuple[Literal["supervised", "unsupervised"], ...]

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        _at_least(self.neurons, 1, f"{table}.neurons")
        _at_least(self.archetypes, 1, f"{table}.archetypes")
        require(0.0 < self.quality <= 1.0, f"{table}.quality", f"must be in (0, 1], got {self.quality!r}")
        _nonempty(self.examples, f"{table}.examples")
        for count in self.examples:
            _at_least(count, 1, f"{table}.examples")
        _nonempty(self.modes, f"{table}.modes")


@dataclass(frozen=True)
class ExamplesRecall(TheoryRecall):
    """``[recall]`` of ``learn_from_examples``: ``cues_per_archetype``."""

    cues_per_archetype: int = 1

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        super().check(table)
        _at_least(self.cues_per_archetype, 1, f"{table}.cues_per_archetype")


@dataclass(frozen=True)
class ExamplesSettings(MemorySettings):
    """Tables of ``learn_from_examples``."""

    model: ExamplesModel
    recall: ExamplesRecall
    dynamics: DynamicsTable = field(default_factory=DynamicsTable)
    output: OutputTable = field(default_factory=OutputTable)


@dataclass(frozen=True)
class STDPTable:
    """``[stdp]``: the pair-STDP protocol (:class:`~spikemem.memory.stdp.STDPProtocol`), times in seconds."""

    a_minus: float
    tau_pre: float
    tau_post: float
    gap: int

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        _positive(self.a_minus, f"{table}.a_minus")
        _positive(self.tau_pre, f"{table}.tau_pre")
        _positive(self.tau_post, f"{table}.tau_post")
        _at_least(self.gap, 0, f"{table}.gap")


@dataclass(frozen=True)
class STDPStorageSettings(MemorySettings):
    """Tables of ``stdp_storage``."""

    model: HopfieldModel
    stdp: STDPTable
    recall: CueTable
    dynamics: DynamicsTable = field(default_factory=DynamicsTable)
    output: OutputTable = field(default_factory=OutputTable)


def _model_name(name: str, where: str, allowed: tuple[str, ...]) -> None:
    power = name.removeprefix("polynomial_n")
    require(
        name in allowed or (power != name and power.isdigit() and int(power) >= 2),
        where,
        f"unknown model {name!r}; use {', '.join(allowed)} or polynomial_n<power >= 2>",
    )


@dataclass(frozen=True)
class BetaSweep:
    """``[beta_sweep]`` of ``modern_hopfield``: the three regimes on clustered patterns as :math:`\\beta` sweeps.

    ``clusters`` random prototypes of ``features`` N entries, each with
    ``members`` copies flipped at a fraction ``spread``; each cue is the
    first member of a cluster (``cues`` of them, 0: one per cluster);
    ``samples`` T races per cue and :math:`\\beta`; ``race_steps`` R per race
    (one network serves every :math:`\\beta`); ``betas`` empty skips the sweep.
    """

    features: int
    clusters: int
    members: int
    spread: float
    betas: tuple[float, ...]
    samples: int
    race_steps: int = 64
    cues: int = 0

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        _at_least(self.features, 1, f"{table}.features")
        _at_least(self.clusters, 1, f"{table}.clusters")
        _at_least(self.members, 1, f"{table}.members")
        require(0.0 <= self.spread <= 0.5, f"{table}.spread", f"must be in [0, 0.5], got {self.spread!r}")
        for beta in self.betas:
            _positive(beta, f"{table}.betas")
        _at_least(self.samples, 1, f"{table}.samples")
        _at_least(self.race_steps, 3, f"{table}.race_steps")
        _at_least(self.cues, 0, f"{table}.cues")
        require(self.cues <= self.clusters, f"{table}.cues", f"must be <= clusters ({self.clusters}), got {self.cues}")


@dataclass(frozen=True)
class CapacitySweep:
    """``[capacity]`` of ``modern_hopfield``: :math:`K = \\mathrm{round}(c^N)` random patterns at each N.

    ``features`` the dimensions N (empty skips the sweep), ``base`` c > 1,
    ``cues`` stored patterns cued with ``cue_noise`` flipped bits (0: all),
    one update at inverse temperature ``beta`` with ``samples`` races of
    ``race_steps`` R; ``models`` compared: ``"modern"``, ``"classical"``
    (Hebb, synchronous), ``"polynomial_n<power>"`` (Krotov-Hopfield,
    ``updates`` synchronous updates).
    """

    features: tuple[int, ...]
    base: float
    beta: float
    cue_noise: float
    cues: int = 16
    samples: int = 1
    race_steps: int = 96
    updates: int = 4
    models: tuple[str, ...] = ("modern", "classical", "polynomial_n3")

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        for n in self.features:
            _at_least(n, 2, f"{table}.features")
        require(self.base > 1.0, f"{table}.base", f"must be > 1 (K = base^N grows with N), got {self.base!r}")
        _positive(self.beta, f"{table}.beta")
        _fraction(self.cue_noise, f"{table}.cue_noise")
        _at_least(self.cues, 0, f"{table}.cues")
        _at_least(self.samples, 1, f"{table}.samples")
        _at_least(self.race_steps, 3, f"{table}.race_steps")
        _at_least(self.updates, 1, f"{table}.updates")
        _nonempty(self.models, f"{table}.models")
        for name in self.models:
            _model_name(name, f"{table}.models", ("modern", "classical"))


@dataclass(frozen=True)
class ModernHopfieldSettings(MemorySettings):
    """Tables of ``modern_hopfield``."""

    beta_sweep: BetaSweep
    capacity: CapacitySweep
    output: OutputTable = field(default_factory=OutputTable)
