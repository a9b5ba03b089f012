"""`python -m services.classifier` runs the classifier service until SIGTERM."""

from services.classifier.app import create_runtime

if __name__ == "__main__":
    create_runtime().serve()
