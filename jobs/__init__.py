"""Background jobs on arq: WorkerSettings, job functions and the enqueue side (issue 3)."""
