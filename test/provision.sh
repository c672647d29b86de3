#!/usr/bin/env bash
# Makes sure the Debian packages the integration/e2e tests start for real are installed.
# Run by `npm test` before vitest and by CI on a fresh Debian 12 machine.
#  - everything present: one dpkg-query call, well under 1 s, prints one line, exit 0
#  - something missing, root: `apt-get update` once, then installs only what is missing,
#    with services blocked from starting (policy-rc.d) so no daemon is left running
#  - something missing, not root: prints the exact command to run and exits 1
set -euo pipefail

say() { printf 'provision: %s\n' "$*"; }

# package -> a file the package ships that the tests use (checked together with dpkg status,
# so a half-installed package or a deleted binary both count as missing)
declare -A BIN=(
  [dovecot-imapd]=/usr/lib/dovecot/imap
  [dovecot-lmtpd]=/usr/lib/dovecot/lmtp
  [dovecot-sieve]=/usr/bin/sievec
  [postfix]=/usr/sbin/postfix
  [prometheus]=/usr/bin/prometheus
  [prometheus-alertmanager]=/usr/bin/prometheus-alertmanager
  [chromium]=/usr/bin/chromium
  [rbldnsd]=/usr/sbin/rbldnsd
  [dnsutils]=/usr/bin/dig
  [podman]=/usr/bin/podman
  [runc]=/usr/sbin/runc
  [debootstrap]=/usr/sbin/debootstrap
  [systemd]=/usr/bin/systemd-analyze
  [postgresql]=/usr/lib/postgresql/15/bin/postgres
)
PKGS=(dovecot-imapd dovecot-lmtpd dovecot-sieve postfix prometheus prometheus-alertmanager chromium rbldnsd dnsutils podman runc debootstrap systemd postgresql)

missing_packages() {
  local status
  # one process for all packages; unknown packages make dpkg-query exit 1 -> ignore
  status=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PKGS[@]}" 2>/dev/null || true)
  local p
  for p in "${PKGS[@]}"; do
    if ! grep -qE "^${p} ii" <<<"$status" || [[ ! -x ${BIN[$p]} ]]; then
      printf '%s\n' "$p"
    fi
  done
}

mapfile -t MISSING < <(missing_packages)
if ((${#MISSING[@]} == 0)); then
  say "all ${#PKGS[@]} packages present (${PKGS[*]})"
  exit 0
fi

say "missing: ${MISSING[*]}"
INSTALL_CMD="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${MISSING[*]}"

if ((EUID != 0)); then
  say "not root; as root run: $INSTALL_CMD"
  exit 1
fi

# Keep maintainer scripts from starting daemons (the tests start their own instances on
# high loopback ports; a system Dovecot/Postfix/Prometheus/PostgreSQL would squat
# 143/25/9090/5432). PostgreSQL's package creates a cluster but, blocked here, starts none:
# the tests run their own (initdb + pg_ctl in a temp dir).
# policy-rc.d exit 101 = "action forbidden" for invoke-rc.d; removed again afterwards
# unless it was already there.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [[ ! -e $POLICY ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"
  CREATED_POLICY=1
  say "blocked service starts during install ($POLICY)"
fi
cleanup() { if ((CREATED_POLICY)); then rm -f "$POLICY"; fi; }
trap cleanup EXIT

# Postfix: the tests bring their own config_directory; "No configuration" keeps the
# postinst from writing an Internet-site main.cf or asking questions.
if printf '%s\n' "${MISSING[@]}" | grep -qx postfix; then
  printf 'postfix postfix/main_mailer_type select No configuration\n' | debconf-set-selections
  say "preseeded debconf: postfix/main_mailer_type = No configuration"
fi

export DEBIAN_FRONTEND=noninteractive
say "apt-get update"
apt-get update -qq >/dev/null
say "apt-get install -y --no-install-recommends ${MISSING[*]}"
start=$(date +%s)
apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef \
  -o Dpkg::Options::=--force-confold "${MISSING[@]}" >/tmp/seedwatch-provision-apt.log 2>&1 || {
  say "apt-get install FAILED; last lines of /tmp/seedwatch-provision-apt.log:"
  tail -n 30 /tmp/seedwatch-provision-apt.log >&2
  exit 1
}
say "installed in $(($(date +%s) - start)) s"

# Belt and braces: nothing the install started may be left running. Test instances
# always run with a config under a temp dir, so anything else is a system daemon.
strays=$(ps -eo pid=,args= | grep -E ' (/usr/sbin/dovecot|/usr/lib/postfix/sbin/master|/usr/bin/prometheus|/usr/bin/prometheus-alertmanager|/usr/lib/postgresql/[0-9]+/bin/postgres)( |$)' \
  | grep -v -e '/tmp/' -e grep || true)
if [[ -n $strays ]]; then
  say "WARNING: system daemons running (not started by tests): $(tr '\n' ';' <<<"$strays")"
fi

mapfile -t STILL < <(missing_packages)
if ((${#STILL[@]})); then
  say "still missing after install: ${STILL[*]}"
  exit 1
fi
say "all ${#PKGS[@]} packages present"
