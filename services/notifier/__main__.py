"""`python -m suqiu.services.notifier` runs the notifier service until SIGTERM."""

from suqiu.services.notifier.app import create_runtime

if __name__ == "__main__":
    create_runtime().serve()
