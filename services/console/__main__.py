"""`python -m suqiu.services.console` runs the web console until SIGTERM."""

from suqiu.services.console.app import create_runtime

if __name__ == "__main__":
    create_runtime().serve()
