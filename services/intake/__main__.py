"""`python -m suqiu.services.intake` runs the intake service until SIGTERM."""

from suqiu.services.intake.app import create_runtime

if __name__ == "__main__":
    create_runtime().serve()
