"""`python -m services.console` runs the web console until SIGTERM."""

from services.console.app import create_runtime

if __name__ == "__main__":
    create_runtime().serve()
