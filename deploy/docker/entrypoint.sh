#!/bin/sh
# The image's entrypoint.
#   arguments given           seedwatch ARGS (e.g. `check --config /etc/seedwatch/seedwatch.yaml`)
#   a config is mounted       seedwatch start --config /etc/seedwatch/seedwatch.yaml (the daemon)
#   nothing mounted           the demo, on 0.0.0.0:9464 with its ledger in /data
# exec: Node is PID 1 and receives SIGTERM (the agent handles it; no init process needed).
set -eu
CONFIG=${SEEDWATCH_CONFIG:-/etc/seedwatch/seedwatch.yaml}
if [ "$#" -gt 0 ]; then
  exec node /app/bin/seedwatch.js "$@"
fi
if [ -f "$CONFIG" ]; then
  exec node /app/bin/seedwatch.js start --config "$CONFIG"
fi
echo "seedwatch: no $CONFIG; starting the demo (mount a config there to run the agent)" >&2
exec node /app/bin/seedwatch.js demo --listen 0.0.0.0:9464 --data-dir /data
