"""Synapses: Lava's ``Dense``, ``DelayDense`` and ``LearningDense`` models extended for a reusable simulation,
and ``ProjectedLearningDense``, a ``LearningDense`` on a graded presynaptic trace."""
