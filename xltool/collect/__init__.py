"""An inbox into the versioned archive: inbox walk, workers, archive, index, reconcile, status."""
