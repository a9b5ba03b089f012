"""The web console (工作台): the people who work the orders, in a browser."""
