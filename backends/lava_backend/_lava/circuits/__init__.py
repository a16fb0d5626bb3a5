"""Learning circuits: processes that compute a rule's presynaptic signal (and third factor) in the step it is
formed, for the learning engine of a ``ProjectedLearningDense``."""
