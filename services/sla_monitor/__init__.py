"""SLA monitor: per-step timers for warnings and breaches, fired exactly once across replicas."""
