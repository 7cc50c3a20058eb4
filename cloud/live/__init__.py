"""Live updates for the dashboard: what agents report over MQTT, pushed to browsers as
Server-Sent Events (docs/dashboard.md, "Live updates"), and the recent temperatures kept for
the Printer page's chart.

`hub` fans items out to each organization's open streams (pure: no I/O), `items` turns the
bridge's classified messages into items, `history` keeps each printer's last 30 minutes of
temperatures (pure), `feed` fills both from the broker over a subscription of its own,
`stream` and `temperatures` are the HTTP endpoints and `lifespan` runs the feed.
"""
