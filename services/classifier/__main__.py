"""`python -m suqiu.services.classifier` runs the classifier service until SIGTERM."""

from suqiu.services.classifier.app import create_runtime

if __name__ == "__main__":
    create_runtime().serve()
