"""`python -m suqiu.services.sla_monitor` runs the sla_monitor service until SIGTERM."""

from suqiu.services.sla_monitor.app import create_runtime

if __name__ == "__main__":
    create_runtime().serve()
