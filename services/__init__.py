"""The five suqiu services; each is its own process (`suqiu run <service>`)."""
