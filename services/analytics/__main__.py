"""`python -m suqiu.services.analytics` runs the analytics service until SIGTERM."""

from suqiu.services.analytics.app import create_runtime

if __name__ == "__main__":
    create_runtime().serve()
