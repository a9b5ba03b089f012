"""`python -m services.sla_monitor` runs the sla_monitor service until SIGTERM."""

from services.sla_monitor.app import create_runtime

if __name__ == "__main__":
    create_runtime().serve()
