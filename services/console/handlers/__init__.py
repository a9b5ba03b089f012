"""HTTP handlers of the console: thin, they parse the form and render a template."""
