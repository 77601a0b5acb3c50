"""`renderer preview` and the page it shares with the playground of `renderer serve`.

`page` (the HTML template and its static script and style sheet), `session` (what one spec and
its data rows render to, as JSON frames), `watch` (file changes, through watchfiles), `app` (the
loopback server) and `command` (the subcommand). Importing this package imports nothing else:
the CLI loads `command` on every start.
"""
