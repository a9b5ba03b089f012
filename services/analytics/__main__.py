"""`python -m services.analytics` runs the analytics service until SIGTERM."""

from services.analytics.app import create_runtime

if __name__ == "__main__":
    create_runtime().serve()
