"""Lava Processes and ProcessModels of the Lava backend (imported only inside the worker), in Lava's own layout.

One folder per kind, each with a ``process.py`` (what a Process is: ports and
variables) and a ``models.py`` (how it runs: one ProcessModel per numeric
tag, ``floating_pt`` and ``fixed_pt``):

- :mod:`.sources`: ``SpikeSource``, ``ModulatorSource`` (inputs from shared buffers);
- :mod:`.neuron`: ``SpecLIF``, the spec's neuron;
- :mod:`.connections`: our models of Lava's ``Dense``, ``DelayDense`` and
  ``LearningDense``, and ``ProjectedLearningDense``;
- :mod:`.circuits`: ``ProjectedTrace``, ``SubspaceResidual`` (a rule's signals
  for the learning engine, computed in the step they are formed);
- :mod:`.batched`: ``BatchDense``, ``InputDense`` (static synapses on a
  ``(B, n)`` block of samples, the input ones fused with their spike source;
  the batched network of ``run_batch``, :mod:`..._batched`);

- :mod:`.fused`: ``FusedNetwork``, a whole process graph as one Process (the
  option ``fuse``), whose model steps the graph's own models
  (:mod:`.fusion`: their specs, in-memory ports and scheduling);

plus :mod:`.buffers` (the shared buffers, their names and the mixin every
model shares) and :mod:`.decorate` (the decorators every model carries).

How Lava 0.10 finds the models (``ProcGroupDiGraphs._find_proc_models``):
for every Process instance it looks in the Process's own module, then
executes every module in the same folder as a *top-level* module (by file
location, no package) and collects the classes whose ``@implements`` names
the Process; it then re-imports them under the package's name. So the
modules of a kind folder use absolute imports only (a relative import fails
there, and Lava would skip the module with a warning), and a folder holds
nothing but the Processes and models of its kind. Lava then selects by the
run configuration's tag; only for Lava's own Processes, whose folder is
Lava's, the worker names our models
(:data:`.connections.models.LAVA_PROCESS_MODELS`).
"""
