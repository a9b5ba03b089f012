"""`python -m services.intake` runs the intake service until SIGTERM."""

from services.intake.app import create_runtime

if __name__ == "__main__":
    create_runtime().serve()
