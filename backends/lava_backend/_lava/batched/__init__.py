"""Static synapses with a sample axis: one time step advances many independent samples (``run_batch``)."""
