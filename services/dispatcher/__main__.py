"""`python -m suqiu.services.dispatcher` runs the dispatcher service until SIGTERM."""

from suqiu.services.dispatcher.app import create_runtime

if __name__ == "__main__":
    create_runtime().serve()
